//===- GradientUtils.cpp - Writing gradient rules -------------------------===//

#include "GradientUtils.h"

using namespace mlir;

namespace adagp::nn::gradients {

Value zeros(OpBuilder &b, Location loc, RankedTensorType type) {
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
}

Value scalar(OpBuilder &b, Location loc, Type element, double value) {
  auto type = RankedTensorType::get({}, element);
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getFloatAttr(element, value)));
}

Value reshape(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  if (v.getType() == type)
    return v;
  return ReshapeOp::create(b, loc, type, v);
}

Value unbroadcast(OpBuilder &b, Location loc, Value grad,
                  RankedTensorType type) {
  auto gradType = typeOf(grad);
  if (gradType == type)
    return grad;
  // Leading dimensions the operand lacks, and its size-1 dimensions that
  // were stretched, are summed.
  int64_t offset = gradType.getRank() - type.getRank();
  SmallVector<int64_t> axes;
  for (int64_t i = 0; i < gradType.getRank(); ++i) {
    if (i < offset) {
      axes.push_back(i);
      continue;
    }
    if (type.getDimSize(i - offset) == 1 && gradType.getDimSize(i) != 1)
      axes.push_back(i);
  }
  Value summed = grad;
  if (!axes.empty())
    summed = ReduceSumOp::create(b, loc, grad, b.getDenseI64ArrayAttr(axes),
                                 b.getBoolAttr(false));
  return reshape(b, loc, summed, type);
}

} // namespace adagp::nn::gradients

void adagp::nn::registerGradientInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, NNDialect *) {
    gradients::registerElementwiseRules(ctx);
    gradients::registerLinearRules(ctx);
    gradients::registerPoolingRules(ctx);
    gradients::registerNormalizationRules(ctx);
    gradients::registerShapeRules(ctx);
    gradients::registerReductionRules(ctx);
  });
}
