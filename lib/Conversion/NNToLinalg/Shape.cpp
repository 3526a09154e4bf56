//===- Shape.cpp - nn shape operations to tensor and linalg ---------------===//

#include "Utils.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

template <typename OpTy>
struct ReshapeLikePattern : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, reshapeTo(rewriter, op.getLoc(),
                                     adaptor.getInput(), op.getType()));
    return success();
  }
};

struct TransposePattern : OpConversionPattern<nn::TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value init = emptyTensor(rewriter, op.getLoc(), op.getType());
    rewriter.replaceOp(op, linalg::TransposeOp::create(
                               rewriter, op.getLoc(), adaptor.getInput(),
                               init, op.getPermutation())
                               .getResult());
    return success();
  }
};

struct ConcatPattern : OpConversionPattern<nn::ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    auto type = op.getType();
    Value result = emptyTensor(rewriter, loc, type);
    int64_t offset = 0;
    for (Value input : adaptor.getInputs()) {
      auto inType = tensorType(input);
      SmallVector<OpFoldResult> offsets(type.getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(type.getRank(),
                                               rewriter.getIndexAttr(1));
      for (int64_t d : inType.getShape())
        sizes.push_back(rewriter.getIndexAttr(d));
      offsets[axis] = rewriter.getIndexAttr(offset);
      result = tensor::InsertSliceOp::create(rewriter, loc, input, result,
                                             offsets, sizes, strides);
      offset += inType.getDimSize(axis);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

Value extractSlice(OpBuilder &b, Location loc, Value input,
                   RankedTensorType resultType, ArrayRef<int64_t> starts,
                   ArrayRef<int64_t> steps) {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (size_t i = 0; i < starts.size(); ++i) {
    offsets.push_back(b.getIndexAttr(starts[i]));
    sizes.push_back(b.getIndexAttr(resultType.getDimSize(i)));
    strides.push_back(b.getIndexAttr(steps[i]));
  }
  return tensor::ExtractSliceOp::create(b, loc, resultType, input, offsets,
                                        sizes, strides);
}

struct SplitPattern : OpConversionPattern<nn::SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::SplitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t axis = static_cast<int64_t>(op.getAxis());
    int64_t rank = tensorType(adaptor.getInput()).getRank();
    SmallVector<Value> results;
    int64_t offset = 0;
    for (Value r : op.getResults()) {
      auto type = cast<RankedTensorType>(r.getType());
      SmallVector<int64_t> starts(rank, 0), steps(rank, 1);
      starts[axis] = offset;
      results.push_back(extractSlice(rewriter, op.getLoc(),
                                     adaptor.getInput(), type, starts, steps));
      offset += type.getDimSize(axis);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SlicePattern : OpConversionPattern<nn::SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, extractSlice(rewriter, op.getLoc(),
                                        adaptor.getInput(), op.getType(),
                                        op.getStarts(), op.getSteps()));
    return success();
  }
};

struct PadPattern : OpConversionPattern<nn::PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ArrayRef<int64_t> pads = op.getPads();
    size_t rank = pads.size() / 2;
    Value padded = padTensor(rewriter, op.getLoc(), adaptor.getInput(),
                             pads.take_front(rank), pads.drop_front(rank),
                             op.getValue().convertToDouble());
    rewriter.replaceOp(op, padded);
    return success();
  }
};

} // namespace

void adagp::lowering::populateShapePatterns(RewritePatternSet &patterns) {
  patterns.add<ReshapeLikePattern<nn::ReshapeOp>,
               ReshapeLikePattern<nn::FlattenOp>, TransposePattern,
               ConcatPattern, SplitPattern, SlicePattern, PadPattern>(
      patterns.getContext());
}
