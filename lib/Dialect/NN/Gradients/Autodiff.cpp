//===- Autodiff.cpp - Reverse-mode differentiation ------------------------===//

#include "adagp/Dialect/NN/Autodiff.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

FailureOr<SmallVector<Value>>
adagp::nn::differentiate(OpBuilder &builder, Value loss, ArrayRef<Value> wrt) {
  Operation *lossOp = loss.getDefiningOp();
  auto lossType = dyn_cast<RankedTensorType>(loss.getType());
  if (!lossOp || !lossType || lossType.getRank() != 0)
    return emitError(loss.getLoc(), "the loss must be a scalar tensor "
                                    "computed in the function");
  Block *block = lossOp->getBlock();

  // Operations up to the loss, in order.
  SmallVector<Operation *> ops;
  for (Operation &op : *block) {
    ops.push_back(&op);
    if (&op == lossOp)
      break;
  }

  // Forward: values that depend on `wrt`.
  llvm::DenseSet<Value> active(wrt.begin(), wrt.end());
  for (Operation *op : ops)
    if (llvm::any_of(op->getOperands(),
                     [&](Value v) { return active.contains(v); }))
      for (Value r : op->getResults())
        active.insert(r);
  // Backward: values the loss depends on.
  llvm::DenseSet<Value> useful = {loss};
  for (Operation *op : llvm::reverse(ops))
    if (llvm::any_of(op->getResults(),
                     [&](Value v) { return useful.contains(v); }))
      for (Value v : op->getOperands())
        useful.insert(v);

  llvm::DenseMap<Value, Value> grads;
  Location loc = lossOp->getLoc();
  grads[loss] = arith::ConstantOp::create(
      builder, loc,
      DenseElementsAttr::get(lossType,
                             builder.getFloatAttr(lossType.getElementType(),
                                                  1.0)));

  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(grads.lookup(r));
      any |= static_cast<bool>(resultGrads.back());
    }
    if (!any)
      continue;
    auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
    SmallVector<bool> needed;
    bool anyNeeded = false;
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      bool need = active.contains(v) && useful.contains(v) &&
                  isa<RankedTensorType>(v.getType()) &&
                  (!differentiable || differentiable.isDifferentiableOperand(i));
      needed.push_back(need);
      anyNeeded |= need;
    }
    if (!anyNeeded)
      continue;
    if (!differentiable)
      return op->emitError("'")
             << op->getName()
             << "' has no gradient rule, but the loss depends on it through "
                "a trained parameter";
    SmallVector<Value> operandGrads;
    if (failed(differentiable.buildGradients(builder, resultGrads, needed,
                                             operandGrads)))
      return failure();
    for (auto [i, g] : llvm::enumerate(operandGrads)) {
      if (!g || !needed[i])
        continue;
      Value operand = op->getOperand(i);
      if (g.getType() != operand.getType())
        return op->emitError("gradient rule of '")
               << op->getName() << "' produced " << g.getType()
               << " for operand #" << i << " of type " << operand.getType();
      Value &slot = grads[operand];
      slot = slot ? Value(AddOp::create(builder, op->getLoc(), slot, g)) : g;
    }
  }

  SmallVector<Value> result;
  for (Value v : wrt)
    result.push_back(grads.lookup(v));
  return result;
}
