//===- Normalization.cpp - batch and layer normalisation to linalg --------===//
//
// Statistics are accumulated in f64: a batch-norm channel of a batch of 64
// 32x32 images sums 65536 values, where f32 accumulation would cost several
// digits. The per-element work is then one pass with per-channel
// coefficients (y = x * scale + shift).
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

using MultiBody = std::function<SmallVector<Value>(
    OpBuilder &, Location, ValueRange inputs, ValueRange accumulators)>;

/// One linalg.generic over `shape` reducing `axes` into `numOutputs`
/// accumulators of type `acc` (zero-initialised). Inputs broadcast to
/// `shape`; the body sees the input elements and the accumulators and
/// returns the new accumulators.
SmallVector<Value> reduceMany(OpBuilder &b, Location loc,
                              ArrayRef<int64_t> shape, ValueRange inputs,
                              ArrayRef<int64_t> axes, Type acc,
                              unsigned numOutputs, const MultiBody &body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = shape.size();
  auto outType = RankedTensorType::get(reducedShape(shape, axes, false), acc);
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(
        reductionInputMap(ctx, tensorType(in).getShape(), shape, axes));
  SmallVector<Value> inits;
  SmallVector<Type> types;
  for (unsigned i = 0; i < numOutputs; ++i) {
    maps.push_back(reductionOutputMap(ctx, shape, axes));
    inits.push_back(numOutputs > 1 ? freshFilledTensor(b, loc, outType, 0.0)
                                   : filledTensor(b, loc, outType, 0.0));
    types.push_back(outType);
  }
  auto iterators = reductionIterators(rank, axes);
  auto generic = linalg::GenericOp::create(
      b, loc, types, inputs, inits, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(
            nb, nloc,
            body(nb, nloc, args.take_front(inputs.size()),
                 args.drop_front(inputs.size())));
      });
  return generic.getResults();
}

Value ext(OpBuilder &b, Location loc, Value v, Type to) {
  if (v.getType() == to)
    return v;
  return arith::ExtFOp::create(b, loc, to, v);
}

Value trunc(OpBuilder &b, Location loc, Value v, Type to) {
  if (v.getType() == to)
    return v;
  return arith::TruncFOp::create(b, loc, to, v);
}

/// A per-channel vector [C] reshaped to broadcast over dimension 1 of a
/// rank-`rank` tensor: [C, 1, ..., 1].
Value perChannel(OpBuilder &b, Location loc, Value v, int64_t rank) {
  auto type = tensorType(v);
  SmallVector<int64_t> shape = {type.getDimSize(0)};
  shape.append(rank - 2, 1);
  return reshapeTo(b, loc, v, RankedTensorType::get(shape, type.getElementType()));
}

SmallVector<int64_t> channelAxes(int64_t rank) {
  SmallVector<int64_t> axes = {0};
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  return axes;
}

/// An elementwise generic over `type` (a per-channel [C] shape or the data
/// shape) in which everything is computed in f64.
Value compute(OpBuilder &b, Location loc, RankedTensorType type,
              ValueRange inputs,
              const std::function<Value(OpBuilder &, Location, ValueRange)>
                  &body) {
  Type f64 = b.getF64Type();
  Type out = type.getElementType();
  return elementwise(b, loc, type, inputs,
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       SmallVector<Value> wide;
                       for (Value v : a)
                         wide.push_back(ext(nb, l, v, f64));
                       return trunc(nb, l, body(nb, l, wide), out);
                     });
}

Value c64(OpBuilder &b, Location loc, double v) {
  return floatConstant(b, loc, b.getF64Type(), v);
}

