//===- TrainToLinalg.cpp - The --convert-train-to-linalg pass -------------===//
//
// Losses become row reductions and elementwise generics; optimizer updates
// become one elementwise generic per parameter with the new parameter and
// the new state as its results; the learning-rate schedule is a 0-d generic
// on the step counter.
//
//===----------------------------------------------------------------------===//

#include "adagp/Conversion/Passes.h"

#include "../NNToLinalg/Utils.h"

#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

namespace adagp {
#define GEN_PASS_DEF_CONVERTTRAINTOLINALG
#include "adagp/Conversion/Passes.h.inc"
} // namespace adagp

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

Value cst(OpBuilder &b, Location loc, Type type, double v) {
  return floatConstant(b, loc, type, v);
}

/// Row maximum and sum of exp(x - max), both [N, 1].
std::pair<Value, Value> rowStatistics(OpBuilder &b, Location loc,
                                      Value logits) {
  Value max = reduce(b, loc, logits, {1}, /*keepdims=*/true,
                     -std::numeric_limits<double>::infinity(),
                     [](OpBuilder &nb, Location l, ValueRange a) {
                       return arith::MaximumFOp::create(nb, l, a[0], a[1]);
                     });
  Value sum = reduce(
      b, loc, logits, {1}, /*keepdims=*/true, 0.0,
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value e =
            math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, a[1], a[2]));
        return reassocAdd(nb, l, a[0], e);
      },
      max);
  return {max, sum};
}

/// A generic over `shape` with the given maps and one result; `body` sees
/// the inputs' elements.
Value generic(OpBuilder &b, Location loc, RankedTensorType type,
              ValueRange inputs, ArrayRef<AffineMap> inputMaps,
              const BodyBuilder &body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, type, inputs, ValueRange{emptyTensor(b, loc, type)},
             maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, body(nb, l, args.drop_back()));
             })
      .getResult(0);
}

struct CrossEntropyPattern
    : OpConversionPattern<train::SoftmaxCrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(train::SoftmaxCrossEntropyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = adaptor.getLogits();
    auto type = tensorType(logits);
    Type element = type.getElementType();
    int64_t n = type.getDimSize(0);
    auto [max, sum] = rowStatistics(rewriter, loc, logits);
    auto rowType = RankedTensorType::get({n, 1}, element);
    MLIRContext *ctx = rewriter.getContext();
    AffineMap rowMap =
        AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
    AffineMap id = rewriter.getMultiDimIdentityMap(2);
    // Per row: logsumexp - logits[n, label[n]].
    Value perRow = generic(
        rewriter, loc, rowType, ValueRange{max, sum, adaptor.getLabels()},
        {id, id, rowMap}, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value row = linalg::IndexOp::create(b, l, 0);
          Value cls = arith::IndexCastOp::create(b, l, b.getIndexType(), a[2]);
          Value picked =
              tensor::ExtractOp::create(b, l, logits, ValueRange{row, cls});
          Value lse = arith::AddFOp::create(b, l, a[0],
                                            math::LogOp::create(b, l, a[1]));
          return arith::SubFOp::create(b, l, lse, picked);
        });
    Value total = reduce(rewriter, loc, perRow, {0, 1}, /*keepdims=*/false,
                         0.0, [](OpBuilder &b, Location l, ValueRange a) {
                           return arith::AddFOp::create(b, l, a[0], a[1]);
                         });
    Value mean = elementwise(rewriter, loc, op.getType(), total,
                             [&](OpBuilder &b, Location l, ValueRange a) {
                               return arith::DivFOp::create(
                                   b, l, a[0], cst(b, l, element, n));
                             });
    rewriter.replaceOp(op, mean);
    return success();
  }
};

