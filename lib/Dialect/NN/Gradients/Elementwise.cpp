//===- Elementwise.cpp - Gradients of elementwise operations --------------===//

#include "GradientUtils.h"

#include <cmath>

using namespace mlir;
using namespace adagp::nn;
using namespace adagp::nn::gradients;

namespace {

Type elementOf(Value v) { return typeOf(v).getElementType(); }

Value mul(GradientContext &c, Value x, Value y) {
  return MulOp::create(c.b, c.loc, x, y);
}
Value div(GradientContext &c, Value x, Value y) {
  return DivOp::create(c.b, c.loc, x, y);
}
Value sub(GradientContext &c, Value x, Value y) {
  return SubOp::create(c.b, c.loc, x, y);
}
Value neg(GradientContext &c, Value x) { return NegOp::create(c.b, c.loc, x); }
Value scale(GradientContext &c, Value x, double f) {
  return ScaleOp::create(c.b, c.loc, x, c.b.getF64FloatAttr(f));
}

/// Sets the gradient of a broadcast operand from the result-shaped one.
void setBroadcast(GradientContext &c, Operation *op, unsigned i, Value g) {
  if (c.need(i))
    c.set(i, unbroadcast(c.b, c.loc, g, typeOf(op->getOperand(i))));
}

LogicalResult addRule(AddOp op, GradientContext &c) {
  setBroadcast(c, op, 0, c.grad());
  setBroadcast(c, op, 1, c.grad());
  return success();
}

LogicalResult subRule(SubOp op, GradientContext &c) {
  setBroadcast(c, op, 0, c.grad());
  if (c.need(1))
    setBroadcast(c, op, 1, neg(c, c.grad()));
  return success();
}

LogicalResult mulRule(MulOp op, GradientContext &c) {
  if (c.need(0))
    setBroadcast(c, op, 0, mul(c, c.grad(), op.getRhs()));
  if (c.need(1))
    setBroadcast(c, op, 1, mul(c, c.grad(), op.getLhs()));
  return success();
}

LogicalResult divRule(DivOp op, GradientContext &c) {
  // d(a/b) = g/b da - g a/b^2 db = g/b da - g y/b db
  if (c.need(0))
    setBroadcast(c, op, 0, div(c, c.grad(), op.getRhs()));
  if (c.need(1))
    setBroadcast(c, op, 1,
                 neg(c, div(c, mul(c, c.grad(), op.getResult()), op.getRhs())));
  return success();
}

LogicalResult powRule(PowOp op, GradientContext &c) {
  // d(a^b) = b a^(b-1) da + a^b log(a) db
  Value a = op.getLhs(), bv = op.getRhs();
  if (c.need(0)) {
    Value bm1 = SubOp::create(c.b, c.loc, bv,
                              scalar(c.b, c.loc, elementOf(bv), 1.0));
    Value d = mul(c, bv, PowOp::create(c.b, c.loc, a, bm1));
    setBroadcast(c, op, 0, mul(c, c.grad(), d));
  }
  if (c.need(1)) {
    Value d = mul(c, op.getResult(), LogOp::create(c.b, c.loc, a));
    setBroadcast(c, op, 1, mul(c, c.grad(), d));
  }
  return success();
}

/// max/min: the gradient goes to the operand that was selected; on ties,
/// to the left one.
template <typename OpTy>
LogicalResult extremumRule(OpTy op, GradientContext &c) {
  // The left operand was selected where y - lhs == 0: clip_grad over
  // [0, 0] passes the gradient exactly there.
  Value y = op.getResult();
  Value diff = sub(c, y, op.getLhs());
  Value toLhs = ClipGradOp::create(c.b, c.loc, c.grad(), diff,
                                   c.b.getF64FloatAttr(0.0),
                                   c.b.getF64FloatAttr(0.0));
  setBroadcast(c, op, 0, toLhs);
  setBroadcast(c, op, 1, sub(c, c.grad(), toLhs));
  return success();
}

LogicalResult broadcastRule(BroadcastToOp op, GradientContext &c) {
  setBroadcast(c, op, 0, c.grad());
  return success();
}

LogicalResult reluRule(ReluOp op, GradientContext &c) {
  // The mask from the output (y > 0 exactly where x > 0): then the input
  // is not kept for the backward pass, and the product that computes it
  // can apply the ReLU in its epilogue (the accelerator stores x never).
  c.set(0, ReluGradOp::create(c.b, c.loc, c.grad(), op.getResult()));
  return success();
}

LogicalResult leakyReluRule(LeakyReluOp op, GradientContext &c) {
  c.set(0, LeakyReluGradOp::create(c.b, c.loc, c.grad(), op.getInput(),
                                   op.getAlphaAttr()));
  return success();
}

LogicalResult clipRule(ClipOp op, GradientContext &c) {
  c.set(0, ClipGradOp::create(c.b, c.loc, c.grad(), op.getInput(),
                              op.getMinAttr(), op.getMaxAttr()));
  return success();
}

LogicalResult hardSigmoidRule(HardSigmoidOp op, GradientContext &c) {
  c.set(0, HardSigmoidGradOp::create(c.b, c.loc, c.grad(), op.getInput(),
                                     op.getAlphaAttr(), op.getBetaAttr()));
  return success();
}

LogicalResult hardSwishRule(HardSwishOp op, GradientContext &c) {
  c.set(0, HardSwishGradOp::create(c.b, c.loc, c.grad(), op.getInput()));
  return success();
}

LogicalResult sigmoidRule(SigmoidOp op, GradientContext &c) {
  c.set(0, SigmoidGradOp::create(c.b, c.loc, c.grad(), op.getResult()));
  return success();
}

LogicalResult tanhRule(TanhOp op, GradientContext &c) {
  c.set(0, TanhGradOp::create(c.b, c.loc, c.grad(), op.getResult()));
  return success();
}

LogicalResult expRule(ExpOp op, GradientContext &c) {
  c.set(0, mul(c, c.grad(), op.getResult()));
  return success();
}

LogicalResult logRule(LogOp op, GradientContext &c) {
  c.set(0, div(c, c.grad(), op.getInput()));
  return success();
}

LogicalResult sqrtRule(SqrtOp op, GradientContext &c) {
  c.set(0, scale(c, div(c, c.grad(), op.getResult()), 0.5));
  return success();
}

LogicalResult erfRule(ErfOp op, GradientContext &c) {
  // erf'(x) = 2 / sqrt(pi) * exp(-x^2)
  Value x = op.getInput();
  Value e = ExpOp::create(c.b, c.loc, neg(c, mul(c, x, x)));
  c.set(0, mul(c, c.grad(), scale(c, e, 2.0 / std::sqrt(M_PI))));
  return success();
}

LogicalResult negRule(NegOp, GradientContext &c) {
  c.set(0, neg(c, c.grad()));
  return success();
}

LogicalResult absRule(AbsOp op, GradientContext &c) {
  // sign(x) * g, with sign(0) = 0: leaky_relu_grad(g, x) with alpha -1
  // gives g for x > 0 and -g otherwise; zero at 0 needs the clip mask.
  Value signed_ = LeakyReluGradOp::create(c.b, c.loc, c.grad(), op.getInput(),
                                          c.b.getF64FloatAttr(-1.0));
  Value atZero = ClipGradOp::create(c.b, c.loc, signed_, op.getInput(),
                                    c.b.getF64FloatAttr(0.0),
                                    c.b.getF64FloatAttr(0.0));
  c.set(0, sub(c, signed_, atZero));
  return success();
}

LogicalResult reciprocalRule(ReciprocalOp op, GradientContext &c) {
  Value y = op.getResult();
  c.set(0, neg(c, mul(c, c.grad(), mul(c, y, y))));
  return success();
}

LogicalResult scaleRule(ScaleOp op, GradientContext &c) {
  c.set(0, scale(c, c.grad(), op.getFactor().convertToDouble()));
  return success();
}

LogicalResult dropoutRule(DropoutOp op, GradientContext &c) {
  // The same mask (a function of seed, key and position) and scaling.
  c.set(0, DropoutOp::create(c.b, c.loc, c.grad(), op.getKey(),
                             op.getRatioAttr(), op.getSeedAttr()));
  return success();
}

} // namespace

