//===- LowerDepthwise.cpp - Depthwise convolutions on the vector unit -----===//
//
// A depthwise convolution (one input and one output channel per group) has
// no reduction over channels, so on the array only the diagonal of each
// DIM x DIM weight block would be useful, and its im2col would read the
// input once per filter tap. The vector unit does it with the input read once:
//
// A tile is `nb` whole images by `cb` channels. The input goes on chip as a
// zero-padded grid, image after image: grid row r of image n holds input row
// r - pt, grid column q input column q - pl, each a `cb`-channel vector. An
// output pixel (n, i, j) gets the grid index P = (n * R/s + i) * Wq + j,
// where R (rows per image, a multiple of the stride s) and Wq (the pitch)
// leave room for every window; then its filter tap (kh, kw) reads the input
// grid at s * P + kh * Wq + kw. That is affine in P, so each tap is one
// vector instruction over all output pixels of the tile: a [P x cb] view of
// the input with row stride s * cb, times the tap's weights broadcast over
// the rows (b_rs = 0):
//
//   forward       Y_grid      (+)= X_grid[s*P + tap] * W[tap]        mul, fma
//   filter grad   dW[tap]     (+)= sum_P X_grid[s*P + tap] * dY_grid coldot
//   input grad    dX_grid[s*P + tap] += dY_grid * W[tap]             fma
//
// Grid indices that are not output pixels (the padding columns and rows)
// compute values nobody stores; for the gradients the output-gradient grid
// is loaded with zeros there (DMA extents), so that they add nothing. The
// input gradient scatters each tap into the padded grid, whose interior is
// then stored.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;

namespace adagp::accel {
using isa::VecFunct;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The grid, the tile sizes and the on-chip buffers of one depthwise op.
struct DepthwisePlan {
  int64_t rows = 0;    // grid rows per image (R), a multiple of the stride
  int64_t pitch = 0;   // grid columns (Wq)
  int64_t outRows = 0; // output grid rows per image, R / s
  int64_t cb = 0, nb = 0;
  // Input (or input-gradient) grids in the scratchpad, output (or output-
  // gradient) grids in the accumulator, both double-buffered; the weights
  // (double-buffered), the bias and the filter gradient in the last bank.
  int64_t inBuf[2] = {0, 0}, outBuf[2] = {0, 0}, wBuf[2] = {0, 0};
  int64_t biasBuf[2] = {0, 0}, dwBuf = 0;