/// Sum and centred sum of squares over `axes`, in f64: the mean and the
/// biased variance.
std::pair<Value, Value> meanAndVariance(OpBuilder &b, Location loc, Value x,
                                        ArrayRef<int64_t> axes, double count) {
  Type f64 = b.getF64Type();
  auto shape = tensorType(x).getShape();
  Value sum = reduceMany(b, loc, shape, x, axes, f64, 1,
                         [&](OpBuilder &nb, Location l, ValueRange in,
                             ValueRange acc) -> SmallVector<Value> {
                           return {reassocAdd(nb, l, acc[0], ext(nb, l, in[0], f64))};
                         })[0];
  auto statType = cast<RankedTensorType>(sum.getType());
  Value mean = elementwise(b, loc, statType, sum,
                           [&](OpBuilder &nb, Location l, ValueRange a) {
                             return arith::DivFOp::create(nb, l, a[0],
                                                          c64(nb, l, count));
                           });
  // The mean broadcast back over the reduced axes: reshape it to the
  // data's rank with ones in the reduced positions.
  Value meanKept = reshapeTo(
      b, loc, mean,
      RankedTensorType::get(reducedShape(shape, axes, true), f64));
  Value sq = reduceMany(b, loc, shape, ValueRange{x, meanKept}, axes, f64, 1,
                        [&](OpBuilder &nb, Location l, ValueRange in,
                            ValueRange acc) -> SmallVector<Value> {
                          Value d = arith::SubFOp::create(
                              nb, l, ext(nb, l, in[0], f64), in[1]);
                          return {reassocAdd(nb, l, acc[0],
                                             arith::MulFOp::create(nb, l, d, d))};
                        })[0];
  Value var = elementwise(b, loc, statType, sq,
                          [&](OpBuilder &nb, Location l, ValueRange a) {
                            return arith::DivFOp::create(nb, l, a[0],
                                                         c64(nb, l, count));
                          });
  return {mean, var};
}

Value invStd(OpBuilder &b, Location l, Value var, double epsilon) {
  Value s = math::SqrtOp::create(
      b, l, arith::AddFOp::create(b, l, var, c64(b, l, epsilon)));
  return arith::DivFOp::create(b, l, c64(b, l, 1.0), s);
}

struct BatchNormTrainPattern : OpConversionPattern<nn::BatchNormTrainOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::BatchNormTrainOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto xType = tensorType(x);
    int64_t rank = xType.getRank();
    auto axes = channelAxes(rank);
    double count = xType.getNumElements() / xType.getDimSize(1);
    double eps = op.getEpsilon().convertToDouble();
    double momentum = op.getMomentum().convertToDouble();
    auto [mean, var] = meanAndVariance(rewriter, loc, x, axes, count);
    auto channelType = op.getBatchMean().getType();

    // y = x * scale + shift with scale = g / sqrt(var + eps) and
    // shift = b - mean * scale.
    Value scale = compute(rewriter, loc, channelType,
                          ValueRange{adaptor.getScale(), var},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return arith::MulFOp::create(
                                b, l, a[0], invStd(b, l, a[1], eps));
                          });
    Value shift = compute(
        rewriter, loc, channelType,
        ValueRange{adaptor.getBias(), mean, adaptor.getScale(), var},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value s = arith::MulFOp::create(b, l, a[2], invStd(b, l, a[3], eps));
          return arith::SubFOp::create(b, l, a[0],
                                       arith::MulFOp::create(b, l, a[1], s));
        });
    Value y = elementwise(
        rewriter, loc, xType,
        ValueRange{x, perChannel(rewriter, loc, scale, rank),
                   perChannel(rewriter, loc, shift, rank)},
        [](OpBuilder &b, Location l, ValueRange a) {
          return arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, a[0], a[1]), a[2]);
        });
    Value runningMean = compute(
        rewriter, loc, channelType, ValueRange{adaptor.getRunningMean(), mean},
        [&](OpBuilder &b, Location l, ValueRange a) {
          return arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, a[0], c64(b, l, momentum)),
              arith::MulFOp::create(b, l, a[1], c64(b, l, 1 - momentum)));
        });
    // PyTorch's running variance uses the unbiased batch variance.
    double unbias = count > 1 ? count / (count - 1) : 1.0;
    Value runningVar = compute(
        rewriter, loc, channelType, ValueRange{adaptor.getRunningVar(), var},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = arith::MulFOp::create(b, l, a[1], c64(b, l, unbias));
          return arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, a[0], c64(b, l, momentum)),
              arith::MulFOp::create(b, l, v, c64(b, l, 1 - momentum)));
        });
    Value meanOut = compute(rewriter, loc, channelType, mean,
                            [](OpBuilder &, Location, ValueRange a) {
                              return a[0];
                            });
    Value varOut = compute(rewriter, loc, channelType, var,
                           [](OpBuilder &, Location, ValueRange a) {
                             return a[0];
                           });
    rewriter.replaceOp(op, {y, runningMean, runningVar, meanOut, varOut});
    return success();
  }
};

