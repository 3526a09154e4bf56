//===- Normalization.cpp - Gradients of batch and layer normalisation -----===//

#include "GradientUtils.h"

using namespace mlir;
using namespace adagp::nn;
using namespace adagp::nn::gradients;

namespace {

LogicalResult batchNormTrainRule(BatchNormTrainOp op, GradientContext &c) {
  // The running statistics are state, not part of the differentiated
  // function; the batch statistics are for the backward pass only.
  for (unsigned i = 3; i < 5; ++i)
    if (c.grad(i))
      return op.emitError("the batch statistics of a training-mode batch "
                          "norm cannot be differentiated");
  if (!c.grad(0))
    return success();
  auto grads = BatchNormGradOp::create(
      c.b, c.loc, c.grad(0), op.getInput(), op.getScale(), op.getBatchMean(),
      op.getBatchVar(), op.getEpsilonAttr());
  c.set(0, grads.getInputGrad());
  c.set(1, grads.getScaleGrad());
  c.set(2, grads.getBiasGrad());
  return success();
}

/// A per-channel vector [C] shaped to broadcast over dimension 1.
Value perChannel(GradientContext &c, Value v, int64_t rank) {
  auto t = typeOf(v);
  SmallVector<int64_t> shape = {t.getDimSize(0)};
  shape.append(rank - 2, 1);
  return reshape(c.b, c.loc, v,
                 RankedTensorType::get(shape, t.getElementType()));
}

LogicalResult batchNormInferenceRule(BatchNormInferenceOp op,
                                     GradientContext &c) {
  // y = (x - mean) * invstd * scale + bias with fixed statistics.
  Value g = c.grad();
  auto xType = op.getInput().getType();
  int64_t rank = xType.getRank();
  Type element = xType.getElementType();
  Value eps = scalar(c.b, c.loc, element, op.getEpsilon().convertToDouble());
  Value invstd = ReciprocalOp::create(
      c.b, c.loc,
      SqrtOp::create(c.b, c.loc, AddOp::create(c.b, c.loc, op.getVar(), eps)));
  SmallVector<int64_t> axes = {0};
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  auto sumOver = [&](Value v) -> Value {
    return ReduceSumOp::create(c.b, c.loc, v, c.b.getDenseI64ArrayAttr(axes),
                               c.b.getBoolAttr(false));
  };
  if (c.need(0)) {
    Value k = MulOp::create(c.b, c.loc, op.getScale(), invstd);
    c.set(0, MulOp::create(c.b, c.loc, g, perChannel(c, k, rank)));
  }
  if (c.need(1)) {
    Value centered =
        SubOp::create(c.b, c.loc, op.getInput(), perChannel(c, op.getMean(), rank));
    Value xhat = MulOp::create(c.b, c.loc, centered, perChannel(c, invstd, rank));
    c.set(1, sumOver(MulOp::create(c.b, c.loc, g, xhat)));
  }
  if (c.need(2))
    c.set(2, sumOver(g));
  return success();
}

LogicalResult layerNormRule(LayerNormOp op, GradientContext &c) {
  for (unsigned i = 1; i < 3; ++i)
    if (c.grad(i))
      return op.emitError("the statistics of a layer norm cannot be "
                          "differentiated");
  if (!c.grad(0))
    return success();
  auto grads = LayerNormGradOp::create(
      c.b, c.loc, c.grad(0), op.getInput(), op.getScale(), op.getMean(),
      op.getInvStdDev(), op.getAxisAttr());
  c.set(0, grads.getInputGrad());
  c.set(1, grads.getScaleGrad());
  if (op.getBias())
    c.set(2, grads.getBiasGrad());
  return success();
}

} // namespace

void adagp::nn::gradients::registerNormalizationRules(MLIRContext *ctx) {
  registerRule<BatchNormTrainOp, batchNormTrainRule>(ctx);
  registerRule<BatchNormInferenceOp, batchNormInferenceRule>(ctx);
  registerRule<LayerNormOp, layerNormRule>(ctx);
}