  int64_t inImage() const { return rows * pitch * cb; }
  int64_t outImage() const { return outRows * pitch * cb; }
  /// Grid points from the first output pixel to the last of `images`
  /// images: the rows of every vector instruction.
  int64_t points(const ConvGeometry &g, int64_t images) const {
    return ((images - 1) * outRows + g.oh - 1) * pitch + g.ow;
  }
};

bool planDepthwise(const ConvGeometry &g, const sim::Config &cfg,
                   DepthwisePlan &p) {
  if (!g.depthwise())
    return false;
  // Every window, and every input pixel with its padding, inside the grid.
  p.rows = std::max(g.sh * (g.oh - 1) + g.kh, g.h + g.pt);
  p.rows = ceilDiv(p.rows, g.sh) * g.sh;
  p.pitch = std::max(g.sw * (g.ow - 1) + g.kw, g.w + g.pl);
  p.outRows = p.rows / g.sh;
  int64_t spad = int64_t(cfg.spadElements()), acc = int64_t(cfg.accElements());
  int64_t bank = spadBankElems(cfg);
  // The largest channel block (all channels, else a power of two) for which
  // one image fits.
  for (int64_t cb = g.c; cb >= 1;) {
    int64_t params = (3 * g.taps() + 2) * cb;
    // The parameters start on a bank boundary when they fit in the last
    // bank, so that the weights and the input grid are read from different
    // banks (no conflict on `mul`/`fma`).
    int64_t paramBase = spad - params;
    if (params <= bank)
      paramBase = (spad - bank) / bank * bank;
    int64_t inCap = std::max<int64_t>(0, paramBase) / 2;
    int64_t outCap = acc / 2;
    p.cb = cb;
    int64_t perIn = p.inImage(), perOut = p.outImage();
    // The vector unit's row count (16 bits) bounds the grid points of a
    // tile; the on-chip strides of an image (DMA) and of a row (vector) are
    // 20-bit signed fields.
    if (perIn > 0 && perIn <= inCap && perOut <= outCap &&
        perIn < (1 << 19) && p.points(g, 1) <= 65536 &&
        g.sw * cb < (1 << 19)) {
      p.nb = std::min({g.n, inCap / perIn, outCap / perOut});
      while (p.nb > 1 && p.points(g, p.nb) > 65536)
        --p.nb;
      p.inBuf[0] = 0;
      p.inBuf[1] = inCap;
      p.outBuf[0] = int64_t(isa::kAccBase);
      p.outBuf[1] = int64_t(isa::kAccBase) + outCap;
      int64_t w = g.taps() * cb;
      p.wBuf[0] = paramBase;
      p.wBuf[1] = paramBase + w;
      p.biasBuf[0] = paramBase + 2 * w;
      p.biasBuf[1] = paramBase + 2 * w + cb;
      p.dwBuf = paramBase + 2 * w + 2 * cb;
      return true;
    }
    int64_t next = 1;
    while (next * 2 < cb)
      next *= 2;
    cb = cb == 1 ? 0 : next;
  }
  return false;
}

/// An NHWC tensor in DRAM.
struct Tensor4 {
  uint64_t addr;
  int64_t h, w, c;
  isa::TensorClass cls;
};

/// Loads the padded input grid of images [n0, n0 + nn), channels
/// [c0, c0 + cc) (`cb` apart on chip); out-of-range pixels read zero.
void loadInputGrid(InstBuilder &ib, const ConvGeometry &g,
                   const DepthwisePlan &p, const Tensor4 &x, int64_t n0,
                   int64_t nn, int64_t c0, int64_t cc, int64_t chip) {
  DmaBox box;
  box.dim[0] = {cc, 0, 0, 1, 1};
  box.dim[1] = {p.pitch, -g.pl, x.w, x.c, p.cb};
  box.dim[2] = {p.rows, -g.pt, x.h, x.w * x.c, p.pitch * p.cb};
  box.dim[3] = {nn, 0, 0, x.h * x.w * x.c, p.inImage()};
  ib.load(x.addr + 4 * uint64_t(n0 * x.h * x.w * x.c + c0), chip, box, x.cls);
}

/// Loads an output gradient into the output grid: zeros wherever the grid
/// point is not an output pixel.
void loadOutputGrid(InstBuilder &ib, const DepthwisePlan &p, const Tensor4 &y,
                    int64_t n0, int64_t nn, int64_t c0, int64_t cc,
                    int64_t chip) {
  DmaBox box;
  box.dim[0] = {cc, 0, 0, 1, 1};
  box.dim[1] = {p.pitch, 0, y.w, y.c, p.cb};
  box.dim[2] = {p.outRows, 0, y.h, y.w * y.c, p.pitch * p.cb};
  box.dim[3] = {nn, 0, 0, y.h * y.w * y.c, p.outImage()};
  ib.load(y.addr + 4 * uint64_t(n0 * y.h * y.w * y.c + c0), chip, box, y.cls);
}

/// The filter taps of channels [c0, c0 + cc): [KH][KW][1][C] in DRAM, [tap]
/// rows of `cb` on chip.
void loadTaps(InstBuilder &ib, const ConvGeometry &g, const DepthwisePlan &p,
              uint64_t w, isa::TensorClass cls, int64_t c0, int64_t cc,
              int64_t chip) {
  DmaBox box;
  box.dim[0] = {cc, 0, 0, 1, 1};
  box.dim[1] = {g.taps(), 0, 0, g.c, p.cb};
  ib.load(w + 4 * uint64_t(c0), chip, box, cls);
}

/// The view of tap (kh, kw) of the input grid at `grid` over the output
/// pixels: row P reads grid point s * P + kh * Wq + kw.
View tapView(const ConvGeometry &g, const DepthwisePlan &p, int64_t grid,
             int64_t kh, int64_t kw) {
  return View{grid + (kh * p.pitch + kw) * p.cb, g.sw * p.cb, 1};
}

LogicalResult lowerForward(nn::Conv2DOp conv, const ConvGeometry &g,
                           const DepthwisePlan &p, LoweringContext &ctx) {
  Value xv = conv.getInput(), yv = conv.getResult(), bias = conv.getBias();
  Tensor4 x{ctx.addr(xv), g.h, g.w, g.c, ctx.cls(xv)};
  Tensor4 y{ctx.addr(yv), g.oh, g.ow, g.o, ctx.cls(yv)};
  uint64_t w = ctx.addr(conv.getFilter());
  isa::TensorClass wCls = ctx.cls(conv.getFilter());
  InstBuilder &ib = ctx.ib;
  unsigned parity = 0;
  for (int64_t c0 = 0; c0 < g.c; c0 += p.cb) {
    int64_t cc = std::min(p.cb, g.c - c0);
    for (int64_t n0 = 0; n0 < g.n; n0 += p.nb) {
      int64_t nn = std::min(p.nb, g.n - n0);
      unsigned b = parity++ % 2;
      loadInputGrid(ib, g, p, x, n0, nn, c0, cc, p.inBuf[b]);
      loadTaps(ib, g, p, w, wCls, c0, cc, p.wBuf[b]);
      if (bias)
        ib.load(ctx.addr(bias) + 4 * uint64_t(c0), p.biasBuf[b],
                DmaBox::contiguous(cc), ctx.cls(bias));
      int64_t rows = p.points(g, nn);
      View out{p.outBuf[b], p.cb, 1};
      for (int64_t kh = 0; kh < g.kh; ++kh)
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          int64_t tap = kh * g.kw + kw;
          ib.vec(tap == 0 ? VecFunct::Mul : VecFunct::Fma, rows, cc, out,
                 tapView(g, p, p.inBuf[b], kh, kw),
                 View{p.wBuf[b] + tap * p.cb, 0, 1});
        }
      if (bias)
        ib.vec(VecFunct::Add, rows, cc, out, out, View{p.biasBuf[b], 0, 1});
      DmaBox box;
      box.dim[0] = {cc, 0, 0, 1, 1};
      box.dim[1] = {g.ow, 0, 0, y.c, p.cb};
      box.dim[2] = {g.oh, 0, 0, g.ow * y.c, p.pitch * p.cb};
      box.dim[3] = {nn, 0, 0, g.oh * g.ow * y.c, p.outImage()};
      ib.store(y.addr + 4 * uint64_t(n0 * g.oh * g.ow * y.c + c0), p.outBuf[b],
               box, y.cls);
    }
  }
  return success();
}

