//===- LowerConv.cpp - Convolutions and their gradients on the array ------===//
//
// All three convolution products are implicit GEMMs (emitGemm) over
// channel-last activations and [KH][KW][I][O] filters:
//
//   forward        Y[pix x O]      = im2col(X)[pix x (tap, C)] * W[(tap, C) x O]
//   filter grad    dW[(tap, C) x O] = im2col(X)^T * dY[pix x O]
//   input grad     per stride phase (ph, pw), the dX pixels (i*s+ph, j*s+pw):
//                  dX_p[pix x C]   = im2col_p(dY)[pix x (tap_p, O)] * W_p^T
//                  where tap_p are the taps with kh = ph + pad (mod s), each
//                  reading dY shifted by (ph + pad - kh) / s; a phase with no
//                  taps is zero.
//
// The im2col tile is never materialised in DRAM: each filter tap is one DMA
// box of the input, shifted, strided and zero-padded by the DMA engine
// (start/extent), written into the tap's columns of the tile.
//
// A grouped convolution is computed a block of consecutive groups at a time,
// each block a dense product over its slice of channels and outputs, with
// as many groups per block as fill the array's width (convGroupsPerBlock):
// a group of 8 channels alone would use half of a 16-wide array, and a
// per-group product for each of a depthwise layer's hundreds of channels
// would multiply the instruction count. The block's filter tile is
// block-diagonal: its zeros are written once per buffer (initB) and every
// tile's DMA writes only the diagonal blocks, so the tiles of a block must
// all have one shape (whole k and n). The filter gradient computes the
// block's whole product and stores only its diagonal blocks. Depthwise
// convolutions, where only one in DIM of a block's MACs would be useful, go
// to the vector unit instead (LowerDepthwise.cpp) whenever one image fits.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;