struct BatchNormInferencePattern
    : OpConversionPattern<nn::BatchNormInferenceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::BatchNormInferenceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = tensorType(adaptor.getInput());
    int64_t rank = xType.getRank();
    double eps = op.getEpsilon().convertToDouble();
    auto channelType = tensorType(adaptor.getScale());
    Value scale = compute(rewriter, loc, channelType,
                          ValueRange{adaptor.getScale(), adaptor.getVar()},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return arith::MulFOp::create(
                                b, l, a[0], invStd(b, l, a[1], eps));
                          });
    Value shift = compute(
        rewriter, loc, channelType,
        ValueRange{adaptor.getBias(), adaptor.getMean(), adaptor.getScale(),
                   adaptor.getVar()},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value s = arith::MulFOp::create(b, l, a[2], invStd(b, l, a[3], eps));
          return arith::SubFOp::create(b, l, a[0],
                                       arith::MulFOp::create(b, l, a[1], s));
        });
    Value y = elementwise(
        rewriter, loc, xType,
        ValueRange{adaptor.getInput(), perChannel(rewriter, loc, scale, rank),
                   perChannel(rewriter, loc, shift, rank)},
        [](OpBuilder &b, Location l, ValueRange a) {
          return arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, a[0], a[1]), a[2]);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct BatchNormGradPattern : OpConversionPattern<nn::BatchNormGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::BatchNormGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dy = adaptor.getGrad(), x = adaptor.getInput();
    auto xType = tensorType(x);
    int64_t rank = xType.getRank();
    auto axes = channelAxes(rank);
    double count = xType.getNumElements() / xType.getDimSize(1);
    double eps = op.getEpsilon().convertToDouble();
    Type f64 = rewriter.getF64Type();
    Value meanKept = perChannel(rewriter, loc, adaptor.getBatchMean(), rank);
    // One pass: sum(dy) and sum(dy * (x - mean)).
    auto sums = reduceMany(
        rewriter, loc, xType.getShape(), ValueRange{dy, x, meanKept}, axes,
        f64, 2,
        [&](OpBuilder &b, Location l, ValueRange in,
            ValueRange acc) -> SmallVector<Value> {
          Value g = ext(b, l, in[0], f64);
          Value d = arith::SubFOp::create(b, l, ext(b, l, in[1], f64),
                                          ext(b, l, in[2], f64));
          return {reassocAdd(b, l, acc[0], g),
                  reassocAdd(b, l, acc[1], arith::MulFOp::create(b, l, g, d))};
        });
    auto channelType = tensorType(adaptor.getScale());
    SmallVector<Value> stats{adaptor.getScale(), adaptor.getBatchMean(),
                     adaptor.getBatchVar(), sums[0], sums[1]};
    // dx = k1 * dy + k2 * x + k3, per channel:
    //   k1 = g * invstd, k2 = -g * invstd^3 * sum(dy * xc) / n,
    //   k3 = -g * invstd * sum(dy) / n - k2 * mean.
    auto k2Of = [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      Value is = invStd(b, l, a[2], eps);
      Value is3 = arith::MulFOp::create(b, l, is,
                                        arith::MulFOp::create(b, l, is, is));
      Value t = arith::MulFOp::create(b, l, a[0], is3);
      t = arith::MulFOp::create(b, l, t, a[4]);
      t = arith::DivFOp::create(b, l, t, c64(b, l, count));
      return arith::NegFOp::create(b, l, t);
    };
    Value k1 = compute(rewriter, loc, channelType, stats,
                       [&](OpBuilder &b, Location l, ValueRange a) {
                         return arith::MulFOp::create(
                             b, l, a[0], invStd(b, l, a[2], eps));
                       });
    Value k2 = compute(rewriter, loc, channelType, stats, k2Of);
    Value k3 = compute(
        rewriter, loc, channelType, stats,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value t = arith::MulFOp::create(b, l, a[0], invStd(b, l, a[2], eps));
          t = arith::MulFOp::create(b, l, t, a[3]);
          t = arith::DivFOp::create(b, l, t, c64(b, l, count));
          Value k2v = k2Of(b, l, a);
          return arith::NegFOp::create(
              b, l, arith::AddFOp::create(
                        b, l, t, arith::MulFOp::create(b, l, k2v, a[1])));
        });
    Value dx = elementwise(
        rewriter, loc, xType,
        ValueRange{dy, x, perChannel(rewriter, loc, k1, rank),
                   perChannel(rewriter, loc, k2, rank),
                   perChannel(rewriter, loc, k3, rank)},
        [](OpBuilder &b, Location l, ValueRange a) {
          Value t = arith::MulFOp::create(b, l, a[2], a[0]);
          t = arith::AddFOp::create(b, l, t,
                                    arith::MulFOp::create(b, l, a[3], a[1]));
          return arith::AddFOp::create(b, l, t, a[4]);
        });
    Value dscale = compute(rewriter, loc, channelType, stats,
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             return arith::MulFOp::create(
                                 b, l, a[4], invStd(b, l, a[2], eps));
                           });
    Value dbias = compute(rewriter, loc, channelType, stats,
                          [](OpBuilder &, Location, ValueRange a) {
                            return a[3];
                          });
    rewriter.replaceOp(op, {dx, dscale, dbias});
    return success();
  }
};