LogicalResult lowerFilterGrad(nn::Conv2DFilterGradOp conv,
                              const ConvGeometry &g, const DepthwisePlan &p,
                              LoweringContext &ctx) {
  Value xv = conv.getInput(), dyv = conv.getGrad(), dwv = conv.getResult();
  Tensor4 x{ctx.addr(xv), g.h, g.w, g.c, ctx.cls(xv)};
  Tensor4 dy{ctx.addr(dyv), g.oh, g.ow, g.o, ctx.cls(dyv)};
  InstBuilder &ib = ctx.ib;
  unsigned parity = 0;
  for (int64_t c0 = 0; c0 < g.c; c0 += p.cb) {
    int64_t cc = std::min(p.cb, g.c - c0);
    for (int64_t n0 = 0; n0 < g.n; n0 += p.nb) {
      int64_t nn = std::min(p.nb, g.n - n0);
      unsigned b = parity++ % 2;
      loadInputGrid(ib, g, p, x, n0, nn, c0, cc, p.inBuf[b]);
      loadOutputGrid(ib, p, dy, n0, nn, c0, cc, p.outBuf[b]);
      int64_t rows = p.points(g, nn);
      for (int64_t kh = 0; kh < g.kh; ++kh)
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          int64_t tap = kh * g.kw + kw;
          ib.vec(n0 == 0 ? VecFunct::ColDot : VecFunct::ColDotAcc, rows, cc,
                 View{p.dwBuf + tap * p.cb, 0, 1},
                 tapView(g, p, p.inBuf[b], kh, kw), View{p.outBuf[b], p.cb, 1});
        }
    }
    DmaBox box;
    box.dim[0] = {cc, 0, 0, 1, 1};
    box.dim[1] = {g.taps(), 0, 0, g.c, p.cb};
    ib.store(ctx.addr(dwv) + 4 * uint64_t(c0), p.dwBuf, box, ctx.cls(dwv));
  }
  return success();
}

