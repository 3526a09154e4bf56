//===- Shape.cpp - Gradients of shape operations --------------------------===//

#include "GradientUtils.h"

using namespace mlir;
using namespace adagp::nn;
using namespace adagp::nn::gradients;

namespace {

template <typename OpTy>
LogicalResult reshapeRule(OpTy op, GradientContext &c) {
  c.set(0, reshape(c.b, c.loc, c.grad(), typeOf(op.getInput())));
  return success();
}

LogicalResult transposeRule(TransposeOp op, GradientContext &c) {
  ArrayRef<int64_t> perm = op.getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  c.set(0, TransposeOp::create(c.b, c.loc, c.grad(),
                               c.b.getDenseI64ArrayAttr(inverse)));
  return success();
}

Value sliceAlong(GradientContext &c, Value v, int64_t axis, int64_t start,
                 int64_t size) {
  auto t = typeOf(v);
  SmallVector<int64_t> starts(t.getRank(), 0), sizes(t.getShape()),
      steps(t.getRank(), 1);
  starts[axis] = start;
  sizes[axis] = size;
  return SliceOp::create(c.b, c.loc, v, c.b.getDenseI64ArrayAttr(starts),
                         c.b.getDenseI64ArrayAttr(sizes),
                         c.b.getDenseI64ArrayAttr(steps));
}

LogicalResult concatRule(ConcatOp op, GradientContext &c) {
  int64_t axis = static_cast<int64_t>(op.getAxis());
  int64_t offset = 0;
  for (auto [i, input] : llvm::enumerate(op.getInputs())) {
    int64_t size = typeOf(input).getDimSize(axis);
    if (c.need(i))
      c.set(i, sliceAlong(c, c.grad(), axis, offset, size));
    offset += size;
  }
  return success();
}

LogicalResult splitRule(SplitOp op, GradientContext &c) {
  SmallVector<Value> pieces;
  for (auto [i, result] : llvm::enumerate(op.getResults()))
    pieces.push_back(c.grad(i) ? c.grad(i)
                               : zeros(c.b, c.loc, typeOf(result)));
  c.set(0, pieces.size() == 1
               ? pieces[0]
               : Value(ConcatOp::create(c.b, c.loc, pieces, op.getAxisAttr())));
  return success();
}

LogicalResult sliceRule(SliceOp op, GradientContext &c) {
  auto in = typeOf(op.getInput());
  int64_t rank = in.getRank();
  SmallVector<int64_t> pads(2 * rank, 0);
  for (int64_t i = 0; i < rank; ++i) {
    if (op.getSteps()[i] != 1 && op.getSizes()[i] > 1)
      return op.emitError("the gradient of a strided slice (step ")
             << op.getSteps()[i] << ") is not supported";
    pads[i] = op.getStarts()[i];
    pads[i + rank] = in.getDimSize(i) - op.getStarts()[i] - op.getSizes()[i];
  }
  c.set(0, PadOp::create(c.b, c.loc, c.grad(), c.b.getDenseI64ArrayAttr(pads),
                         c.b.getF64FloatAttr(0.0)));
  return success();
}

LogicalResult padRule(PadOp op, GradientContext &c) {
  auto in = typeOf(op.getInput());
  int64_t rank = in.getRank();
  SmallVector<int64_t> starts(op.getPads().take_front(rank)),
      sizes(in.getShape()), steps(rank, 1);
  c.set(0, SliceOp::create(c.b, c.loc, c.grad(),
                           c.b.getDenseI64ArrayAttr(starts),
                           c.b.getDenseI64ArrayAttr(sizes),
                           c.b.getDenseI64ArrayAttr(steps)));
  return success();
}

} // namespace

void adagp::nn::gradients::registerShapeRules(MLIRContext *ctx) {
  registerRule<ReshapeOp, reshapeRule<ReshapeOp>>(ctx);
  registerRule<FlattenOp, reshapeRule<FlattenOp>>(ctx);
  registerRule<TransposeOp, transposeRule>(ctx);
  registerRule<ConcatOp, concatRule>(ctx);
  registerRule<SplitOp, splitRule>(ctx);
  registerRule<SliceOp, sliceRule>(ctx);
  registerRule<PadOp, padRule>(ctx);
}