struct CrossEntropyGradPattern
    : OpConversionPattern<train::SoftmaxCrossEntropyGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(train::SoftmaxCrossEntropyGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = adaptor.getLogits();
    auto type = tensorType(logits);
    Type element = type.getElementType();
    int64_t n = type.getDimSize(0);
    auto [max, sum] = rowStatistics(rewriter, loc, logits);
    MLIRContext *ctx = rewriter.getContext();
    AffineMap id = rewriter.getMultiDimIdentityMap(2);
    AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
    AffineMap rowKept = AffineMap::get(
        2, 0, {getAffineDimExpr(0, ctx), getAffineConstantExpr(0, ctx)}, ctx);
    AffineMap scalarMap = AffineMap::get(2, 0, {}, ctx);
    // (softmax - onehot(label)) * grad / N
    Value result = generic(
        rewriter, loc, type,
        ValueRange{logits, max, sum, adaptor.getLabels(), adaptor.getGrad()},
        {id, rowKept, rowKept, row, scalarMap},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value p = arith::DivFOp::create(
              b, l,
              math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[1])),
              a[2]);
          Value cls = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                                 linalg::IndexOp::create(b, l, 1));
          Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                            cls, a[3]);
          Value onehot = arith::SelectOp::create(b, l, hit, cst(b, l, element, 1),
                                                 cst(b, l, element, 0));
          Value d = arith::SubFOp::create(b, l, p, onehot);
          Value scale = arith::DivFOp::create(b, l, a[4], cst(b, l, element, n));
          return arith::MulFOp::create(b, l, d, scale);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct MSEPattern : OpConversionPattern<train::MSELossOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(train::MSELossOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = tensorType(adaptor.getPrediction());
    Type element = type.getElementType();
    Value sq = elementwise(rewriter, loc, type,
                           ValueRange{adaptor.getPrediction(),
                                      adaptor.getTarget()},
                           [](OpBuilder &b, Location l, ValueRange a) {
                             Value d = arith::SubFOp::create(b, l, a[0], a[1]);
                             return arith::MulFOp::create(b, l, d, d);
                           });
    SmallVector<int64_t> all;
    for (int64_t i = 0; i < type.getRank(); ++i)
      all.push_back(i);
    Value total = reduce(rewriter, loc, sq, all, false, 0.0,
                         [](OpBuilder &b, Location l, ValueRange a) {
                           return reassocAdd(b, l, a[0], a[1]);
                         });
    double count = type.getNumElements();
    rewriter.replaceOp(op, elementwise(rewriter, loc, op.getType(), total,
                                       [&](OpBuilder &b, Location l,
                                           ValueRange a) {
                                         return arith::DivFOp::create(
                                             b, l, a[0],
                                             cst(b, l, element, count));
                                       }));
    return success();
  }
};

struct MSEGradPattern : OpConversionPattern<train::MSELossGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(train::MSELossGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = tensorType(adaptor.getPrediction());
    double factor = 2.0 / type.getNumElements();
    Type element = type.getElementType();
    rewriter.replaceOp(
        op, elementwise(rewriter, op.getLoc(), type,
                        ValueRange{adaptor.getPrediction(),
                                   adaptor.getTarget(), adaptor.getGrad()},
                        [&](OpBuilder &b, Location l, ValueRange a) {
                          Value d = arith::SubFOp::create(b, l, a[0], a[1]);
                          Value s = arith::MulFOp::create(
                              b, l, a[2], cst(b, l, element, factor));
                          return arith::MulFOp::create(b, l, d, s);
                        }));
    return success();
  }
};

