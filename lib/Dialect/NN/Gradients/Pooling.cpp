//===- Pooling.cpp - Gradients of pooling ---------------------------------===//

#include "GradientUtils.h"

using namespace mlir;
using namespace adagp::nn;
using namespace adagp::nn::gradients;

namespace {

LogicalResult maxPoolRule(MaxPool2DOp op, GradientContext &c) {
  c.set(0, MaxPool2DGradOp::create(
               c.b, c.loc, op.getInput().getType(), c.grad(), op.getInput(),
               op.getKernelAttr(), op.getStridesAttr(), op.getPadsAttr(),
               op.getDilationsAttr(), op.getCeilModeAttr()));
  return success();
}

LogicalResult avgPoolRule(AvgPool2DOp op, GradientContext &c) {
  c.set(0, AvgPool2DGradOp::create(c.b, c.loc, op.getInput().getType(),
                                   c.grad(), op.getKernelAttr(),
                                   op.getStridesAttr(), op.getPadsAttr(),
                                   op.getCeilModeAttr(),
                                   op.getCountIncludePadAttr()));
  return success();
}

LogicalResult globalAvgPoolRule(GlobalAvgPoolOp op, GradientContext &c) {
  auto in = op.getInput().getType();
  double count = in.getDimSize(2) * in.getDimSize(3);
  Value scaled = ScaleOp::create(c.b, c.loc, c.grad(),
                                 c.b.getF64FloatAttr(1.0 / count));
  c.set(0, BroadcastToOp::create(c.b, c.loc, in, scaled));
  return success();
}

} // namespace

void adagp::nn::gradients::registerPoolingRules(MLIRContext *ctx) {
  registerRule<MaxPool2DOp, maxPoolRule>(ctx);
  registerRule<AvgPool2DOp, avgPoolRule>(ctx);
  registerRule<GlobalAvgPoolOp, globalAvgPoolRule>(ctx);
}
