//===- Utils.cpp - Building linalg for the nn lowering --------------------===//

#include "Utils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>

using namespace mlir;

namespace adagp::lowering {

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(),
                                 type.getElementType());
}

Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                   double value) {
  Value init = floatConstant(b, loc, type.getElementType(), value);
  return linalg::FillOp::create(b, loc, ValueRange{init},
                                ValueRange{emptyTensor(b, loc, type)})
      .getResult(0);
}

Value freshTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return bufferization::AllocTensorOp::create(b, loc, type, ValueRange{});
}

Value freshFilledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                        double value) {
  Value init = floatConstant(b, loc, type.getElementType(), value);
  return linalg::FillOp::create(b, loc, ValueRange{init},
                                ValueRange{freshTensor(b, loc, type)})
      .getResult(0);
}

AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operandShape,
                       ArrayRef<int64_t> resultShape) {
  size_t offset = resultShape.size() - operandShape.size();
  SmallVector<AffineExpr> exprs;
  for (auto [i, d] : llvm::enumerate(operandShape)) {
    if (d == 1 && resultShape[offset + i] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(resultShape.size(), 0, exprs, ctx);
}

Value elementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                  ValueRange inputs, const BodyBuilder &body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(
        broadcastMap(ctx, tensorType(in).getShape(), resultType.getShape()));
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, ValueRange{emptyTensor(b, loc, resultType)},
      maps, iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value result = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, result);
      });
  return generic.getResult(0);
}

SmallVector<int64_t> reducedShape(ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> axes, bool keepdims) {
  SmallVector<int64_t> out;
  for (auto [i, d] : llvm::enumerate(shape)) {
    bool reduced = llvm::is_contained(axes, static_cast<int64_t>(i));
    if (!reduced)
      out.push_back(d);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

Value reassocAdd(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddFOp::create(
      b, loc, x, y,
      arith::FastMathFlagsAttr::get(b.getContext(),
                                    arith::FastMathFlags::reassoc));
}

/// Position of each dimension of `shape` in the iteration space: kept
/// dimensions first, then the reduced ones, each group in order.
static SmallVector<int64_t> reductionOrder(int64_t rank,
                                           ArrayRef<int64_t> axes) {
  SmallVector<int64_t> position(rank);
  int64_t next = 0;
  for (int64_t i = 0; i < rank; ++i)
    if (!llvm::is_contained(axes, i))
      position[i] = next++;
  for (int64_t i = 0; i < rank; ++i)
    if (llvm::is_contained(axes, i))
      position[i] = next++;
  return position;
}

AffineMap reductionInputMap(MLIRContext *ctx, ArrayRef<int64_t> operandShape,
                            ArrayRef<int64_t> shape, ArrayRef<int64_t> axes) {
  AffineMap inShape = broadcastMap(ctx, operandShape, shape);
  SmallVector<int64_t> position = reductionOrder(shape.size(), axes);
  SmallVector<AffineExpr> toDomain;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i)
    toDomain.push_back(getAffineDimExpr(position[i], ctx));
  return inShape.compose(AffineMap::get(shape.size(), 0, toDomain, ctx));
}

AffineMap reductionOutputMap(MLIRContext *ctx, ArrayRef<int64_t> shape,
                             ArrayRef<int64_t> axes) {
  SmallVector<AffineExpr> exprs;
  int64_t kept = shape.size() - axes.size();
  for (int64_t i = 0; i < kept; ++i)
    exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(shape.size(), 0, exprs, ctx);
}

SmallVector<utils::IteratorType> reductionIterators(int64_t rank,
                                                    ArrayRef<int64_t> axes) {
  SmallVector<utils::IteratorType> iterators(rank - axes.size(),
                                             utils::IteratorType::parallel);
  iterators.append(axes.size(), utils::IteratorType::reduction);
  return iterators;
}

Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
             bool keepdims, double init, const BodyBuilder &combine,
             ValueRange extraInputs) {
  MLIRContext *ctx = b.getContext();
  auto type = tensorType(input);
  int64_t rank = type.getRank();
  SmallVector<int64_t> outShape = reducedShape(type.getShape(), axes, false);
  auto outType = RankedTensorType::get(outShape, type.getElementType());
  SmallVector<Value> inputs = {input};
  SmallVector<AffineMap> maps = {
      reductionInputMap(ctx, type.getShape(), type.getShape(), axes)};
  for (Value extra : extraInputs) {
    inputs.push_back(extra);
    maps.push_back(reductionInputMap(ctx, tensorType(extra).getShape(),
                                     type.getShape(), axes));
  }
  maps.push_back(reductionOutputMap(ctx, type.getShape(), axes));
  auto generic = linalg::GenericOp::create(
      b, loc, outType, inputs,
      ValueRange{filledTensor(b, loc, outType, init)}, maps,
      reductionIterators(rank, axes),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        // combine(acc, x, extras...)
        SmallVector<Value> operands = {args.back()};
        for (Value v : args.drop_back())
          operands.push_back(v);
        linalg::YieldOp::create(nb, nloc, combine(nb, nloc, operands));
      });
  Value result = generic.getResult(0);
  if (keepdims) {
    auto keptType = RankedTensorType::get(
        reducedShape(type.getShape(), axes, true), type.getElementType());
    result = reshapeTo(b, loc, result, keptType);
  }
  return result;
}