SmallVector<int64_t> trailingAxes(int64_t axis, int64_t rank) {
  SmallVector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i)
    axes.push_back(i);
  return axes;
}

struct LayerNormPattern : OpConversionPattern<nn::LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto xType = tensorType(x);
    int64_t axis = static_cast<int64_t>(op.getAxis());
    auto axes = trailingAxes(axis, xType.getRank());
    double count = 1;
    for (int64_t a : axes)
      count *= xType.getDimSize(a);
    double eps = op.getEpsilon().convertToDouble();
    auto [mean, var] = meanAndVariance(rewriter, loc, x, axes, count);
    auto statType = op.getMean().getType();
    Type f64 = rewriter.getF64Type();
    auto keptType =
        RankedTensorType::get(statType.getShape(), f64);
    Value mean64 = reshapeTo(rewriter, loc, mean, keptType);
    Value var64 = reshapeTo(rewriter, loc, var, keptType);
    Value meanOut = compute(rewriter, loc, statType, mean64,
                            [](OpBuilder &, Location, ValueRange a) {
                              return a[0];
                            });
    Value invOut = compute(rewriter, loc, statType, var64,
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             return invStd(b, l, a[0], eps);
                           });
    SmallVector<Value> inputs = {x, meanOut, invOut, adaptor.getScale()};
    if (adaptor.getBias())
      inputs.push_back(adaptor.getBias());
    Value y = elementwise(rewriter, loc, xType, inputs,
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            Value t = arith::SubFOp::create(b, l, a[0], a[1]);
                            t = arith::MulFOp::create(b, l, t, a[2]);
                            t = arith::MulFOp::create(b, l, t, a[3]);
                            if (a.size() > 4)
                              t = arith::AddFOp::create(b, l, t, a[4]);
                            return t;
                          });
    rewriter.replaceOp(op, {y, meanOut, invOut});
    return success();
  }
};

