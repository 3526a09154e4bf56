//===- Autodiff.cpp - Reverse-mode differentiation ------------------------===//

#include "adagp/Dialect/NN/Autodiff.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "GradientUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace adagp::nn;
using adagp::nn::gradients::typeOf;
using adagp::nn::gradients::zeros;

/// The sum of a value's gradient contributions. Zero-padded pieces (the
/// gradients of slices, nn.pad with value 0) padded along one axis only and
/// not overlapping are joined by one nn.concat, the gaps filled with zeros,
/// instead of being added as full-size tensors one by one: a tensor sliced
/// into many parts (the predictor's hidden activations, one part per
/// filter-size group) then gets its gradient in one pass, not one pass of
/// its whole size per part. The result is the same: each element is one
/// piece's or zero.
static Value sumContributions(OpBuilder &b, Location loc,
                              ArrayRef<Value> contributions) {
  auto type = typeOf(contributions.front());
  struct Piece {
    int64_t begin, end;
    PadOp pad;
  };
  SmallVector<Piece> pieces;
  SmallVector<Value> rest;
  int64_t axis = -1, rank = type.getRank();
  for (Value g : contributions) {
    auto pad = g.getDefiningOp<PadOp>();
    int64_t padded = -1;
    bool eligible = pad && pad.getValue().isZero() && g.use_empty();
    if (eligible)
      for (int64_t i = 0; i < rank; ++i)
        if (pad.getPads()[i] != 0 || pad.getPads()[i + rank] != 0) {
          eligible = padded < 0 && (axis < 0 || axis == i);
          padded = i;
          if (!eligible)
            break;
        }
    if (!eligible || padded < 0) {
      rest.push_back(g);
      continue;
    }
    axis = padded;
    int64_t begin = pad.getPads()[padded];
    pieces.push_back(
        Piece{begin, begin + typeOf(pad.getInput()).getDimSize(padded), pad});
  }
  llvm::sort(pieces,
             [](const Piece &l, const Piece &r) { return l.begin < r.begin; });
  bool disjoint = pieces.size() >= 2;
  for (size_t i = 1; i < pieces.size() && disjoint; ++i)
    disjoint = pieces[i - 1].end <= pieces[i].begin;
  if (!disjoint) {
    for (Piece &p : pieces)
      rest.push_back(p.pad.getResult());
    pieces.clear();
  }
  // The other contributions in the order they were made (collected before
  // the pieces' pads are erased), after the joined pieces.
  SmallVector<Value> others;
  for (Value g : contributions)
    if (llvm::is_contained(rest, g))
      others.push_back(g);
  SmallVector<Value> terms;
  if (!pieces.empty()) {
    SmallVector<Value> parts;
    SmallVector<int64_t> shape(type.getShape());
    int64_t at = 0;
    auto gap = [&](int64_t size) {
      shape[axis] = size;
      parts.push_back(
          zeros(b, loc, RankedTensorType::get(shape, type.getElementType())));
    };
    for (Piece &p : pieces) {
      if (p.begin > at)
        gap(p.begin - at);
      parts.push_back(p.pad.getInput());
      at = p.end;
    }
    if (at < type.getDimSize(axis))
      gap(type.getDimSize(axis) - at);
    terms.push_back(ConcatOp::create(b, loc, parts, b.getI64IntegerAttr(axis)));
    for (Piece &p : pieces)
      p.pad.erase();
  }
  terms.append(others);
  Value sum = terms.front();
  for (Value t : ArrayRef<Value>(terms).drop_front())
    sum = AddOp::create(b, loc, sum, t);
  return sum;
}

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

  // Each value's gradient contributions, summed when the gradient is first
  // needed (`gradOf`).
  llvm::DenseMap<Value, SmallVector<Value, 1>> contributions;
  llvm::DenseMap<Value, Value> grads;
  auto gradOf = [&](Value v) -> Value {
    if (Value g = grads.lookup(v))
      return g;
    auto it = contributions.find(v);
    if (it == contributions.end())
      return Value();
    Value sum = it->second.size() == 1
                    ? it->second.front()
                    : sumContributions(builder, v.getLoc(), it->second);
    contributions.erase(it);
    return grads[v] = sum;
  };
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
      resultGrads.push_back(gradOf(r));
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
      contributions[operand].push_back(g);
    }
  }

  SmallVector<Value> result;
  for (Value v : wrt)
    result.push_back(gradOf(v));
  return result;
}