Value reshapeTo(OpBuilder &b, Location loc, Value value,
                RankedTensorType type) {
  auto from = tensorType(value);
  if (from == type)
    return value;
  // Try a single expand or collapse when one shape groups the other.
  auto tryGrouping = [](ArrayRef<int64_t> small, ArrayRef<int64_t> large,
                        SmallVector<ReassociationIndices> &groups) {
    groups.clear();
    size_t j = 0;
    for (int64_t d : small) {
      ReassociationIndices group;
      int64_t product = 1;
      while (j < large.size() && (product < d || group.empty())) {
        product *= large[j];
        group.push_back(j++);
      }
      if (product != d)
        return false;
      groups.push_back(group);
    }
    // Trailing ones join the last group.
    while (j < large.size() && large[j] == 1 && !groups.empty())
      groups.back().push_back(j++);
    return j == large.size() && !groups.empty();
  };
  SmallVector<ReassociationIndices> groups;
  if (from.getRank() > type.getRank() &&
      tryGrouping(type.getShape(), from.getShape(), groups))
    return tensor::CollapseShapeOp::create(b, loc, type, value, groups);
  if (from.getRank() < type.getRank() &&
      tryGrouping(from.getShape(), type.getShape(), groups))
    return tensor::ExpandShapeOp::create(b, loc, type, value, groups);
  // Otherwise through 1-D (a rank-0 tensor expands directly).
  Value flat = value;
  if (from.getRank() != 1) {
    auto flatType = RankedTensorType::get({from.getNumElements()},
                                          from.getElementType());
    SmallVector<ReassociationIndices> all;
    if (from.getRank() > 0) {
      ReassociationIndices group;
      for (int64_t i = 0; i < from.getRank(); ++i)
        group.push_back(i);
      all.push_back(group);
    }
    flat = from.getRank() == 0
               ? Value(tensor::ExpandShapeOp::create(b, loc, flatType, value,
                                                     all))
               : Value(tensor::CollapseShapeOp::create(b, loc, flatType,
                                                       value, all));
  }
  if (type.getRank() == 1)
    return flat;
  SmallVector<ReassociationIndices> all;
  if (type.getRank() > 0) {
    ReassociationIndices group;
    for (int64_t i = 0; i < type.getRank(); ++i)
      group.push_back(i);
    all.push_back(group);
    return tensor::ExpandShapeOp::create(b, loc, type, flat, all);
  }
  return tensor::CollapseShapeOp::create(b, loc, type, flat, all);
}

DenseIntElementsAttr i64Elements(OpBuilder &b, ArrayRef<int64_t> values) {
  return DenseIntElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(values.size())},
                            b.getI64Type()),
      values);
}

Value padTensor(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> low,
                ArrayRef<int64_t> high, double padValue) {
  if (llvm::all_of(low, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(high, [](int64_t p) { return p == 0; }))
    return value;
  auto type = tensorType(value);
  SmallVector<int64_t> shape(type.getShape());
  for (size_t i = 0; i < shape.size(); ++i)
    shape[i] += low[i] + high[i];
  auto padded = RankedTensorType::get(shape, type.getElementType());
  Value pad = floatConstant(b, loc, type.getElementType(), padValue);
  SmallVector<OpFoldResult> lowAttr, highAttr;
  for (size_t i = 0; i < low.size(); ++i) {
    lowAttr.push_back(b.getIndexAttr(low[i]));
    highAttr.push_back(b.getIndexAttr(high[i]));
  }
  return tensor::PadOp::create(b, loc, padded, value, lowAttr, highAttr, pad);
}

Value constantTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                     Type element, ArrayRef<double> values) {
  auto type = RankedTensorType::get(shape, element);
  DenseElementsAttr attr;
  if (element.isF64()) {
    attr = DenseElementsAttr::get(type, values);
  } else {
    SmallVector<float> floats(values.begin(), values.end());
    attr = DenseElementsAttr::get(type, ArrayRef<float>(floats));
  }
  return arith::ConstantOp::create(b, loc, attr);
}

std::vector<double> avgPoolDivisors(int64_t H, int64_t W, int64_t OH,
                                    int64_t OW, ArrayRef<int64_t> kernel,
                                    ArrayRef<int64_t> strides,
                                    ArrayRef<int64_t> pads,
                                    bool countIncludePad) {
  // PyTorch's avg_pool2d: a window counts the padding it covers (when
  // count_include_pad), but never positions beyond the padded input that
  // only ceil_mode adds.
  std::vector<double> divisors(OH * OW);
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) {
      int64_t h0 = oh * strides[0] - pads[0];
      int64_t w0 = ow * strides[1] - pads[1];
      int64_t h1 = std::min(h0 + kernel[0], H + pads[2]);
      int64_t w1 = std::min(w0 + kernel[1], W + pads[3]);
      int64_t poolSize = (h1 - h0) * (w1 - w0);
      h0 = std::max<int64_t>(h0, 0);
      w0 = std::max<int64_t>(w0, 0);
      h1 = std::min(h1, H);
      w1 = std::min(w1, W);
      int64_t valid = (h1 - h0) * (w1 - w0);
      divisors[oh * OW + ow] = countIncludePad ? poolSize : valid;
    }
  return divisors;
}

} // namespace adagp::lowering
