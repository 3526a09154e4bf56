//===- LowerPool.cpp - Pooling and its gradients --------------------------===//
//
// The `pool` instruction works on dense channel-last tiles [n][h][w][c]. A
// pooling op is tiled over images and channel slices: each tile is one DMA
// gathering the slice (rows of `cb` channels, `C` apart), one `pool`, and
// one DMA scattering the result back.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;

namespace adagp::accel {
namespace {

struct PoolGeometry {
  int64_t n, c, h, w, oh, ow;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, pt = 0, pl = 0;
};

/// Loads (or stores) the channel slice [c0, c0 + cb) of images
/// [n0, n0 + nb) of an NHWC tensor of `pixels` pixels per image, as a
/// dense tile.
DmaBox sliceBox(int64_t nb, int64_t pixels, int64_t c, int64_t cb) {
  if (cb == c && nb * pixels * c <= 65536)
    return DmaBox::contiguous(nb * pixels * c);
  DmaBox box;
  box.dim[0] = {cb, 0, 0, 1, 1};
  box.dim[1] = {pixels, 0, 0, c, cb};
  box.dim[2] = {nb, 0, 0, pixels * c, pixels * cb};
  return box;
}

/// Emits pooling over tiles. `in` is the op's main input (X or dY), `aux`
/// the forward input of max_pool2d_grad, `out` the result; `inPixels` and
/// `outPixels` are per image.
LogicalResult emitPool(Operation *op, LoweringContext &ctx,
                       isa::PoolFunct funct, const PoolGeometry &g, Value in,
                       Value aux, Value out, bool grad) {
  if (g.h > 4096 || g.w > 4096 || g.oh > 4096 || g.ow > 4096 ||
      g.kh > 256 || g.kw > 256 || g.sh > 16 || g.sw > 16 || g.pt > 15 ||
      g.pl > 15)
    return op->emitError("pooling window or image exceeds the pool "
                         "instruction's fields (images up to 4096, windows "
                         "up to 256, strides up to 16, padding up to 15)");
  int64_t inPix = grad ? g.oh * g.ow : g.h * g.w;
  int64_t outPix = grad ? g.h * g.w : g.oh * g.ow;
  int64_t auxPix = aux ? g.h * g.w : 0;
  // Per image and channel: input, aux and output elements, double-buffered.
  int64_t perImageChannel = inPix + auxPix + outPix;
  int64_t budget = ctx.spadElems() / 2;
  int64_t cb = g.c;
  while (cb > 1 && perImageChannel * cb > budget)
    cb = (cb + 1) / 2;
  if (perImageChannel * cb > budget)
    return op->emitError("one image of one channel needs ")
           << perImageChannel * 4 * 2
           << " bytes of scratchpad (double-buffered) but the scratchpad "
              "holds "
           << ctx.spadElems() * 4 << " (short by "
           << (perImageChannel * 2 - ctx.spadElems()) * 4 << " bytes)";
  int64_t nb = std::max<int64_t>(
      1, std::min<int64_t>({g.n, budget / (perImageChannel * cb), 65536}));
  InstBuilder &ib = ctx.ib;
  unsigned parity = 0;
  for (int64_t c0 = 0; c0 < g.c; c0 += cb) {
    int64_t cc = std::min(cb, g.c - c0);
    for (int64_t n0 = 0; n0 < g.n; n0 += nb) {
      int64_t nn = std::min(nb, g.n - n0);
      int64_t base = (parity++ % 2) * budget;
      int64_t inChip = base, auxChip = base + nb * cb * inPix,
              outChip = auxChip + nb * cb * auxPix;
      ib.load(ctx.addr(in) + 4 * uint64_t(n0 * inPix * g.c + c0), inChip,
              sliceBox(nn, inPix, g.c, cc), ctx.cls(in));
      if (aux)
        ib.load(ctx.addr(aux) + 4 * uint64_t(n0 * auxPix * g.c + c0), auxChip,
                sliceBox(nn, auxPix, g.c, cc), ctx.cls(aux));
      isa::Instruction p = isa::makeInstruction(isa::Opcode::Pool,
                                                uint8_t(funct));
      p.set(isa::pool::N, nn)
          .set(isa::pool::H, g.h)
          .set(isa::pool::W, g.w)
          .set(isa::pool::C, cc)
          .set(isa::pool::OH, g.oh)
          .set(isa::pool::OW, g.ow)
          .set(isa::pool::KH, g.kh)
          .set(isa::pool::KW, g.kw)
          .set(isa::pool::SH, g.sh)
          .set(isa::pool::SW, g.sw)
          .set(isa::pool::PadTop, g.pt)
          .set(isa::pool::PadLeft, g.pl)
          .set(isa::pool::In, inChip)
          .set(isa::pool::Aux, aux ? auxChip : 0)
          .set(isa::pool::Out, outChip);
      ib.emit(p);
      ib.store(ctx.addr(out) + 4 * uint64_t(n0 * outPix * g.c + c0), outChip,
               sliceBox(nn, outPix, g.c, cc), ctx.cls(out));
    }
  }
  return success();
}

LogicalResult checkDilation(Operation *op, ArrayRef<int64_t> dilations) {
  if (dilations[0] != 1 || dilations[1] != 1)
    return op->emitError("dilated pooling is not supported on the "
                         "accelerator");
  return success();
}

PoolGeometry geometry(RankedTensorType x, RankedTensorType y,
                      ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                      ArrayRef<int64_t> pads) {
  PoolGeometry g;
  g.n = x.getDimSize(0);
  g.c = x.getDimSize(1);
  g.h = x.getDimSize(2);
  g.w = x.getDimSize(3);
  g.oh = y.getDimSize(2);
  g.ow = y.getDimSize(3);
  g.kh = kernel[0];
  g.kw = kernel[1];
  g.sh = strides[0];
  g.sw = strides[1];
  g.pt = pads[0];
  g.pl = pads[1];
  return g;
}

LogicalResult lowerMaxPool(Operation *op, LoweringContext &ctx) {
  auto p = cast<nn::MaxPool2DOp>(op);
  if (failed(checkDilation(op, p.getDilations())))
    return failure();
  PoolGeometry g = geometry(p.getInput().getType(), p.getResult().getType(),
                            p.getKernel(), p.getStrides(), p.getPads());
  return emitPool(op, ctx, isa::PoolFunct::MaxFwd, g, p.getInput(), {},
                  p.getResult(), false);
}

LogicalResult lowerMaxPoolGrad(Operation *op, LoweringContext &ctx) {
  auto p = cast<nn::MaxPool2DGradOp>(op);
  if (failed(checkDilation(op, p.getDilations())))
    return failure();
  PoolGeometry g = geometry(p.getInput().getType(), p.getGrad().getType(),
                            p.getKernel(), p.getStrides(), p.getPads());
  return emitPool(op, ctx, isa::PoolFunct::MaxBwd, g, p.getGrad(),
                  p.getInput(), p.getResult(), true);
}

LogicalResult lowerAvgPool(Operation *op, LoweringContext &ctx) {
  auto p = cast<nn::AvgPool2DOp>(op);
  PoolGeometry g = geometry(p.getInput().getType(), p.getResult().getType(),
                            p.getKernel(), p.getStrides(), p.getPads());
  return emitPool(op, ctx,
                  p.getCountIncludePad() ? isa::PoolFunct::AvgFwd
                                         : isa::PoolFunct::AvgValidFwd,
                  g, p.getInput(), {}, p.getResult(), false);
}

LogicalResult lowerAvgPoolGrad(Operation *op, LoweringContext &ctx) {
  auto p = cast<nn::AvgPool2DGradOp>(op);
  PoolGeometry g = geometry(p.getResult().getType(), p.getGrad().getType(),
                            p.getKernel(), p.getStrides(), p.getPads());
  return emitPool(op, ctx,
                  p.getCountIncludePad() ? isa::PoolFunct::AvgBwd
                                         : isa::PoolFunct::AvgValidBwd,
                  g, p.getGrad(), {}, p.getResult(), true);
}

LogicalResult lowerGlobalAvgPool(Operation *op, LoweringContext &ctx) {
  auto p = cast<nn::GlobalAvgPoolOp>(op);
  auto x = p.getInput().getType();
  PoolGeometry g;
  g.n = x.getDimSize(0);
  g.c = x.getDimSize(1);
  g.h = x.getDimSize(2);
  g.w = x.getDimSize(3);
  g.oh = g.ow = 1;
  return emitPool(op, ctx, isa::PoolFunct::AdaptiveAvgFwd, g, p.getInput(),
                  {}, p.getResult(), false);
}

} // namespace

void populatePoolLowerings(LoweringRegistry &r) {
  r.add(nn::MaxPool2DOp::getOperationName(), lowerMaxPool);
  r.add(nn::MaxPool2DGradOp::getOperationName(), lowerMaxPoolGrad);
  r.add(nn::AvgPool2DOp::getOperationName(), lowerAvgPool);
  r.add(nn::AvgPool2DGradOp::getOperationName(), lowerAvgPoolGrad);
  r.add(nn::GlobalAvgPoolOp::getOperationName(), lowerGlobalAvgPool);
}

} // namespace adagp::accel
