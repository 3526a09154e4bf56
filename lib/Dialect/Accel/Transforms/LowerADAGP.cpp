//===- LowerADAGP.cpp - ADA-GP's tensor reorganisation and prediction -----===//
//
// adagp.reorganize: a column sum over the images of channel-last tiles
// [nb][H][W][cb] (accumulated across image chunks) gives the batch sum
// [H][W][cb]; the `pool adaptive_avg` instruction reduces it to [P][P][cb]
// once; one vector pass scales it by 1/N and transposes it into the sample
// layout [C][P*P]. A linear layer's output [N][F] is summed over N the same way
// and its mean broadcast over the P*P map. With `normalize`, the samples are
// multiplied by rsqrt(mean of squares + 1e-12), computed on chip.
//
// adagp.expand_prediction: the first prod(shape[1:]) entries of each
// predictor row, times the scale. Rows are read contiguously; for a
// convolution filter (stored [KH][KW][I][O]) one strided vector pass per
// filter tap transposes a block of output channels on chip, and the store
// writes runs of that block.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/ADAGP/ADAGPDialect.h"

using namespace mlir;

namespace adagp::accel {
using isa::VecFunct;
namespace {

isa::Instruction poolInstruction(int64_t n, int64_t h, int64_t w, int64_t c,
                                 int64_t p, int64_t in, int64_t out) {
  isa::Instruction inst = isa::makeInstruction(
      isa::Opcode::Pool, uint8_t(isa::PoolFunct::AdaptiveAvgFwd));
  inst.set(isa::pool::N, n)
      .set(isa::pool::H, h)
      .set(isa::pool::W, w)
      .set(isa::pool::C, c)
      .set(isa::pool::OH, p)
      .set(isa::pool::OW, p)
      .set(isa::pool::KH, 1)
      .set(isa::pool::KW, 1)
      .set(isa::pool::SH, 1)
      .set(isa::pool::SW, 1)
      .set(isa::pool::In, in)
      .set(isa::pool::Out, out);
  return inst;
}

LogicalResult lowerReorganize(Operation *op, LoweringContext &ctx) {
  auto reorg = cast<gp::ReorganizeOp>(op);
  Value x = reorg.getInput(), y = reorg.getResult();
  auto xt = cast<RankedTensorType>(x.getType());
  auto yt = cast<RankedTensorType>(y.getType());
  if (!xt.getElementType().isF32())
    return op->emitError("only f32 reorganization runs on the accelerator");
  RegionAttr rx = ctx.region(x), ry = ctx.region(y);
  if (!rx || !ry)
    return failure();
  bool conv = xt.getRank() == 4;
  if (conv && rx.getLayout() != ArrayRef<int64_t>{0, 2, 3, 1})
    return op->emitError("expected a channel-last activation");
  if (!conv && (xt.getRank() != 2 || !rx.getLayout().empty()))
    return op->emitError("expected a row-major [N, F] activation");
  if (!rowMajorEquivalent(yt, ry.getLayout()))
    return op->emitError("expected row-major predictor samples");
  int64_t n = xt.getDimSize(0), c = xt.getDimSize(1);
  int64_t h = conv ? xt.getDimSize(2) : 1, w = conv ? xt.getDimSize(3) : 1;
  int64_t p = int64_t(reorg.getPooledSize());
  int64_t pp = p * p;
  if (h > 4096 || w > 4096 || p > 4096)
    return op->emitError("image or pooled size exceeds the pool "
                         "instruction's fields (4096)");
  if (pp > 2047 || c > 65535)
    return op->emitError("reorganization of ")
           << c << " channels into " << p << "x" << p
           << " samples exceeds the vector unit's strides";
  // Scratchpad: samples R [C][PP]; for a channel block of cb channels the
  // batch sums S [H*W][cb] and their pooled map Q [PP][cb] (conv; a linear
  // layer's sums T [C] take S's place); one element for the norm; then two
  // buffers of input tiles.
  int64_t hw = h * w;
  int64_t cb = c;
  auto fixedFor = [&](int64_t cb) {
    return pp * c + (conv ? hw * cb + pp * cb : c) + 16;
  };
  if (conv)
    while (cb > 1 && (hw * cb > 65535 || pp * cb > 65535 ||
                      fixedFor(cb) + 2 * hw * cb > ctx.spadElems()))
      cb = (cb + 1) / 2;
  int64_t rAddr = 0, tAddr = pp * c;
  int64_t qAddr = tAddr + (conv ? hw * cb : c);
  int64_t sAddr = qAddr + (conv ? pp * cb : 0);
  int64_t fixed = fixedFor(cb);
  int64_t budget = (ctx.spadElems() - fixed) / 2;
  InstBuilder &ib = ctx.ib;
  isa::TensorClass cls = ctx.cls(x);
  unsigned parity = 0;
  if (conv) {
    // The batch is summed first (a column sum over the images, accumulated
    // across image chunks) and the sum pooled once per channel block: the
    // pool then runs on one map instead of N (a 1x1 map spread to P x P,
    // RegNet's squeeze-excitation layers, cost N times the column sum).
    if (budget <= 0 || hw * cb > budget || hw * cb > 65535)
      return op->emitError("one channel of one image (")
             << hw * 4 << " bytes, double-buffered) and the samples ("
             << fixed * 4 << " bytes) do not fit the scratchpad of "
             << ctx.spadElems() * 4 << " bytes";
    int64_t nb =
        std::max<int64_t>(1, std::min<int64_t>({n, budget / (hw * cb), 65535}));
    for (int64_t c0 = 0; c0 < c; c0 += cb) {
      int64_t cc = std::min(cb, c - c0);
      for (int64_t n0 = 0; n0 < n; n0 += nb) {
        int64_t nn = std::min(nb, n - n0);
        int64_t in = fixed + (parity++ % 2) * budget;
        DmaBox box;
        if (cc == c && nn * hw * c <= 65536) {
          box = DmaBox::contiguous(nn * hw * c);
        } else {
          box.dim[0] = {cc, 0, 0, 1, 1};
          box.dim[1] = {hw, 0, 0, c, cc};
          box.dim[2] = {nn, 0, 0, hw * c, hw * cc};
        }
        ib.load(rx.getOffset() + 4 * uint64_t(n0 * hw * c + c0), in, box, cls);
        // S [H*W][cc] += the images' maps: rows of the column sum are
        // images, columns the (pixel, channel) pairs.
        ib.vec(n0 == 0 ? VecFunct::ColSum : VecFunct::ColSumAcc, nn, hw * cc,
               View{tAddr, 0, 1}, View{in, hw * cc, 1});
      }
      ib.emit(poolInstruction(1, h, w, cc, p, tAddr, qAddr));
      // Samples R[c0 + j][q] = Q[q*cc + j] / N.
      ib.vec(VecFunct::MulImm, pp, cc, View{rAddr + c0 * pp, 1, pp},
             View{qAddr, cc, 1}, View{0, 0, 0}, float(1.0 / n));
    }
  } else {
    int64_t nb = std::max<int64_t>(1, std::min<int64_t>(n, budget / c));
    if (c > budget)
      return op->emitError("one row of ")
             << c << " features does not fit the scratchpad twice";
    for (int64_t n0 = 0; n0 < n; n0 += nb) {
      int64_t nn = std::min(nb, n - n0);
      int64_t in = fixed + (parity++ % 2) * budget;
      ib.load(rx.getOffset() + 4 * uint64_t(n0 * c), in,
              DmaBox::rows(nn, c, c, c), cls);
      ib.vec(n0 == 0 ? VecFunct::ColSum : VecFunct::ColSumAcc, nn, c,
             View{tAddr, 0, 1}, View{in, c, 1});
    }
    // R[f][q] = T[f] / N for every q.
    ib.vec(VecFunct::MulImm, pp, c, View{rAddr, 1, pp}, View{tAddr, 0, 1},
           View{0, 0, 0}, float(1.0 / n));
  }
  int64_t total = c * pp;
  if (reorg.getNormalize()) {
    // s = rsqrt(sum(R^2) / total + 1e-12); R *= s.
    int64_t cols = std::min<int64_t>(total, 65535);
    for (int64_t e0 = 0; e0 < total; e0 += cols) {
      int64_t ec = std::min(cols, total - e0);
      ib.vec(e0 == 0 ? VecFunct::RowSumSq : VecFunct::RowSumSqAcc, 1, ec,
             View{sAddr, 0, 0}, View{rAddr + e0, 0, 1});
    }
    ib.vec(VecFunct::MulImm, 1, 1, View{sAddr, 0, 1}, View{sAddr, 0, 1},
           View{0, 0, 0}, float(1.0 / double(total)));
    ib.vec(VecFunct::AddImm, 1, 1, View{sAddr, 0, 1}, View{sAddr, 0, 1},
           View{0, 0, 0}, 1e-12f);
    ib.vec(VecFunct::Rsqrt, 1, 1, View{sAddr, 0, 1}, View{sAddr, 0, 1});
    for (int64_t e0 = 0; e0 < total; e0 += cols) {
      int64_t ec = std::min(cols, total - e0);
      ib.vec(VecFunct::Mul, 1, ec, View{rAddr + e0, 0, 1},
             View{rAddr + e0, 0, 1}, View{sAddr, 0, 0});
    }
  }
  for (int64_t e0 = 0; e0 < total; e0 += 65536) {
    int64_t ec = std::min<int64_t>(65536, total - e0);
    ib.store(ry.getOffset() + 4 * uint64_t(e0), rAddr + e0,
             DmaBox::contiguous(ec), ctx.cls(y));
  }
  return success();
}

LogicalResult lowerExpandPrediction(Operation *op, LoweringContext &ctx) {
  // The update that applies it reads the rows itself (LowerOptimizer.cpp).
  if (fusedExpansion(op, ctx))
    return success();
  auto expand = cast<gp::ExpandPredictionOp>(op);
  Value rows = expand.getPrediction(), scale = expand.getScale(),
        y = expand.getResult();
  auto rt = cast<RankedTensorType>(rows.getType());
  auto yt = cast<RankedTensorType>(y.getType());
  if (!rt.getElementType().isF32())
    return op->emitError("only f32 predictions run on the accelerator");
  RegionAttr rr = ctx.region(rows), rs = ctx.region(scale),
             ry = ctx.region(y);
  if (!rr || !rs || !ry)
    return failure();
  if (!rowMajorEquivalent(rt, rr.getLayout()))
    return op->emitError("expected row-major predictor outputs");
  int64_t k = yt.getDimSize(0), width = rt.getDimSize(1);
  int64_t inner = yt.getNumElements() / std::max<int64_t>(k, 1);
  bool hwio = yt.getRank() == 4 &&
              ry.getLayout() == ArrayRef<int64_t>{2, 3, 1, 0};
  if (!hwio && !rowMajorEquivalent(yt, ry.getLayout()))
    return op->emitError("expected a row-major or [KH][KW][I][O] weight "
                         "gradient");
  InstBuilder &ib = ctx.ib;
  // The scale at 0, then two buffers of (rows in, result out).
  const int64_t sAddr = 0, base = 16;
  int64_t budget = (ctx.spadElems() - base) / 2;
  int64_t taps = hwio ? yt.getDimSize(2) * yt.getDimSize(3) : 1;
  int64_t ci = hwio ? yt.getDimSize(1) : inner;
  int64_t kb = std::min<int64_t>(k, budget / (2 * inner));
  if (hwio)
    kb = std::min<int64_t>(kb, 2047); // d_cs of the transposing pass
  if (kb < 1)
    return op->emitError("one predicted row of ")
           << inner << " elements does not fit the scratchpad four times";
  if (inner * taps > (1 << 19) || taps > 2047)
    return op->emitError("filter too large for the vector unit's strides");
  ib.load(rs.getOffset(), sAddr, DmaBox::contiguous(1), ctx.cls(scale));
  unsigned parity = 0;
  for (int64_t k0 = 0; k0 < k; k0 += kb) {
    int64_t kk = std::min(kb, k - k0);
    int64_t in = base + (parity++ % 2) * budget, out = in + kb * inner;
    ib.load(rr.getOffset() + 4 * uint64_t(k0 * width), in,
            DmaBox::rows(kk, inner, width, inner), ctx.cls(rows));
    if (!hwio) {
      ib.vec(VecFunct::Mul, kk, inner, View{out, inner, 1},
             View{in, inner, 1}, View{sAddr, 0, 0});
      ib.store(ry.getOffset() + 4 * uint64_t(k0 * inner), out,
               DmaBox::rows(kk, inner, inner, inner), ctx.cls(y));
      continue;
    }
    // in[k][i][tap] -> out[tap][i][k] (k of this block), times the scale.
    for (int64_t t = 0; t < taps; ++t)
      ib.vec(VecFunct::Mul, kk, ci, View{out + t * ci * kk, 1, kk},
             View{in + t, inner, taps}, View{sAddr, 0, 0});
    DmaBox box;
    box.dim[0] = {kk, 0, 0, 1, 1};
    box.dim[1] = {ci, 0, 0, k, kk};
    box.dim[2] = {taps, 0, 0, ci * k, ci * kk};
    ib.store(ry.getOffset() + 4 * uint64_t(k0), out, box, ctx.cls(y));
  }
  return success();
}

/// The inverse of expand_prediction without the scale: each output
/// channel's filter, flattened, then zeros up to the predictor's width.
LogicalResult lowerReorganizeGradient(Operation *op, LoweringContext &ctx) {
  auto reorg = cast<gp::ReorganizeGradientOp>(op);
  Value g = reorg.getGradient(), y = reorg.getResult();
  auto gt = cast<RankedTensorType>(g.getType());
  auto yt = cast<RankedTensorType>(y.getType());
  if (!gt.getElementType().isF32())
    return op->emitError("only f32 gradients are reorganised on the "
                         "accelerator");
  RegionAttr rg = ctx.region(g), ry = ctx.region(y);
  if (!rg || !ry)
    return failure();
  if (!rowMajorEquivalent(yt, ry.getLayout()))
    return op->emitError("expected row-major predictor targets");
  int64_t k = gt.getDimSize(0), width = yt.getDimSize(1);
  int64_t inner = gt.getNumElements() / std::max<int64_t>(k, 1);
  bool hwio = gt.getRank() == 4 &&
              rg.getLayout() == ArrayRef<int64_t>{2, 3, 1, 0};
  if (!hwio && !rowMajorEquivalent(gt, rg.getLayout()))
    return op->emitError("expected a row-major or [KH][KW][I][O] weight "
                         "gradient");
  int64_t taps = hwio ? gt.getDimSize(2) * gt.getDimSize(3) : 1;
  int64_t ci = hwio ? gt.getDimSize(1) : inner;
  int64_t budget = ctx.spadElems() / 2;
  int64_t kb = std::min<int64_t>(k, budget / (inner + width));
  if (hwio)
    kb = std::min<int64_t>(kb, 2047);
  if (kb < 1 || width > (1 << 19) || taps > 2047)
    return op->emitError("one filter of ")
           << inner << " elements does not fit the reorganisation's tiles";
  InstBuilder &ib = ctx.ib;
  unsigned parity = 0;
  for (int64_t k0 = 0; k0 < k; k0 += kb) {
    int64_t kk = std::min(kb, k - k0);
    int64_t in = (parity++ % 2) * budget, out = in + kb * inner;
    if (width > inner)
      ib.vec(isa::VecFunct::Fill, kk, width - inner,
             View{out + inner, width, 1}, View{0, 0, 0}, View{0, 0, 0}, 0.0f);
    if (!hwio) {
      ib.load(rg.getOffset() + 4 * uint64_t(k0 * inner), out,
              DmaBox::rows(kk, inner, inner, width), ctx.cls(g));
    } else {
      // [tap][i][k] of this block on chip, then out[k][i*taps + tap].
      DmaBox box;
      box.dim[0] = {kk, 0, 0, 1, 1};
      box.dim[1] = {ci, 0, 0, k, kk};
      box.dim[2] = {taps, 0, 0, ci * k, ci * kk};
      ib.load(rg.getOffset() + 4 * uint64_t(k0), in, box, ctx.cls(g));
      for (int64_t t = 0; t < taps; ++t)
        ib.vec(isa::VecFunct::Copy, kk, ci, View{out + t, width, taps},
               View{in + t * ci * kk, 1, kk});
    }
    ib.store(ry.getOffset() + 4 * uint64_t(k0 * width), out,
             DmaBox::rows(kk, width, width, width), ctx.cls(y));
  }
  return success();
}

} // namespace

void populateADAGPLowerings(LoweringRegistry &r) {
  r.add(gp::ReorganizeGradientOp::getOperationName(),
        lowerReorganizeGradient);
  r.add(gp::ReorganizeOp::getOperationName(), lowerReorganize);
  r.add(gp::ExpandPredictionOp::getOperationName(), lowerExpandPrediction);
}

} // namespace adagp::accel