void adagp::nn::gradients::registerElementwiseRules(MLIRContext *ctx) {
  registerRule<AddOp, addRule>(ctx);
  registerRule<SubOp, subRule>(ctx);
  registerRule<MulOp, mulRule>(ctx);
  registerRule<DivOp, divRule>(ctx);
  registerRule<PowOp, powRule>(ctx);
  registerRule<MaxOp, extremumRule<MaxOp>>(ctx);
  registerRule<MinOp, extremumRule<MinOp>>(ctx);
  registerRule<BroadcastToOp, broadcastRule>(ctx);
  registerRule<ReluOp, reluRule>(ctx);
  registerRule<LeakyReluOp, leakyReluRule>(ctx);
  registerRule<ClipOp, clipRule>(ctx);
  registerRule<HardSigmoidOp, hardSigmoidRule>(ctx);
  registerRule<HardSwishOp, hardSwishRule>(ctx);
  registerRule<SigmoidOp, sigmoidRule>(ctx);
  registerRule<TanhOp, tanhRule>(ctx);
  registerRule<ExpOp, expRule>(ctx);
  registerRule<LogOp, logRule>(ctx);
  registerRule<SqrtOp, sqrtRule>(ctx);
  registerRule<ErfOp, erfRule>(ctx);
  registerRule<NegOp, negRule>(ctx);
  registerRule<AbsOp, absRule>(ctx);
  registerRule<ReciprocalOp, reciprocalRule>(ctx);
  registerRule<ScaleOp, scaleRule>(ctx);
  registerRule<DropoutOp, dropoutRule>(ctx);
}
