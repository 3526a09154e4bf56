//===- LowerLoss.cpp - Softmax cross-entropy on the xent instruction ------===//
//
// One `xent` computes the mean loss, the gradient (scaled by the incoming
// gradient over the batch) and the hits. A loss op and its gradient op on
// the same logits and labels become a single instruction.
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

} // namespace

void populateLossLowerings(LoweringRegistry &r) {
  r.add(train::SoftmaxCrossEntropyOp::getOperationName(), lowerLoss);
  r.add(train::SoftmaxCrossEntropyGradOp::getOperationName(), lowerLossGrad);
}

} // namespace adagp::accel
