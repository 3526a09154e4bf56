//===- Elementwise.cpp - nn elementwise operations to linalg.generic ------===//

#include "Utils.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

Value cst(OpBuilder &b, Location loc, Value like, double v) {
  return floatConstant(b, loc, like.getType(), v);
}

/// One pattern for every nn op that maps to a scalar body.
template <typename OpTy>
struct ElementwisePattern : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using Body = std::function<Value(OpBuilder &, Location, ValueRange, OpTy)>;

  ElementwisePattern(MLIRContext *ctx, Body body)
      : OpConversionPattern<OpTy>(ctx), body(std::move(body)) {}

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    Value result = elementwise(
        rewriter, op.getLoc(), type, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return body(b, loc, args, op);
        });
    rewriter.replaceOp(op, result);
    return success();
  }

  Body body;
};

template <typename OpTy>
void add(RewritePatternSet &patterns,
         typename ElementwisePattern<OpTy>::Body body) {
  patterns.add<ElementwisePattern<OpTy>>(patterns.getContext(),
                                         std::move(body));
}

/// clamp(x, lo, hi) with NaN propagating like PyTorch's clamp.
Value clamp(OpBuilder &b, Location loc, Value x, double lo, double hi) {
  Value l = arith::MaximumFOp::create(b, loc, x, cst(b, loc, x, lo));
  return arith::MinimumFOp::create(b, loc, l, cst(b, loc, x, hi));
}

Value greater(OpBuilder &b, Location loc, Value x, double v) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                               cst(b, loc, x, v));
}

Value select(OpBuilder &b, Location loc, Value c, Value t, Value f) {
  return arith::SelectOp::create(b, loc, c, t, f);
}

/// SplitMix64 of (seed, key, index): the counter-based generator behind
/// dropout masks. Returns a uniform float in [0, 1) from the top 24 bits.
Value uniform(OpBuilder &b, Location loc, Value index, Value key,
              int64_t seed, Type floatType) {
  auto i64 = b.getI64Type();
  auto c = [&](uint64_t v) {
    return arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(i64, static_cast<int64_t>(v)));
  };
  Value z = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, key, c(0xBF58476D1CE4E5B9ull)),
      c(static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull));
  z = arith::AddIOp::create(b, loc, z, index);
  z = arith::AddIOp::create(b, loc, z, c(0x9E3779B97F4A7C15ull));
  auto mix = [&](Value v, int64_t shift, uint64_t mul) {
    Value s = arith::ShRUIOp::create(b, loc, v, c(shift));
    Value x = arith::XOrIOp::create(b, loc, v, s);
    return mul ? Value(arith::MulIOp::create(b, loc, x, c(mul))) : x;
  };
  z = mix(z, 30, 0xBF58476D1CE4E5B9ull);
  z = mix(z, 27, 0x94D049BB133111EBull);
  z = mix(z, 31, 0);
  Value top = arith::ShRUIOp::create(b, loc, z, c(40));
  Value f = arith::UIToFPOp::create(b, loc, floatType, top);
  return arith::MulFOp::create(b, loc, f,
                               floatConstant(b, loc, floatType, 1.0 / (1 << 24)));
}