/// Generics over the parameter's shape, one per result: `body` computes
/// all results from the inputs' elements and each generic yields one of
/// them. (One multi-result generic would be cheaper, but linalg's fusion
/// patterns replace unread outputs by tensor.empty, which CSE merges, and
/// two results then bufferize into one buffer.)
SmallVector<Value>
updateGeneric(OpBuilder &b, Location loc, RankedTensorType type,
              ValueRange elementwiseInputs, ValueRange scalarInputs,
              unsigned numResults,
              const std::function<SmallVector<Value>(OpBuilder &, Location,
                                                     ValueRange)> &body) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  AffineMap scalarMap = AffineMap::get(type.getRank(), 0, {}, ctx);
  SmallVector<Value> inputs(elementwiseInputs);
  inputs.append(scalarInputs.begin(), scalarInputs.end());
  SmallVector<AffineMap> maps(elementwiseInputs.size(), id);
  maps.append(scalarInputs.size(), scalarMap);
  maps.push_back(id);
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  SmallVector<Value> results;
  for (unsigned r = 0; r < numResults; ++r) {
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{type}, inputs, ValueRange{emptyTensor(b, loc, type)},
        maps, iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
          linalg::YieldOp::create(
              nb, l, body(nb, l, args.take_front(inputs.size()))[r]);
        });
    results.push_back(op.getResult(0));
  }
  return results;
}