LogicalResult lowerInputGrad(nn::Conv2DInputGradOp conv, const ConvGeometry &g,
                             const DepthwisePlan &p, LoweringContext &ctx) {
  Value dyv = conv.getGrad(), dxv = conv.getResult();
  Tensor4 dy{ctx.addr(dyv), g.oh, g.ow, g.o, ctx.cls(dyv)};
  Tensor4 dx{ctx.addr(dxv), g.h, g.w, g.c, ctx.cls(dxv)};
  uint64_t w = ctx.addr(conv.getFilter());
  isa::TensorClass wCls = ctx.cls(conv.getFilter());
  InstBuilder &ib = ctx.ib;
  unsigned parity = 0;
  for (int64_t c0 = 0; c0 < g.c; c0 += p.cb) {
    int64_t cc = std::min(p.cb, g.c - c0);
    for (int64_t n0 = 0; n0 < g.n; n0 += p.nb) {
      int64_t nn = std::min(p.nb, g.n - n0);
      unsigned b = parity++ % 2;
      loadOutputGrid(ib, p, dy, n0, nn, c0, cc, p.outBuf[b]);
      loadTaps(ib, g, p, w, wCls, c0, cc, p.wBuf[b]);
      ib.vecFlat(VecFunct::Fill, nn * p.inImage(), p.inBuf[b], -1, -1, 0.0f);
      int64_t rows = p.points(g, nn);
      for (int64_t kh = 0; kh < g.kh; ++kh)
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          int64_t tap = kh * g.kw + kw;
          View d = tapView(g, p, p.inBuf[b], kh, kw);
          ib.vec(VecFunct::Fma, rows, cc, d, View{p.outBuf[b], p.cb, 1},
                 View{p.wBuf[b] + tap * p.cb, 0, 1});
        }
      // The grid's interior is the input gradient.
      DmaBox box;
      box.dim[0] = {cc, 0, 0, 1, 1};
      box.dim[1] = {g.w, 0, 0, dx.c, p.cb};
      box.dim[2] = {g.h, 0, 0, g.w * dx.c, p.pitch * p.cb};
      box.dim[3] = {nn, 0, 0, g.h * g.w * dx.c, p.inImage()};
      ib.store(dx.addr + 4 * uint64_t(n0 * g.h * g.w * dx.c + c0),
               p.inBuf[b] + (g.pt * p.pitch + g.pl) * p.cb, box, dx.cls);
    }
  }
  return success();
}

} // namespace

bool depthwiseOnVectorUnit(const ConvGeometry &g, const sim::Config &cfg) {
  DepthwisePlan p;
  return planDepthwise(g, cfg, p);
}

LogicalResult lowerDepthwise(Operation *op, const ConvGeometry &g,
                             LoweringContext &ctx) {
  DepthwisePlan p;
  if (!planDepthwise(g, ctx.cfg, p))
    return op->emitError("internal: not a depthwise convolution the vector "
                         "unit takes");
  if (auto c = dyn_cast<nn::Conv2DOp>(op))
    return lowerForward(c, g, p, ctx);
  if (auto c = dyn_cast<nn::Conv2DFilterGradOp>(op))
    return lowerFilterGrad(c, g, p, ctx);
  return lowerInputGrad(cast<nn::Conv2DInputGradOp>(op), g, p, ctx);
}

} // namespace adagp::accel