struct LayerNormGradPattern : OpConversionPattern<nn::LayerNormGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::LayerNormGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dy = adaptor.getGrad(), x = adaptor.getInput();
    auto xType = tensorType(x);
    int64_t rank = xType.getRank();
    int64_t axis = static_cast<int64_t>(op.getAxis());
    auto trailing = trailingAxes(axis, rank);
    SmallVector<int64_t> leading;
    for (int64_t i = 0; i < axis; ++i)
      leading.push_back(i);
    double count = 1;
    for (int64_t a : trailing)
      count *= xType.getDimSize(a);
    Type f64 = rewriter.getF64Type();
    SmallVector<Value> in{dy, x, adaptor.getMean(), adaptor.getInvStdDev(),
                  adaptor.getScale()};
    auto xhat = [](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, a[1], a[2]),
                                   a[3]);
    };
    // Per row: sum(dy * g) and sum(dy * g * xhat) over the normalised dims.
    auto rowSums = reduceMany(
        rewriter, loc, xType.getShape(), in, trailing, f64, 2,
        [&](OpBuilder &b, Location l, ValueRange a,
            ValueRange acc) -> SmallVector<Value> {
          SmallVector<Value> w;
          for (Value v : a)
            w.push_back(ext(b, l, v, f64));
          Value g = arith::MulFOp::create(b, l, w[0], w[4]);
          return {reassocAdd(b, l, acc[0], g),
                  reassocAdd(b, l, acc[1],
                             arith::MulFOp::create(b, l, g, xhat(b, l, w)))};
        });
    auto keptType = RankedTensorType::get(
        reducedShape(xType.getShape(), trailing, true), f64);
    Value s1 = reshapeTo(rewriter, loc, rowSums[0], keptType);
    Value s2 = reshapeTo(rewriter, loc, rowSums[1], keptType);
    Value dx = compute(
        rewriter, loc, xType,
        ValueRange{dy, x, adaptor.getMean(), adaptor.getInvStdDev(),
                   adaptor.getScale(), s1, s2},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value g = arith::MulFOp::create(b, l, a[0], a[4]);
          Value t = arith::SubFOp::create(
              b, l, g, arith::DivFOp::create(b, l, a[5], c64(b, l, count)));
          Value h = xhat(b, l, a);
          t = arith::SubFOp::create(
              b, l, t,
              arith::MulFOp::create(
                  b, l, h, arith::DivFOp::create(b, l, a[6], c64(b, l, count))));
          return arith::MulFOp::create(b, l, t, a[3]);
        });
    // Parameter gradients: sums over the leading dims.
    auto scaleType = op.getScaleGrad().getType();
    auto paramSums = reduceMany(
        rewriter, loc, xType.getShape(), in, leading, f64, 2,
        [&](OpBuilder &b, Location l, ValueRange a,
            ValueRange acc) -> SmallVector<Value> {
          SmallVector<Value> w;
          for (Value v : a)
            w.push_back(ext(b, l, v, f64));
          return {reassocAdd(b, l, acc[0],
                             arith::MulFOp::create(b, l, w[0], xhat(b, l, w))),
                  reassocAdd(b, l, acc[1], w[0])};
        });
    Value dscale = compute(rewriter, loc, scaleType, paramSums[0],
                           [](OpBuilder &, Location, ValueRange a) {
                             return a[0];
                           });
    Value dbias = compute(rewriter, loc, scaleType, paramSums[1],
                          [](OpBuilder &, Location, ValueRange a) {
                            return a[0];
                          });
    rewriter.replaceOp(op, {dx, dscale, dbias});
    return success();
  }
};

} // namespace

void adagp::lowering::populateNormalizationPatterns(
    RewritePatternSet &patterns) {
  patterns.add<BatchNormTrainPattern, BatchNormInferencePattern,
               BatchNormGradPattern, LayerNormPattern, LayerNormGradPattern>(
      patterns.getContext());
}
