//===- Linear.cpp - Gradients of convolutions and matrix products ---------===//

#include "GradientUtils.h"

using namespace mlir;
using namespace adagp::nn;
using namespace adagp::nn::gradients;

namespace {

LogicalResult convRule(Conv2DOp op, GradientContext &c) {
  Value g = c.grad();
  if (c.need(0))
    c.set(0, Conv2DInputGradOp::create(
                 c.b, c.loc, op.getInput().getType(), g, op.getFilter(),
                 op.getStridesAttr(), op.getPadsAttr(), op.getDilationsAttr(),
                 op.getGroupsAttr()));
  if (c.need(1))
    c.set(1, Conv2DFilterGradOp::create(
                 c.b, c.loc, op.getFilter().getType(), g, op.getInput(),
                 op.getStridesAttr(), op.getPadsAttr(), op.getDilationsAttr(),
                 op.getGroupsAttr()));
  if (op.getBias() && c.need(2)) {
    Value sum = ReduceSumOp::create(c.b, c.loc, g,
                                    c.b.getDenseI64ArrayAttr({0, 2, 3}),
                                    c.b.getBoolAttr(false));
    c.set(2, sum);
  }
  return success();
}

/// y = alpha op(A) op(B) + beta C, op = optional transpose:
///   dop(A) = alpha g op(B)^T,  dop(B) = alpha op(A)^T g,  dC = beta g.
LogicalResult gemmRule(GemmOp op, GradientContext &c) {
  Value g = c.grad();
  bool ta = op.getTransA(), tb = op.getTransB();
  auto alpha = op.getAlphaAttr();
  auto one = c.b.getF64FloatAttr(1.0);
  auto flag = [&](bool v) { return c.b.getBoolAttr(v); };
  if (c.need(0)) {
    Value da = ta ? GemmOp::create(c.b, c.loc, op.getB(), g, Value(), alpha,
                                   one, flag(tb), flag(true))
                  : GemmOp::create(c.b, c.loc, g, op.getB(), Value(), alpha,
                                   one, flag(false), flag(!tb));
    c.set(0, da);
  }
  if (c.need(1)) {
    Value db = tb ? GemmOp::create(c.b, c.loc, g, op.getA(), Value(), alpha,
                                   one, flag(true), flag(ta))
                  : GemmOp::create(c.b, c.loc, op.getA(), g, Value(), alpha,
                                   one, flag(!ta), flag(false));
    c.set(1, db);
  }
  if (op.getC() && c.need(2)) {
    Value dc = g;
    double beta = op.getBeta().convertToDouble();
    if (beta != 1.0)
      dc = ScaleOp::create(c.b, c.loc, dc, op.getBetaAttr());
    c.set(2, unbroadcast(c.b, c.loc, dc, typeOf(op.getC())));
  }
  return success();
}

/// Swaps the last two dimensions.
Value transposeLast(GradientContext &c, Value v) {
  int64_t rank = typeOf(v).getRank();
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i)
    perm.push_back(i);
  std::swap(perm[rank - 1], perm[rank - 2]);
  return TransposeOp::create(c.b, c.loc, v, c.b.getDenseI64ArrayAttr(perm));
}

/// Y = A B (batched, broadcasting): dA = g B^T and dB = A^T g, summed over
/// the batch dimensions the operand was broadcast along.
LogicalResult matmulRule(MatMulOp op, GradientContext &c) {
  Value g = c.grad();
  if (c.need(0)) {
    Value da = MatMulOp::create(c.b, c.loc, g, transposeLast(c, op.getRhs()));
    c.set(0, unbroadcast(c.b, c.loc, da, typeOf(op.getLhs())));
  }
  if (c.need(1)) {
    Value db = MatMulOp::create(c.b, c.loc, transposeLast(c, op.getLhs()), g);
    c.set(1, unbroadcast(c.b, c.loc, db, typeOf(op.getRhs())));
  }
  return success();
}

} // namespace

void adagp::nn::gradients::registerLinearRules(MLIRContext *ctx) {
  registerRule<Conv2DOp, convRule>(ctx);
  registerRule<GemmOp, gemmRule>(ctx);
  registerRule<MatMulOp, matmulRule>(ctx);
}
