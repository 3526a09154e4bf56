//===- Reductions.cpp - nn reductions and softmax to linalg ---------------===//

#include "Utils.h"

#include "adagp/Dialect/NN/NNOps.h"

#include <limits>

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

Value addBody(OpBuilder &b, Location loc, ValueRange a) {
  return reassocAdd(b, loc, a[0], a[1]);
}

Value maxBody(OpBuilder &b, Location loc, ValueRange a) {
  return arith::MaximumFOp::create(b, loc, a[0], a[1]);
}

template <typename OpTy>
struct ReducePattern : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    bool isMax = std::is_same_v<OpTy, nn::ReduceMaxOp>;
    double init = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
    Value result =
        reduce(rewriter, loc, input, op.getAxes(), op.getKeepdims(), init,
               isMax ? BodyBuilder(maxBody) : BodyBuilder(addBody));
    if (std::is_same_v<OpTy, nn::ReduceMeanOp>) {
      int64_t count = 1;
      for (int64_t axis : op.getAxes())
        count *= tensorType(input).getDimSize(axis);
      result = elementwise(rewriter, loc, op.getType(), result,
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             return arith::DivFOp::create(
                                 b, l, a[0],
                                 floatConstant(b, l, a[0].getType(), count));
                           });
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// softmax(x) = exp(x - max) / sum(exp(x - max)), and log-softmax
/// x - max - log(sum(exp(x - max))), along one axis.
template <typename OpTy>
struct SoftmaxPattern : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = op.getType();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    Value max = reduce(rewriter, loc, x, {axis}, /*keepdims=*/true,
                       -std::numeric_limits<double>::infinity(), maxBody);
    // sum(exp(x - max)), with max passed in as an extra input.
    Value sum = reduce(
        rewriter, loc, x, {axis}, /*keepdims=*/true, 0.0,
        [](OpBuilder &b, Location l, ValueRange a) {
          Value e = math::ExpOp::create(b, l,
                                        arith::SubFOp::create(b, l, a[1], a[2]));
          return reassocAdd(b, l, a[0], e);
        },
        max);
    bool isLog = std::is_same_v<OpTy, nn::LogSoftmaxOp>;
    Value result = elementwise(
        rewriter, loc, type, ValueRange{x, max, sum},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value shifted = arith::SubFOp::create(b, l, a[0], a[1]);
          if (isLog)
            return arith::SubFOp::create(b, l, shifted,
                                         math::LogOp::create(b, l, a[2]));
          return arith::DivFOp::create(b, l, math::ExpOp::create(b, l, shifted),
                                       a[2]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GlobalAvgPoolPattern : OpConversionPattern<nn::GlobalAvgPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::GlobalAvgPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto in = tensorType(adaptor.getInput());
    double count = in.getDimSize(2) * in.getDimSize(3);
    Value sum = reduce(rewriter, loc, adaptor.getInput(), {2, 3}, true, 0.0,
                       addBody);
    rewriter.replaceOp(op, elementwise(rewriter, loc, op.getType(), sum,
                                       [&](OpBuilder &b, Location l,
                                           ValueRange a) {
                                         return arith::DivFOp::create(
                                             b, l, a[0],
                                             floatConstant(b, l,
                                                           a[0].getType(),
                                                           count));
                                       }));
    return success();
  }
};

} // namespace

void adagp::lowering::populateReductionPatterns(RewritePatternSet &patterns) {
  patterns.add<ReducePattern<nn::ReduceSumOp>, ReducePattern<nn::ReduceMeanOp>,
               ReducePattern<nn::ReduceMaxOp>, SoftmaxPattern<nn::SoftmaxOp>,
               SoftmaxPattern<nn::LogSoftmaxOp>, GlobalAvgPoolPattern>(
      patterns.getContext());
}
