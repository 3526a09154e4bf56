//===- Reductions.cpp - Gradients of reductions and softmax ---------------===//

#include "GradientUtils.h"

using namespace mlir;
using namespace adagp::nn;
using namespace adagp::nn::gradients;

namespace {

/// `g`, the gradient of a reduction over `axes`, spread back over the
/// input's shape.
Value spread(GradientContext &c, Value g, RankedTensorType input,
             ArrayRef<int64_t> axes) {
  SmallVector<int64_t> kept(input.getShape());
  for (int64_t a : axes)
    kept[a] = 1;
  Value k = reshape(c.b, c.loc, g,
                    RankedTensorType::get(kept, input.getElementType()));
  return BroadcastToOp::create(c.b, c.loc, input, k);
}

LogicalResult reduceSumRule(ReduceSumOp op, GradientContext &c) {
  c.set(0, spread(c, c.grad(), op.getInput().getType(), op.getAxes()));
  return success();
}

LogicalResult reduceMeanRule(ReduceMeanOp op, GradientContext &c) {
  auto in = op.getInput().getType();
  double count = 1;
  for (int64_t a : op.getAxes())
    count *= in.getDimSize(a);
  Value g = ScaleOp::create(c.b, c.loc, c.grad(),
                            c.b.getF64FloatAttr(1.0 / count));
  c.set(0, spread(c, g, in, op.getAxes()));
  return success();
}

LogicalResult reduceMaxRule(ReduceMaxOp op, GradientContext &c) {
  // The gradient goes to every position that equals the maximum.
  auto in = op.getInput().getType();
  Value g = spread(c, c.grad(), in, op.getAxes());
  Value y = spread(c, op.getResult(), in, op.getAxes());
  Value diff = SubOp::create(c.b, c.loc, op.getInput(), y);
  c.set(0, ClipGradOp::create(c.b, c.loc, g, diff, c.b.getF64FloatAttr(0.0),
                              c.b.getF64FloatAttr(0.0)));
  return success();
}

Value sumAlong(GradientContext &c, Value v, int64_t axis) {
  return ReduceSumOp::create(c.b, c.loc, v, c.b.getDenseI64ArrayAttr({axis}),
                             c.b.getBoolAttr(true));
}

LogicalResult softmaxRule(SoftmaxOp op, GradientContext &c) {
  // dx = y * (g - sum(g * y))
  Value y = op.getResult();
  int64_t axis = static_cast<int64_t>(op.getAxis());
  Value gy = MulOp::create(c.b, c.loc, c.grad(), y);
  Value inner = SubOp::create(c.b, c.loc, c.grad(), sumAlong(c, gy, axis));
  c.set(0, MulOp::create(c.b, c.loc, y, inner));
  return success();
}

LogicalResult logSoftmaxRule(LogSoftmaxOp op, GradientContext &c) {
  // dx = g - exp(y) * sum(g)
  int64_t axis = static_cast<int64_t>(op.getAxis());
  Value p = ExpOp::create(c.b, c.loc, op.getResult());
  Value t = MulOp::create(c.b, c.loc, p, sumAlong(c, c.grad(), axis));
  c.set(0, SubOp::create(c.b, c.loc, c.grad(), t));
  return success();
}

} // namespace

void adagp::nn::gradients::registerReductionRules(MLIRContext *ctx) {
  registerRule<ReduceSumOp, reduceSumRule>(ctx);
  registerRule<ReduceMeanOp, reduceMeanRule>(ctx);
  registerRule<ReduceMaxOp, reduceMaxRule>(ctx);
  registerRule<SoftmaxOp, softmaxRule>(ctx);
  registerRule<LogSoftmaxOp, logSoftmaxRule>(ctx);
}
