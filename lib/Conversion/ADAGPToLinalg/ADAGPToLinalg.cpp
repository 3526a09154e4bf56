//===- ADAGPToLinalg.cpp - The --convert-adagp-to-linalg pass -------------===//
//
// ADA-GP's reorganization ops become linalg generics and tensor reshapes;
// its host I/O becomes cpu.host_call, which bufferizes to calls of the
// runtime's host interface (include/adagp/Runtime/Host.h).
//
//===----------------------------------------------------------------------===//

#include "adagp/Conversion/Passes.h"

#include "../NNToLinalg/Utils.h"

#include "adagp/Dialect/ADAGP/ADAGPDialect.h"
#include "adagp/Dialect/CPU/CPUDialect.h"

#include "mlir/Transforms/DialectConversion.h"

namespace adagp {
#define GEN_PASS_DEF_CONVERTADAGPTOLINALG
#include "adagp/Conversion/Passes.h.inc"
} // namespace adagp

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

/// The adaptive average pooling matrix [P, H]: row i averages the window
/// [floor(i*H/P), ceil((i+1)*H/P)) (PyTorch's adaptive_avg_pool2d), times
/// `factor`.
std::vector<double> poolingMatrix(int64_t p, int64_t h, double factor) {
  std::vector<double> m(p * h, 0.0);
  for (int64_t i = 0; i < p; ++i) {
    int64_t start = (i * h) / p, end = ((i + 1) * h + p - 1) / p;
    for (int64_t k = start; k < end; ++k)
      m[i * h + k] = factor / double(end - start);
  }
  return m;
}

struct ReorganizePattern : OpConversionPattern<gp::ReorganizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(gp::ReorganizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto inputType = tensorType(x);
    auto resultType = op.getResult().getType();
    Type element = inputType.getElementType();
    int64_t n = inputType.getDimSize(0), channels = inputType.getDimSize(1);
    int64_t p = static_cast<int64_t>(op.getPooledSize());
    auto add = [](OpBuilder &b, Location l, ValueRange a) {
      return reassocAdd(b, l, a[0], a[1]);
    };
    // Sum over the batch; the 1/N goes into the pooling weights.
    Value sum = reduce(rewriter, loc, x, {0}, /*keepdims=*/false, 0.0, add);
    Value pooled;
    MLIRContext *ctx = rewriter.getContext();
    if (inputType.getRank() == 4) {
      int64_t h = inputType.getDimSize(2), w = inputType.getDimSize(3);
      Value rows = constantTensor(rewriter, loc, {p, h}, element,
                                  poolingMatrix(p, h, 1.0 / double(n)));
      Value cols = constantTensor(rewriter, loc, {p, w}, element,
                                  poolingMatrix(p, w, 1.0));
      auto pooledType = RankedTensorType::get({channels, p, p}, element);
      // Iteration space (c, i, j, h, w).
      AffineExpr c, i, j, hh, ww;
      bindDims(ctx, c, i, j, hh, ww);
      SmallVector<AffineMap> maps = {AffineMap::get(5, 0, {c, hh, ww}, ctx),
                                     AffineMap::get(5, 0, {i, hh}, ctx),
                                     AffineMap::get(5, 0, {j, ww}, ctx),
                                     AffineMap::get(5, 0, {c, i, j}, ctx)};
      SmallVector<utils::IteratorType> iterators = {
          utils::IteratorType::parallel, utils::IteratorType::parallel,
          utils::IteratorType::parallel, utils::IteratorType::reduction,
          utils::IteratorType::reduction};
      pooled = linalg::GenericOp::create(
                   rewriter, loc, pooledType, ValueRange{sum, rows, cols},
                   ValueRange{filledTensor(rewriter, loc, pooledType, 0.0)},
                   maps, iterators,
                   [&](OpBuilder &b, Location l, ValueRange a) {
                     Value weight = arith::MulFOp::create(b, l, a[1], a[2]);
                     Value term = arith::MulFOp::create(b, l, a[0], weight);
                     Value sum = reassocAdd(b, l, a[3], term);
                     linalg::YieldOp::create(b, l, sum);
                   })
                   .getResult(0);
      pooled = reshapeTo(rewriter, loc, pooled, resultType);
    } else {
      // A linear layer: each feature's batch mean fills its map.
      Value scale = floatConstant(rewriter, loc, element, 1.0 / double(n));
      auto map = AffineMap::get(4, 0, {getAffineDimExpr(0, ctx)}, ctx);
      pooled =
          linalg::GenericOp::create(
              rewriter, loc, resultType, ValueRange{sum},
              ValueRange{emptyTensor(rewriter, loc, resultType)},
              SmallVector<AffineMap>{map, rewriter.getMultiDimIdentityMap(4)},
              SmallVector<utils::IteratorType>(4,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &b, Location l, ValueRange a) {
                Value v = arith::MulFOp::create(b, l, a[0], scale);
                linalg::YieldOp::create(b, l, v);
              })
              .getResult(0);
    }
    if (op.getNormalize()) {
      SmallVector<int64_t> all = {0, 1, 2, 3};
      Value squares =
          reduce(rewriter, loc, pooled, all, /*keepdims=*/false, 0.0,
                 [](OpBuilder &b, Location l, ValueRange a) {
                   return reassocAdd(b, l, a[0],
                                     arith::MulFOp::create(b, l, a[1], a[1]));
                 });
      double count = double(resultType.getNumElements());
      pooled =
          elementwise(rewriter, loc, resultType, ValueRange{pooled, squares},
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        Value mean = arith::DivFOp::create(
                            b, l, a[1], floatConstant(b, l, element, count));
                        Value safe = arith::AddFOp::create(
                            b, l, mean, floatConstant(b, l, element, 1e-12));
                        return arith::MulFOp::create(
                            b, l, a[0], math::RsqrtOp::create(b, l, safe));
                      });
    }
    rewriter.replaceOp(op, pooled);
    return success();
  }
};