struct SGDPattern : OpConversionPattern<train::SGDUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(train::SGDUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = tensorType(adaptor.getParam());
    Type element = type.getElementType();
    double momentum = op.getMomentum().convertToDouble();
    double wd = op.getWeightDecay().convertToDouble();
    bool nesterov = op.getNesterov();
    auto results = updateGeneric(
        rewriter, op.getLoc(), type,
        ValueRange{adaptor.getParam(), adaptor.getGrad(),
                   adaptor.getVelocity()},
        ValueRange{adaptor.getLr()}, 2,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value p = a[0], g = a[1], v = a[2], lr = a[3];
          if (wd != 0)
            g = arith::AddFOp::create(
                b, l, g, arith::MulFOp::create(b, l, p, cst(b, l, element, wd)));
          Value vNew = g;
          if (momentum != 0)
            vNew = arith::AddFOp::create(
                b, l, arith::MulFOp::create(b, l, v, cst(b, l, element, momentum)),
                g);
          Value d = vNew;
          if (nesterov)
            d = arith::AddFOp::create(
                b, l, g,
                arith::MulFOp::create(b, l, vNew, cst(b, l, element, momentum)));
          Value pNew =
              arith::SubFOp::create(b, l, p, arith::MulFOp::create(b, l, lr, d));
          return {pNew, vNew};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct AdamPattern : OpConversionPattern<train::AdamUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(train::AdamUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = tensorType(adaptor.getParam());
    Type element = type.getElementType();
    double b1 = op.getBeta1().convertToDouble();
    double b2 = op.getBeta2().convertToDouble();
    double eps = op.getEpsilon().convertToDouble();
    double wd = op.getWeightDecay().convertToDouble();
    bool decoupled = op.getDecoupled();
    // Bias corrections of step t = step + 1, as f64 scalars.
    auto scalarType = RankedTensorType::get({}, rewriter.getF64Type());
    auto correction = [&](double beta) {
      return elementwise(rewriter, loc, scalarType, adaptor.getStep(),
                         [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                           Value t = arith::SIToFPOp::create(
                               b, l, b.getF64Type(),
                               arith::AddIOp::create(
                                   b, l, a[0],
                                   arith::ConstantIntOp::create(b, l, 1, 64)));
                           Value pow = math::PowFOp::create(
                               b, l, floatConstant(b, l, b.getF64Type(), beta),
                               t);
                           return arith::SubFOp::create(
                               b, l, floatConstant(b, l, b.getF64Type(), 1.0),
                               pow);
                         });
    };
    Value bc1 = correction(b1), bc2 = correction(b2);
    auto results = updateGeneric(
        rewriter, loc, type,
        ValueRange{adaptor.getParam(), adaptor.getGrad(), adaptor.getM(),
                   adaptor.getV()},
        ValueRange{adaptor.getLr(), bc1, bc2}, 3,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          auto c = [&](double v) { return cst(b, l, element, v); };
          Value p = a[0], g = a[1], m = a[2], v = a[3], lr = a[4];
          if (wd != 0 && !decoupled)
            g = arith::AddFOp::create(b, l, g,
                                      arith::MulFOp::create(b, l, p, c(wd)));
          Value mNew = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, m, c(b1)),
              arith::MulFOp::create(b, l, g, c(1 - b1)));
          Value vNew = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, v, c(b2)),
              arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, g, g),
                                    c(1 - b2)));
          auto narrow = [&](Value v) -> Value {
            return element.isF64() ? v
                                   : Value(arith::TruncFOp::create(
                                         b, l, element, v));
          };
          Value bc1 = narrow(a[5]), bc2 = narrow(a[6]);
          // PyTorch: denom = sqrt(v') / sqrt(bc2) + eps; step = lr / bc1.
          Value denom = arith::AddFOp::create(
              b, l,
              arith::DivFOp::create(b, l, math::SqrtOp::create(b, l, vNew),
                                    math::SqrtOp::create(b, l, bc2)),
              c(eps));
          Value stepSize = arith::DivFOp::create(b, l, lr, bc1);
          Value base = p;
          if (wd != 0 && decoupled)
            base = arith::MulFOp::create(
                b, l, p,
                arith::SubFOp::create(b, l, c(1),
                                      arith::MulFOp::create(b, l, lr, c(wd))));
          Value pNew = arith::SubFOp::create(
              b, l, base,
              arith::MulFOp::create(b, l, stepSize,
                                    arith::DivFOp::create(b, l, mNew, denom)));
          return {pNew, mNew, vNew};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LRSchedulePattern : OpConversionPattern<train::LRScheduleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(train::LRScheduleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    StringRef kind = op.getKind();
    double base = op.getBaseLr().convertToDouble();
    double gamma = op.getGamma().convertToDouble();
    double minLr = op.getMinLr().convertToDouble();
    int64_t stepSize = static_cast<int64_t>(op.getStepSize());
    int64_t total = static_cast<int64_t>(op.getTotalSteps());
    Type element = op.getType().getElementType();
    Value lr = elementwise(
        rewriter, op.getLoc(), op.getType(), adaptor.getStep(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Type f64 = b.getF64Type();
          auto c = [&](double v) { return floatConstant(b, l, f64, v); };
          Value value = c(base);
          if (kind == "step") {
            Value k = arith::DivSIOp::create(
                b, l, a[0], arith::ConstantIntOp::create(b, l, stepSize, 64));
            Value kf = arith::SIToFPOp::create(b, l, f64, k);
            value = arith::MulFOp::create(b, l, c(base),
                                          math::PowFOp::create(b, l, c(gamma), kf));
          } else if (kind == "cosine") {
            Value s = arith::MinSIOp::create(
                b, l, a[0], arith::ConstantIntOp::create(b, l, total, 64));
            Value frac = arith::DivFOp::create(
                b, l, arith::SIToFPOp::create(b, l, f64, s), c(total));
            Value cosv = math::CosOp::create(
                b, l, arith::MulFOp::create(b, l, frac, c(M_PI)));
            Value half = arith::MulFOp::create(
                b, l, arith::AddFOp::create(b, l, cosv, c(1)), c(0.5));
            value = arith::AddFOp::create(
                b, l, c(minLr), arith::MulFOp::create(b, l, c(base - minLr), half));
          }
          return element.isF64()
                     ? value
                     : Value(arith::TruncFOp::create(b, l, element, value));
        });
    rewriter.replaceOp(op, lr);
    return success();
  }
};

struct ConvertTrainToLinalg
    : adagp::impl::ConvertTrainToLinalgBase<ConvertTrainToLinalg> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<train::TrainDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<CrossEntropyPattern, CrossEntropyGradPattern, MSEPattern,
                 MSEGradPattern, SGDPattern, AdamPattern, LRSchedulePattern>(
        ctx);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
