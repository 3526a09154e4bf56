//===- LowerLoss.cpp - Losses: cross-entropy on xent, squared error -------===//
//
// One `xent` computes the mean loss, the gradient (scaled by the incoming
// gradient over the batch) and the hits. A loss op and its gradient op on
// the same logits and labels become a single instruction. The squared
// error (ADA-GP's predictor loss) runs on the vector unit.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/Train/TrainDialect.h"

using namespace mlir;

namespace adagp::accel {
namespace {

/// The gradient op that pairs with a loss (same logits and labels, constant
/// incoming gradient), if any.
train::SoftmaxCrossEntropyGradOp findGradOp(train::SoftmaxCrossEntropyOp loss) {
  for (Operation *user : loss.getLogits().getUsers())
    if (auto g = dyn_cast<train::SoftmaxCrossEntropyGradOp>(user))
      if (g.getLabels() == loss.getLabels() && constantScalar(g.getGrad()))
        return g;
  return {};
}

LogicalResult emitXent(Operation *op, LoweringContext &ctx, Value logits,
                       Value labels, Value lossOut, Value gradOut,
                       double scale) {
  auto t = cast<RankedTensorType>(logits.getType());
  int64_t b = t.getDimSize(0), k = t.getDimSize(1);
  if (b > 65536 || k > 65536)
    return op->emitError("cross-entropy over more than 65536 rows or classes");
  int64_t logitsChip = 0, labelsChip = b * k, gradChip = labelsChip + b,
          lossChip = gradChip + b * k;
  if (lossChip + 2 > ctx.spadElems())
    return op->emitError("logits of ")
           << b << " x " << k << " do not fit the scratchpad";
  InstBuilder &ib = ctx.ib;
  ib.load(ctx.addr(logits), logitsChip, DmaBox::rows(b, k, k, k),
          ctx.cls(logits));
  ib.load(ctx.addr(labels), labelsChip, DmaBox::contiguous(b),
          ctx.cls(labels));
  isa::Instruction x = isa::makeInstruction(isa::Opcode::Xent);
  x.set(isa::xent::Batch, b)
      .set(isa::xent::Classes, k)
      .set(isa::xent::Logits, logitsChip)
      .set(isa::xent::LogitsRowStride, k)
      .set(isa::xent::Labels, labelsChip)
      .set(isa::xent::Grad, gradChip)
      .set(isa::xent::GradRowStride, k)
      .set(isa::xent::Loss, lossChip)
      .setF32(isa::xent::Scale, float(scale));
  ib.emit(x);
  if (gradOut)
    ib.store(ctx.addr(gradOut), gradChip, DmaBox::rows(b, k, k, k),
             ctx.cls(gradOut));
  if (lossOut)
    ib.store(ctx.addr(lossOut), lossChip, DmaBox::contiguous(1),
             ctx.cls(lossOut));
  return success();
}

LogicalResult lowerLoss(Operation *op, LoweringContext &ctx) {
  auto loss = cast<train::SoftmaxCrossEntropyOp>(op);
  Value gradOut;
  double scale = 1.0;
  if (auto g = findGradOp(loss)) {
    gradOut = g.getResult();
    scale = *constantScalar(g.getGrad()) /
            double(loss.getLogits().getType().getDimSize(0));
    ctx.done.insert(g);
  }
  return emitXent(op, ctx, loss.getLogits(), loss.getLabels(),
                  loss.getLoss(), gradOut, scale);
}

LogicalResult lowerLossGrad(Operation *op, LoweringContext &ctx) {
  auto g = cast<train::SoftmaxCrossEntropyGradOp>(op);
  std::optional<double> seed = constantScalar(g.getGrad());
  if (!seed)
    return op->emitError("the incoming gradient of the loss must be a "
                         "constant on the accelerator");
  return emitXent(op, ctx, g.getLogits(), g.getLabels(), {}, g.getResult(),
                  *seed / double(g.getLogits().getType().getDimSize(0)));
}

/// The mean squared error and its gradient stream the prediction and the
/// target (stored alike) through the scratchpad in chunks: `sub`, then
/// `rowsumsq_acc` into one element (the loss) or `mul` by the incoming
/// gradient and `muli 2/numel` (the gradient).
LogicalResult lowerMSE(Operation *op, LoweringContext &ctx, Value p, Value t,
                       Value grad, Value out) {
  RegionAttr rp = ctx.region(p), rt = ctx.region(t), ro = ctx.region(out);
  RegionAttr rg = grad ? ctx.region(grad) : RegionAttr();
  if (!rp || !rt || !ro || (grad && !rg))
    return failure();
  if (rp.getLayout() != rt.getLayout() ||
      (grad && rp.getLayout() != ro.getLayout()))
    return op->emitError("prediction, target and gradient of a squared "
                         "error must be stored alike on the accelerator");
  int64_t n = numElements(p.getType());
  InstBuilder &ib = ctx.ib;
  // The scalar (sum or incoming gradient) at 0, then two buffers of
  // (prediction, target).
  const int64_t sAddr = 0, base = 16;
  int64_t chunk =
      std::min<int64_t>({n, (ctx.spadElems() - base) / 4, 65536});
  if (chunk < 1)
    return op->emitError("the scratchpad is too small for a squared error");
  if (grad)
    ib.load(rg.getOffset(), sAddr, DmaBox::contiguous(1), ctx.cls(grad));
  unsigned parity = 0;
  for (int64_t e0 = 0; e0 < n; e0 += chunk) {
    int64_t ec = std::min(chunk, n - e0);
    int64_t pa = base + (parity++ % 2) * 2 * chunk, ta = pa + chunk;
    ib.load(rp.getOffset() + 4 * uint64_t(e0), pa, DmaBox::contiguous(ec),
            ctx.cls(p));
    ib.load(rt.getOffset() + 4 * uint64_t(e0), ta, DmaBox::contiguous(ec),
            ctx.cls(t));
    ib.vec(isa::VecFunct::Sub, 1, ec, View{pa, 0, 1}, View{pa, 0, 1},
           View{ta, 0, 1});
    if (!grad) {
      ib.vec(e0 == 0 ? isa::VecFunct::RowSumSq : isa::VecFunct::RowSumSqAcc,
             1, ec, View{sAddr, 0, 0}, View{pa, 0, 1});
      continue;
    }
    ib.vec(isa::VecFunct::Mul, 1, ec, View{pa, 0, 1}, View{pa, 0, 1},
           View{sAddr, 0, 0});
    ib.vec(isa::VecFunct::MulImm, 1, ec, View{pa, 0, 1}, View{pa, 0, 1},
           View{0, 0, 0}, float(2.0 / double(n)));
    ib.store(ro.getOffset() + 4 * uint64_t(e0), pa, DmaBox::contiguous(ec),
             ctx.cls(out));
  }
  if (!grad) {
    ib.vec(isa::VecFunct::MulImm, 1, 1, View{sAddr, 0, 1}, View{sAddr, 0, 1},
           View{0, 0, 0}, float(1.0 / double(n)));
    ib.store(ro.getOffset(), sAddr, DmaBox::contiguous(1), ctx.cls(out));
  }
  return success();
}

} // namespace

void populateLossLowerings(LoweringRegistry &r) {
  r.add(train::SoftmaxCrossEntropyOp::getOperationName(), lowerLoss);
  r.add(train::SoftmaxCrossEntropyGradOp::getOperationName(), lowerLossGrad);
  r.add(train::MSELossOp::getOperationName(),
        [](Operation *op, LoweringContext &ctx) {
          auto m = cast<train::MSELossOp>(op);
          return lowerMSE(op, ctx, m.getPrediction(), m.getTarget(), Value(),
                          m.getLoss());
        });
  r.add(train::MSELossGradOp::getOperationName(),
        [](Operation *op, LoweringContext &ctx) {
          auto m = cast<train::MSELossGradOp>(op);
          return lowerMSE(op, ctx, m.getPrediction(), m.getTarget(),
                          m.getGrad(), m.getResult());
        });
}

} // namespace adagp::accel