struct ReorganizeGradientPattern
    : OpConversionPattern<gp::ReorganizeGradientOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(gp::ReorganizeGradientOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto gradType = tensorType(adaptor.getGradient());
    auto resultType = op.getResult().getType();
    int64_t k = gradType.getDimSize(0);
    int64_t filter = gradType.getNumElements() / k;
    Value rows = reshapeTo(
        rewriter, loc, adaptor.getGradient(),
        RankedTensorType::get({k, filter}, gradType.getElementType()));
    if (resultType.getDimSize(1) > filter)
      rows = padTensor(rewriter, loc, rows, {0, 0},
                       {0, resultType.getDimSize(1) - filter}, 0.0);
    rewriter.replaceOp(op, rows);
    return success();
  }
};

struct ExpandPredictionPattern : OpConversionPattern<gp::ExpandPredictionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(gp::ExpandPredictionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = op.getResult().getType();
    int64_t k = resultType.getDimSize(0);
    int64_t filter = resultType.getNumElements() / k;
    auto columnsType =
        RankedTensorType::get({k, filter}, resultType.getElementType());
    // Rows exactly as wide as the filter (what --adagp-insert-predictors
    // produces) need no slice.
    Value columns = adaptor.getPrediction();
    if (tensorType(columns).getDimSize(1) != filter)
      columns = tensor::ExtractSliceOp::create(
          rewriter, loc, columnsType, columns, ValueRange{}, ValueRange{},
          ValueRange{}, rewriter.getDenseI64ArrayAttr({0, 0}),
          rewriter.getDenseI64ArrayAttr({k, filter}),
          rewriter.getDenseI64ArrayAttr({1, 1}));
    Value shaped = reshapeTo(rewriter, loc, columns, resultType);
    Value scaled = elementwise(
        rewriter, loc, resultType, ValueRange{shaped, adaptor.getScale()},
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::MulFOp::create(b, l, a[0], a[1]);
        });
    rewriter.replaceOp(op, scaled);
    return success();
  }
};

struct NextBatchPattern : OpConversionPattern<gp::NextBatchOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(gp::NextBatchOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto call =
        cpu::HostCallOp::create(rewriter, op.getLoc(), op->getResultTypes(),
                                "next_batch", ValueRange{});
    rewriter.replaceOp(op, call.getResults());
    return success();
  }
};

struct ReportPattern : OpConversionPattern<gp::ReportOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(gp::ReportOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    cpu::HostCallOp::create(rewriter, op.getLoc(), TypeRange{}, "report",
                            adaptor.getOperands());
    rewriter.eraseOp(op);
    return success();
  }
};

struct ConvertADAGPToLinalg
    : adagp::impl::ConvertADAGPToLinalgBase<ConvertADAGPToLinalg> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<gp::ADAGPDialect>();
    // The schedule must be lowered (--adagp-lower-schedule) first.
    target.addLegalOp<gp::ScheduleOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<ReorganizePattern, ReorganizeGradientPattern,
                 ExpandPredictionPattern, NextBatchPattern, ReportPattern>(ctx);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