/// Dropout needs the element's linear index, so it is its own generic.
struct DropoutPattern : OpConversionPattern<nn::DropoutOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::DropoutOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = op.getType();
    double ratio = op.getRatio().convertToDouble();
    int64_t seed = static_cast<int64_t>(op.getSeed());
    Value key = adaptor.getKey();
    Value result = elementwise(
        rewriter, op.getLoc(), type, adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          // Linear index from the loop indices, row-major.
          Value flat = arith::ConstantIndexOp::create(b, loc, 0);
          for (int64_t d = 0; d < type.getRank(); ++d) {
            Value i = linalg::IndexOp::create(b, loc, d);
            Value scaled = arith::MulIOp::create(
                b, loc, flat,
                arith::ConstantIndexOp::create(b, loc, type.getDimSize(d)));
            flat = arith::AddIOp::create(b, loc, scaled, i);
          }
          Value index =
              arith::IndexCastOp::create(b, loc, b.getI64Type(), flat);
          Value u = uniform(b, loc, index, key, seed, args[0].getType());
          Value keep = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE,
                                             u, cst(b, loc, args[0], ratio));
          Value scaled = arith::MulFOp::create(
              b, loc, args[0], cst(b, loc, args[0], 1.0 / (1.0 - ratio)));
          return select(b, loc, keep, scaled, cst(b, loc, args[0], 0));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void adagp::lowering::populateElementwisePatterns(RewritePatternSet &patterns) {
  using L = Location;
  using B = OpBuilder;
  using V = ValueRange;
  add<nn::AddOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::AddFOp::create(b, l, a[0], a[1]);
  });
  add<nn::SubOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::SubFOp::create(b, l, a[0], a[1]);
  });
  add<nn::MulOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::MulFOp::create(b, l, a[0], a[1]);
  });
  add<nn::DivOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::DivFOp::create(b, l, a[0], a[1]);
  });
  add<nn::PowOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return math::PowFOp::create(b, l, a[0], a[1]);
  });
  add<nn::MaxOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::MaximumFOp::create(b, l, a[0], a[1]);
  });
  add<nn::MinOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::MinimumFOp::create(b, l, a[0], a[1]);
  });
  add<nn::BroadcastToOp>(patterns, [](B &, L, V a, auto) -> Value {
    return a[0];
  });
  add<nn::ReluOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::MaximumFOp::create(b, l, a[0], cst(b, l, a[0], 0));
  });
  add<nn::SigmoidOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, a[0]));
    Value d = arith::AddFOp::create(b, l, e, cst(b, l, a[0], 1));
    return arith::DivFOp::create(b, l, cst(b, l, a[0], 1), d);
  });
  add<nn::TanhOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return math::TanhOp::create(b, l, a[0]);
  });
  add<nn::ExpOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return math::ExpOp::create(b, l, a[0]);
  });
  add<nn::LogOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return math::LogOp::create(b, l, a[0]);
  });
  add<nn::SqrtOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return math::SqrtOp::create(b, l, a[0]);
  });
  add<nn::ErfOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return math::ErfOp::create(b, l, a[0]);
  });
  add<nn::NegOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::NegFOp::create(b, l, a[0]);
  });
  add<nn::AbsOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return math::AbsFOp::create(b, l, a[0]);
  });
  add<nn::ReciprocalOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return arith::DivFOp::create(b, l, cst(b, l, a[0], 1), a[0]);
  });
  add<nn::HardSwishOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    Value t = arith::AddFOp::create(
        b, l, arith::MulFOp::create(b, l, a[0], cst(b, l, a[0], 1.0 / 6)),
        cst(b, l, a[0], 0.5));
    return arith::MulFOp::create(b, l, a[0], clamp(b, l, t, 0, 1));
  });
  add<nn::LeakyReluOp>(patterns, [](B &b, L l, V a, nn::LeakyReluOp op) -> Value {
    Value scaled = arith::MulFOp::create(
        b, l, a[0], cst(b, l, a[0], op.getAlpha().convertToDouble()));
    return select(b, l, greater(b, l, a[0], 0), a[0], scaled);
  });
  add<nn::ClipOp>(patterns, [](B &b, L l, V a, nn::ClipOp op) -> Value {
    return clamp(b, l, a[0], op.getMin().convertToDouble(),
                 op.getMax().convertToDouble());
  });
  add<nn::HardSigmoidOp>(patterns, [](B &b, L l, V a, nn::HardSigmoidOp op) -> Value {
    Value t = arith::AddFOp::create(
        b, l,
        arith::MulFOp::create(b, l, a[0],
                              cst(b, l, a[0], op.getAlpha().convertToDouble())),
        cst(b, l, a[0], op.getBeta().convertToDouble()));
    return clamp(b, l, t, 0, 1);
  });
  add<nn::ScaleOp>(patterns, [](B &b, L l, V a, nn::ScaleOp op) -> Value {
    return arith::MulFOp::create(
        b, l, a[0], cst(b, l, a[0], op.getFactor().convertToDouble()));
  });

  // Gradients of activations: a[0] is the incoming gradient, a[1] the
  // forward input (or result, for sigmoid and tanh).
  add<nn::ReluGradOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    return select(b, l, greater(b, l, a[1], 0), a[0], cst(b, l, a[0], 0));
  });
  add<nn::LeakyReluGradOp>(patterns, [](B &b, L l, V a, nn::LeakyReluGradOp op) -> Value {
    Value scaled = arith::MulFOp::create(
        b, l, a[0], cst(b, l, a[0], op.getAlpha().convertToDouble()));
    return select(b, l, greater(b, l, a[1], 0), a[0], scaled);
  });
  add<nn::ClipGradOp>(patterns, [](B &b, L l, V a, nn::ClipGradOp op) -> Value {
    // torch.clamp's rule: the bounds themselves pass the gradient.
    Value lo = arith::CmpFOp::create(
        b, l, arith::CmpFPredicate::OGE, a[1],
        cst(b, l, a[1], op.getMin().convertToDouble()));
    Value hi = arith::CmpFOp::create(
        b, l, arith::CmpFPredicate::OLE, a[1],
        cst(b, l, a[1], op.getMax().convertToDouble()));
    Value inside = arith::AndIOp::create(b, l, lo, hi);
    return select(b, l, inside, a[0], cst(b, l, a[0], 0));
  });
  add<nn::HardSigmoidGradOp>(patterns, [](B &b, L l, V a, nn::HardSigmoidGradOp op) -> Value {
    double alpha = op.getAlpha().convertToDouble();
    Value t = arith::AddFOp::create(
        b, l, arith::MulFOp::create(b, l, a[1], cst(b, l, a[1], alpha)),
        cst(b, l, a[1], op.getBeta().convertToDouble()));
    Value lo = greater(b, l, t, 0);
    Value hi = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, t,
                                     cst(b, l, t, 1));
    Value g = arith::MulFOp::create(b, l, a[0], cst(b, l, a[0], alpha));
    return select(b, l, arith::AndIOp::create(b, l, lo, hi), g,
                  cst(b, l, a[0], 0));
  });
  add<nn::HardSwishGradOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    // PyTorch: x < -3 -> 0; x <= 3 -> grad * (x / 3 + 1/2); else grad.
    Value x = a[1];
    Value mid = arith::MulFOp::create(
        b, l, a[0],
        arith::AddFOp::create(
            b, l, arith::MulFOp::create(b, l, x, cst(b, l, x, 1.0 / 3)),
            cst(b, l, x, 0.5)));
    Value low = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x,
                                      cst(b, l, x, -3));
    Value high = greater(b, l, x, 3);
    return select(b, l, low, cst(b, l, x, 0),
                  select(b, l, high, a[0], mid));
  });
  add<nn::SigmoidGradOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    Value oneMinus = arith::SubFOp::create(b, l, cst(b, l, a[1], 1), a[1]);
    return arith::MulFOp::create(b, l, a[0],
                                 arith::MulFOp::create(b, l, a[1], oneMinus));
  });
  add<nn::TanhGradOp>(patterns, [](B &b, L l, V a, auto) -> Value {
    Value sq = arith::MulFOp::create(b, l, a[1], a[1]);
    return arith::MulFOp::create(
        b, l, a[0], arith::SubFOp::create(b, l, cst(b, l, a[1], 1), sq));
  });
  patterns.add<DropoutPattern>(patterns.getContext());
}