namespace adagp::accel {

namespace {

int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// A block of output rows in the (image, row) space, as a DMA sees it.
struct RowSpan {
  int64_t n0 = 0, images = 1, i0 = 0, rows = 1;
};

RowSpan rowSpan(const Span &b, int64_t rowsPerImage) {
  RowSpan s;
  s.n0 = b.begin / rowsPerImage;
  if (b.size <= rowsPerImage && (b.begin % rowsPerImage) + b.size <=
                                    rowsPerImage) {
    s.i0 = b.begin % rowsPerImage;
    s.rows = b.size;
    s.images = 1;
  } else {
    s.i0 = 0;
    s.rows = rowsPerImage;
    s.images = b.size / rowsPerImage;
  }
  return s;
}

/// An NHWC tensor in DRAM.
struct Nhwc {
  uint64_t addr;
  int64_t h, w, c;
  isa::TensorClass cls;
};

/// One window of an im2col tile: for output pixels (n, i, j) of `span`
/// (outW columns), source pixel (i*stepH + offH, j*stepW + offW) of `src`,
/// channels [c0, c0 + cb), written at `chip` with row stride `ld` (pixel
/// rows). Out-of-range source pixels read zero.
void emitWindow(InstBuilder &ib, const Nhwc &src, const RowSpan &span,
                int64_t outH, int64_t outW, int64_t offH, int64_t offW,
                int64_t stepH, int64_t stepW, int64_t c0, int64_t cb,
                int64_t chip, int64_t ld) {
  int64_t qh = floorDiv(offH, stepH), rh = offH - qh * stepH;
  int64_t qw = floorDiv(offW, stepW), rw = offW - qw * stepW;
  int64_t extH = src.h > rh ? ceilDiv(src.h - rh, stepH) : 0;
  int64_t extW = src.w > rw ? ceilDiv(src.w - rw, stepW) : 0;
  int64_t pixels = span.images * span.rows * outW;
  if (extH == 0 || extW == 0) {
    // The tap never lands inside the input: its columns are zero.
    ib.fill(pixels, cb, View{chip, ld, 1}, 0.0f);
    return;
  }
  DmaBox box;
  box.dim[0] = {cb, 0, 0, 1, 1};
  box.dim[1] = {outW, qw, extW, stepW * src.c, ld};
  box.dim[2] = {span.rows, span.i0 + qh, extH, stepH * src.w * src.c,
                outW * ld};
  box.dim[3] = {span.images, 0, 0, src.h * src.w * src.c,
                outH * outW * ld};
  uint64_t base = src.addr + 4 * uint64_t(((span.n0 * src.h + rh) * src.w +
                                           rw) *
                                              src.c +
                                          c0);
  ib.load(base, chip, box, src.cls);
}

/// Stores a [pixels x cols] accumulator tile to the NHWC pixels
/// (n, i*stepH + offH, j*stepW + offW) of `dst` for the rows of `span`
/// (outW columns per row), channels [c0, c0 + cols).
void storePixels(InstBuilder &ib, const Nhwc &dst, const RowSpan &span,
                 int64_t outH, int64_t outW, int64_t offH, int64_t offW,
                 int64_t stepH, int64_t stepW, int64_t c0, int64_t cols,
                 int64_t chip, int64_t ld) {
  DmaBox box;
  box.dim[0] = {cols, 0, 0, 1, 1};
  box.dim[1] = {outW, 0, 0, stepW * dst.c, ld};
  box.dim[2] = {span.rows, 0, 0, stepH * dst.w * dst.c, outW * ld};
  box.dim[3] = {span.images, 0, 0, dst.h * dst.w * dst.c, outH * outW * ld};
  uint64_t base =
      dst.addr + 4 * uint64_t(((span.n0 * dst.h + span.i0 * stepH + offH) *
                                   dst.w +
                               offW) *
                                  dst.c +
                              c0);
  ib.store(base, chip, box, dst.cls);
}

/// The tile the op carries, or one chosen now.
LogicalResult tileFor(Operation *op, const GemmShape &shape,
                      const sim::Config &cfg, GemmTile &tile) {
  if (readTile(op, tile))
    return success();
  std::string why;
  if (!chooseGemmTile(shape, cfg, tile, why))
    return op->emitError("does not fit the accelerator: ") << why;
  return success();
}

/// Zeroes a B buffer whose loadB writes only the diagonal blocks.
void zeroTile(InstBuilder &ib, int64_t chip, int64_t size) {
  ib.vecFlat(isa::VecFunct::Fill, size, chip, -1, -1, 0.0f);
}

LogicalResult lowerConvForward(Operation *op, LoweringContext &ctx) {
  auto conv = cast<nn::Conv2DOp>(op);
  ConvGeometry g;
  if (failed(getConvGeometry(op, g)))
    return failure();
  if (depthwiseOnVectorUnit(g, ctx.cfg))
    return lowerDepthwise(op, g, ctx);
  Nhwc x{ctx.addr(conv.getInput()), g.h, g.w, g.c, ctx.cls(conv.getInput())};
  // A ReLU that only this convolution feeds is applied to the tile, and
  // the tile stored as the ReLU's result (epilogueCandidate).
  Operation *relu = fusedEpilogue(op, ctx);
  Value stored = relu ? relu->getResult(0) : Value(conv.getResult());
  Nhwc y{ctx.addr(stored), g.oh, g.ow, g.o, ctx.cls(stored)};
  uint64_t wAddr = ctx.addr(conv.getFilter());
  isa::TensorClass wCls = ctx.cls(conv.getFilter());
  Value bias = conv.getBias();
  uint64_t biasAddr = bias ? ctx.addr(bias) : 0;
  isa::TensorClass biasCls = bias ? ctx.cls(bias) : isa::TensorClass::Weight;

  int64_t perBlock = convGroupsPerBlock(g, ctx.dim());
  GemmTile tile;
  if (failed(tileFor(op, convForwardShape(convGroupBlock(g, perBlock)), ctx.cfg,
                     tile)))
    return failure();
  const int64_t cg = g.cg(), og = g.og();
  for (int64_t g0 = 0; g0 < g.groups; g0 += perBlock) {
    ConvGeometry blk = convGroupBlock(g, std::min(perBlock, g.groups - g0));
    // The block's first input channel and first output channel.
    int64_t c0 = g0 * cg, o0 = g0 * og;
    GemmProblem p;
    p.shape = convForwardShape(blk);
    p.tile = tile;
    p.loadA = [&](InstBuilder &ib, const Span &m, const Span &k, int64_t chip,
                  int64_t ld) {
      RowSpan span = rowSpan(m, g.oh);
      for (int64_t kh = 0; kh < g.kh; ++kh)
        for (int64_t kw = 0; kw < g.kw; ++kw)
          emitWindow(ib, x, span, g.oh, g.ow, kh - g.pt, kw - g.pl, g.sh, g.sw,
                     c0 + k.begin, k.size, chip + (kh * g.kw + kw) * k.size,
                     ld);
    };
    // The filter is [KH][KW][C/G][O]: W[tap][ci][o] of group o / (O/G).
    p.loadB = [&](InstBuilder &ib, const Span &k, const Span &n, int64_t chip,
                  int64_t ld) {
      DmaBox box;
      if (blk.groups == 1) {
        box.dim[0] = {n.size, 0, 0, 1, 1};
        box.dim[1] = {k.size, 0, 0, g.o, ld};
        box.dim[2] = {g.taps(), 0, 0, cg * g.o, k.size * ld};
        ib.load(wAddr + 4 * uint64_t(k.begin * g.o + o0 + n.begin), chip, box,
                wCls);
        return;
      }
      // The diagonal blocks of a whole block of groups (wholeK/N): group j
      // takes rows j*cg.. and columns j*og.. of each tap's rows.
      box.dim[0] = {og, 0, 0, 1, 1};
      box.dim[1] = {cg, 0, 0, g.o, ld};
      box.dim[2] = {blk.groups, 0, 0, og, cg * ld + og};
      box.dim[3] = {g.taps(), 0, 0, cg * g.o, k.size * ld};
      ib.load(wAddr + 4 * uint64_t(o0), chip, box, wCls);
    };
    if (blk.groups > 1)
      p.initB = zeroTile;
    p.storeC = [&](InstBuilder &ib, const Span &m, const Span &n, int64_t acc,
                   int64_t ldc, int64_t scratch) {
      int64_t pixels = m.size * g.ow;
      if (bias) {
        ib.load(biasAddr + 4 * uint64_t(o0 + n.begin), scratch,
                DmaBox::contiguous(n.size), biasCls);
        ib.vec(isa::VecFunct::Add, pixels, n.size, View{acc, ldc, 1},
               View{acc, ldc, 1}, View{scratch, 0, 1});
      }
      if (relu)
        ib.vec(isa::VecFunct::Relu, pixels, n.size, View{acc, ldc, 1},
               View{acc, ldc, 1});
      storePixels(ib, y, rowSpan(m, g.oh), g.oh, g.ow, 0, 0, 1, 1, o0 + n.begin,
                  n.size, acc, ldc);
    };
    if (failed(emitGemm(ctx.ib, p, ctx.cfg, op)))
      return failure();
  }
  return success();
}

LogicalResult lowerConvFilterGrad(Operation *op, LoweringContext &ctx) {
  auto conv = cast<nn::Conv2DFilterGradOp>(op);
  ConvGeometry g;
  if (failed(getConvGeometry(op, g)))
    return failure();
  if (depthwiseOnVectorUnit(g, ctx.cfg))
    return lowerDepthwise(op, g, ctx);
  Nhwc x{ctx.addr(conv.getInput()), g.h, g.w, g.c, ctx.cls(conv.getInput())};
  Nhwc dy{ctx.addr(conv.getGrad()), g.oh, g.ow, g.o, ctx.cls(conv.getGrad())};
  uint64_t dwAddr = ctx.addr(conv.getResult());
  isa::TensorClass dwCls = ctx.cls(conv.getResult());

  int64_t perBlock = convGroupsPerBlock(g, ctx.dim());
  GemmTile tile;
  if (failed(tileFor(op, convFilterGradShape(convGroupBlock(g, perBlock)),
                     ctx.cfg, tile)))
    return failure();
  const int64_t cg = g.cg(), og = g.og();
  for (int64_t g0 = 0; g0 < g.groups; g0 += perBlock) {
    ConvGeometry blk = convGroupBlock(g, std::min(perBlock, g.groups - g0));
    int64_t c0 = g0 * cg, o0 = g0 * og;
    GemmProblem p;
    p.shape = convFilterGradShape(blk);
    p.tile = tile;
    p.kMajorA = true;
    // A^T is the im2col of X: pixel rows (the k side) by (tap, channel)
    // columns (the m side).
    p.loadA = [&](InstBuilder &ib, const Span &m, const Span &k, int64_t chip,
                  int64_t ld) {
      RowSpan span = rowSpan(k, g.oh);
      for (int64_t kh = 0; kh < g.kh; ++kh)
        for (int64_t kw = 0; kw < g.kw; ++kw)
          emitWindow(ib, x, span, g.oh, g.ow, kh - g.pt, kw - g.pl, g.sh, g.sw,
                     c0 + m.begin, m.size, chip + (kh * g.kw + kw) * m.size,
                     ld);
    };
    p.loadB = [&](InstBuilder &ib, const Span &k, const Span &n, int64_t chip,
                  int64_t ld) {
      int64_t pixels = k.size * g.ow;
      DmaBox box = DmaBox::rows(pixels, n.size, g.o, ld);
      ib.load(dy.addr + 4 * uint64_t(k.begin * g.ow * g.o + o0 + n.begin), chip,
              box, dy.cls);
    };
    p.storeC = [&](InstBuilder &ib, const Span &m, const Span &n, int64_t acc,
                   int64_t ldc, int64_t) {
      DmaBox box;
      if (blk.groups == 1) {
        box.dim[0] = {n.size, 0, 0, 1, 1};
        box.dim[1] = {m.size, 0, 0, g.o, ldc};
        box.dim[2] = {g.taps(), 0, 0, cg * g.o, m.size * ldc};
        ib.store(dwAddr + 4 * uint64_t(m.begin * g.o + o0 + n.begin), acc, box,
                 dwCls);
        return;
      }
      // Only the diagonal blocks are the gradient; the products across
      // groups are dropped (wholeM/N: the tile is the whole block).
      box.dim[0] = {og, 0, 0, 1, 1};
      box.dim[1] = {cg, 0, 0, g.o, ldc};
      box.dim[2] = {blk.groups, 0, 0, og, cg * ldc + og};
      box.dim[3] = {g.taps(), 0, 0, cg * g.o, m.size * ldc};
      ib.store(dwAddr + 4 * uint64_t(o0), acc, box, dwCls);
    };
    if (failed(emitGemm(ctx.ib, p, ctx.cfg, op)))
      return failure();
  }
  return success();
}

LogicalResult lowerConvInputGrad(Operation *op, LoweringContext &ctx) {
  auto conv = cast<nn::Conv2DInputGradOp>(op);
  ConvGeometry g;
  if (failed(getConvGeometry(op, g)))
    return failure();
  if (depthwiseOnVectorUnit(g, ctx.cfg))
    return lowerDepthwise(op, g, ctx);
  Nhwc dy{ctx.addr(conv.getGrad()), g.oh, g.ow, g.o, ctx.cls(conv.getGrad())};
  Nhwc dx{ctx.addr(conv.getResult()), g.h, g.w, g.c,
          ctx.cls(conv.getResult())};
  uint64_t wAddr = ctx.addr(conv.getFilter());
  isa::TensorClass wCls = ctx.cls(conv.getFilter());

  int64_t perBlock = convGroupsPerBlock(g, ctx.dim());
  GemmShape maxShape = convInputGradShape(convGroupBlock(g, perBlock));
  GemmTile maxTile;
  if (failed(tileFor(op, maxShape, ctx.cfg, maxTile)))
    return failure();
  const int64_t cg = g.cg(), og = g.og();
  int64_t hpMax = maxShape.mGroup;
  for (int64_t ph = 0; ph < g.sh; ++ph) {
    for (int64_t pw = 0; pw < g.sw; ++pw) {
      int64_t hp = g.h > ph ? ceilDiv(g.h - ph, g.sh) : 0;
      int64_t wp = g.w > pw ? ceilDiv(g.w - pw, g.sw) : 0;
      if (hp == 0 || wp == 0)
        continue;
      int64_t kh0 = (ph + g.pt) % g.sh, kw0 = (pw + g.pl) % g.sw;
      int64_t th = g.kh > kh0 ? ceilDiv(g.kh - kh0, g.sh) : 0;
      int64_t tw = g.kw > kw0 ? ceilDiv(g.kw - kw0, g.sw) : 0;
      // Blocks of the largest phase, restated in this phase's rows.
      int64_t mRows = maxTile.m <= hpMax
                          ? std::min(maxTile.m, hp)
                          : std::max<int64_t>(1, maxTile.m / hpMax) * hp;
      if (th == 0 || tw == 0) {
        // No tap reaches these pixels: their gradient is zero.
        int64_t chunkRows = std::max<int64_t>(
            1, std::min<int64_t>(ctx.spadElems() / (wp * g.c), mRows));
        chunkRows = std::min({chunkRows, hp, std::max<int64_t>(1, 65536 / wp)});
        ctx.ib.fill(chunkRows * wp, g.c, View{0, g.c, 1}, 0.0f);
        for (const Span &b : makeBlocks(g.n * hp, chunkRows, hp))
          storePixels(ctx.ib, dx, rowSpan(b, hp), hp, wp, ph, pw, g.sh, g.sw,
                      0, g.c, 0, g.c);
        continue;
      }
      for (int64_t g0 = 0; g0 < g.groups; g0 += perBlock) {
        ConvGeometry blk = convGroupBlock(g, std::min(perBlock, g.groups - g0));
        int64_t c0 = g0 * cg, o0 = g0 * og;
        GemmProblem p;
        p.shape = convInputGradShape(blk);
        p.shape.mUnits = g.n * hp;
        p.shape.mScale = wp;
        p.shape.mGroup = hp;
        p.shape.kScale = th * tw;
        p.shape.aDmas = th * tw;
        p.tile = maxTile;
        p.tile.m = mRows;
        p.nMajorB = true;
        p.loadA = [&](InstBuilder &ib, const Span &m, const Span &k,
                      int64_t chip, int64_t ld) {
          RowSpan span = rowSpan(m, hp);
          for (int64_t a = 0; a < th; ++a)
            for (int64_t b = 0; b < tw; ++b) {
              int64_t kh = kh0 + a * g.sh, kw = kw0 + b * g.sw;
              int64_t dh = (ph + g.pt - kh) / g.sh,
                      dw = (pw + g.pl - kw) / g.sw;
              emitWindow(ib, dy, span, hp, wp, dh, dw, 1, 1, o0 + k.begin,
                         k.size, chip + (a * tw + b) * k.size, ld);
            }
        };
        p.loadB = [&](InstBuilder &ib, const Span &k, const Span &n,
                      int64_t chip, int64_t ld) {
          // Stored [ci][(a, b, co)]: the array reads it transposed (tb).
          DmaBox box;
          int64_t tapStride = cg * g.o;
          if (blk.groups == 1) {
            box.dim[0] = {k.size, 0, 0, 1, 1};
            box.dim[1] = {tw, 0, 0, g.sw * tapStride, k.size};
            box.dim[2] = {th, 0, 0, g.sh * g.kw * tapStride, tw * k.size};
            box.dim[3] = {n.size, 0, 0, g.o, ld};
            uint64_t base =
                wAddr + 4 * uint64_t((kh0 * g.kw + kw0) * tapStride +
                                     n.begin * g.o + o0 + k.begin);
            ib.load(base, chip, box, wCls);
            return;
          }
          // Group j: rows j*cg.. (its input channels), columns j*og.. of
          // each tap's block (its outputs).
          box.dim[0] = {og, 0, 0, 1, 1};
          box.dim[1] = {tw, 0, 0, g.sw * tapStride, k.size};
          box.dim[2] = {th, 0, 0, g.sh * g.kw * tapStride, tw * k.size};
          box.dim[3] = {cg, 0, 0, g.o, ld};
          box.dim[4] = {blk.groups, 0, 0, og, cg * ld + og};
          uint64_t base =
              wAddr + 4 * uint64_t((kh0 * g.kw + kw0) * tapStride + o0);
          ib.load(base, chip, box, wCls);
        };
        if (blk.groups > 1)
          p.initB = zeroTile;
        p.storeC = [&](InstBuilder &ib, const Span &m, const Span &n,
                       int64_t acc, int64_t ldc, int64_t) {
          storePixels(ib, dx, rowSpan(m, hp), hp, wp, ph, pw, g.sh, g.sw,
                      c0 + n.begin, n.size, acc, ldc);
        };
        if (failed(emitGemm(ctx.ib, p, ctx.cfg, op)))
          return failure();
      }
    }
  }
  return success();
}

} // namespace

LogicalResult getConvGeometry(Operation *op, ConvGeometry &g) {
  ArrayRef<int64_t> strides, pads, dilations;
  int64_t groups = 1;
  RankedTensorType x, w, y;
  if (auto c = dyn_cast<nn::Conv2DOp>(op)) {
    x = c.getInput().getType();
    w = c.getFilter().getType();
    y = c.getResult().getType();
    strides = c.getStrides();
    pads = c.getPads();
    dilations = c.getDilations();
    groups = c.getGroups();
  } else if (auto c = dyn_cast<nn::Conv2DInputGradOp>(op)) {
    x = c.getResult().getType();
    w = c.getFilter().getType();
    y = c.getGrad().getType();
    strides = c.getStrides();
    pads = c.getPads();
    dilations = c.getDilations();
    groups = c.getGroups();
  } else if (auto c = dyn_cast<nn::Conv2DFilterGradOp>(op)) {
    x = c.getInput().getType();
    w = c.getResult().getType();
    y = c.getGrad().getType();
    strides = c.getStrides();
    pads = c.getPads();
    dilations = c.getDilations();
    groups = c.getGroups();
  } else {
    return op->emitError("is not a convolution");
  }
  if (dilations[0] != 1 || dilations[1] != 1)
    return op->emitError("dilated convolutions are not supported on the "
                         "accelerator (dilations ")
           << dilations[0] << "x" << dilations[1] << ")";
  g.n = x.getDimSize(0);
  g.c = x.getDimSize(1);
  g.h = x.getDimSize(2);
  g.w = x.getDimSize(3);
  g.o = w.getDimSize(0);
  g.kh = w.getDimSize(2);
  g.kw = w.getDimSize(3);
  g.oh = y.getDimSize(2);
  g.ow = y.getDimSize(3);
  g.sh = strides[0];
  g.sw = strides[1];
  g.pt = pads[0];
  g.pl = pads[1];
  g.groups = groups;
  return success();
}

void populateConvLowerings(LoweringRegistry &r) {
  r.add(nn::Conv2DOp::getOperationName(), lowerConvForward);
  r.add(nn::Conv2DFilterGradOp::getOperationName(), lowerConvFilterGrad);
  r.add(nn::Conv2DInputGradOp::getOperationName(), lowerConvInputGrad);
}

} // namespace adagp::accel
