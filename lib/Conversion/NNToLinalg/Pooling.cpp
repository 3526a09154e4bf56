//===- Pooling.cpp - nn pooling to linalg ---------------------------------===//
//
// Forward pooling uses upstream's named pooling operations on an input
// padded with the reduction's neutral element (also covering the windows
// that ceil_mode adds). The gradients either call the runtime's kernels or,
// without kernels (and for f64), gather: each input position sums the
// output gradients of the windows that route to it.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "adagp/Dialect/CPU/CPUDialect.h"
#include "adagp/Dialect/NN/NNOps.h"

#include <limits>

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

struct Window {
  int64_t N, C, H, W, OH, OW;
  int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;

  Window(RankedTensorType in, RankedTensorType out, ArrayRef<int64_t> kernel,
         ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
         ArrayRef<int64_t> dilations) {
    N = in.getDimSize(0), C = in.getDimSize(1), H = in.getDimSize(2),
    W = in.getDimSize(3), OH = out.getDimSize(2), OW = out.getDimSize(3);
    kh = kernel[0], kw = kernel[1], sh = strides[0], sw = strides[1];
    pt = pads[0], pl = pads[1], pb = pads[2], pr = pads[3];
    dh = dilations.empty() ? 1 : dilations[0];
    dw = dilations.empty() ? 1 : dilations[1];
  }

  /// Padding after the input so that every window (including those that
  /// ceil_mode adds) lies inside the padded input.
  int64_t extraBottom() const {
    return std::max<int64_t>(0, (OH - 1) * sh + dh * (kh - 1) + 1 -
                                    (H + pt + pb));
  }
  int64_t extraRight() const {
    return std::max<int64_t>(0, (OW - 1) * sw + dw * (kw - 1) + 1 -
                                    (W + pl + pr));
  }

  Value pad(OpBuilder &b, Location loc, Value x, double value) const {
    return padTensor(b, loc, x, {0, 0, pt, pl},
                     {0, 0, pb + extraBottom(), pr + extraRight()}, value);
  }
};

template <typename PoolOp>
Value namedPool(OpBuilder &b, Location loc, Value padded,
                RankedTensorType outType, const Window &w, double init) {
  Value window = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{w.kh, w.kw}, outType.getElementType());
  Value out = filledTensor(b, loc, outType, init);
  return PoolOp::create(b, loc, TypeRange{outType}, ValueRange{padded, window},
                        ValueRange{out}, i64Elements(b, {w.sh, w.sw}),
                        i64Elements(b, {w.dh, w.dw}))
      .getResult(0);
}

struct MaxPoolPattern : OpConversionPattern<nn::MaxPool2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::MaxPool2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Window w(tensorType(adaptor.getInput()), op.getType(), op.getKernel(),
             op.getStrides(), op.getPads(), op.getDilations());
    double ninf = -std::numeric_limits<double>::infinity();
    Value padded = w.pad(rewriter, op.getLoc(), adaptor.getInput(), ninf);
    rewriter.replaceOp(op, namedPool<linalg::PoolingNchwMaxOp>(
                               rewriter, op.getLoc(), padded, op.getType(), w,
                               ninf));
    return success();
  }
};

Value divisorTensor(OpBuilder &b, Location loc, const Window &w,
                    nn::AvgPool2DOp op, Type element) {
  return constantTensor(
      b, loc, {w.OH, w.OW}, element,
      avgPoolDivisors(w.H, w.W, w.OH, w.OW, op.getKernel(), op.getStrides(),
                      op.getPads(), op.getCountIncludePad()));
}

struct AvgPoolPattern : OpConversionPattern<nn::AvgPool2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(nn::AvgPool2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Window w(tensorType(adaptor.getInput()), op.getType(), op.getKernel(),
             op.getStrides(), op.getPads(), {});
    Value padded = w.pad(rewriter, loc, adaptor.getInput(), 0.0);
    Value sum = namedPool<linalg::PoolingNchwSumOp>(rewriter, loc, padded,
                                                    op.getType(), w, 0.0);
    Value divisors =
        divisorTensor(rewriter, loc, w, op, op.getType().getElementType());
    rewriter.replaceOp(op, elementwise(rewriter, loc, op.getType(),
                                       ValueRange{sum, divisors},
                                       [](OpBuilder &b, Location l,
                                          ValueRange a) {
                                         return arith::DivFOp::create(
                                             b, l, a[0], a[1]);
                                       }));
    return success();
  }
};

Value index(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// For input position `pos` (of dimension `dim` of the iteration space)
/// and kernel tap `tap`, the output position whose window reads it there,
/// and whether it exists: o = (pos + pad - tap * dil) / stride, exact and
/// in [0, outSize).
std::pair<Value, Value> sourceWindow(OpBuilder &b, Location loc, Value pos,
                                     Value tap, int64_t pad, int64_t dil,
                                     int64_t stride, int64_t outSize) {
  Value num = arith::SubIOp::create(
      b, loc, arith::AddIOp::create(b, loc, pos, index(b, loc, pad)),
      arith::MulIOp::create(b, loc, tap, index(b, loc, dil)));
  Value nonNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, num,
                                       index(b, loc, 0));
  Value safe = arith::SelectOp::create(b, loc, nonNeg, num, index(b, loc, 0));
  Value rem = arith::RemUIOp::create(b, loc, safe, index(b, loc, stride));
  Value exact = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rem,
                                      index(b, loc, 0));
  Value o = arith::DivUIOp::create(b, loc, safe, index(b, loc, stride));
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, o,
                                        index(b, loc, outSize));
  Value valid = arith::AndIOp::create(
      b, loc, nonNeg, arith::AndIOp::create(b, loc, exact, inRange));
  Value clamped =
      arith::SelectOp::create(b, loc, valid, o, index(b, loc, 0));
  return {clamped, valid};
}

/// dx[n, c, h, w] = sum over taps (kh, kw) of contribution(n, c, oh, ow)
/// for the windows (oh, ow) that read (h, w) at that tap.
Value gatherGrad(OpBuilder &b, Location loc, const Window &w,
                 RankedTensorType dxType,
                 const std::function<Value(OpBuilder &, Location, Value n,
                                           Value c, Value h, Value wi,
                                           Value oh, Value ow)> &contribution) {
  MLIRContext *ctx = b.getContext();
  // Iteration space (n, c, h, w, kh, kw); the window tensor only gives
  // the loop bounds of the taps.
  Value taps = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{w.kh, w.kw},
                                       dxType.getElementType());
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap tapMap = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
  AffineMap outMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      b, loc, dxType, ValueRange{taps},
      ValueRange{filledTensor(b, loc, dxType, 0.0)},
      ArrayRef<AffineMap>{tapMap, outMap}, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value n = linalg::IndexOp::create(nb, l, 0);
        Value c = linalg::IndexOp::create(nb, l, 1);
        Value h = linalg::IndexOp::create(nb, l, 2);
        Value wi = linalg::IndexOp::create(nb, l, 3);
        Value kh = linalg::IndexOp::create(nb, l, 4);
        Value kw = linalg::IndexOp::create(nb, l, 5);
        auto [oh, vh] = sourceWindow(nb, l, h, kh, w.pt, w.dh, w.sh, w.OH);
        auto [ow, vw] = sourceWindow(nb, l, wi, kw, w.pl, w.dw, w.sw, w.OW);
        Value valid = arith::AndIOp::create(nb, l, vh, vw);
        Value add = contribution(nb, l, n, c, h, wi, oh, ow);
        Value zero = floatConstant(nb, l, add.getType(), 0.0);
        Value term = arith::SelectOp::create(nb, l, valid, add, zero);
        linalg::YieldOp::create(nb, l,
                                Value(arith::AddFOp::create(nb, l, args[1], term)));
      });
  return generic.getResult(0);
}

struct MaxPoolGradPattern : OpConversionPattern<nn::MaxPool2DGradOp> {
  MaxPoolGradPattern(MLIRContext *ctx, bool useKernels)
      : OpConversionPattern(ctx), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(nn::MaxPool2DGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = op.getType();
    Window w(xType, op.getGrad().getType(), op.getKernel(), op.getStrides(),
             op.getPads(), op.getDilations());
    if (useKernels && xType.getElementType().isF32()) {
      auto call = cpu::KernelCallOp::create(
          rewriter, loc, TypeRange{xType}, "max_pool2d_grad",
          ValueRange{adaptor.getGrad(), adaptor.getInput()},
          rewriter.getDenseI64ArrayAttr({w.N, w.C, w.H, w.W, w.OH, w.OW, w.kh,
                                         w.kw, w.sh, w.sw, w.pt, w.pl, w.dh,
                                         w.dw}),
          rewriter.getDenseF64ArrayAttr({}));
      rewriter.replaceOp(op, call.getResults());
      return success();
    }
    // The first maximum of each window, as a flat index h * W + w: a
    // reduction over the taps that keeps the earlier position on ties.
    MLIRContext *ctx = rewriter.getContext();
    double ninf = -std::numeric_limits<double>::infinity();
    Value padded = w.pad(rewriter, loc, adaptor.getInput(), ninf);
    auto outShape = op.getGrad().getType().getShape();
    auto idxType = RankedTensorType::get(outShape, rewriter.getI64Type());
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineMap inMap = AffineMap::get(
        6, 0,
        {d(0), d(1), d(2) * w.sh + d(4) * w.dh, d(3) * w.sw + d(5) * w.dw},
        ctx);
    AffineMap outMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    // The input's map does not fix the taps' loop bounds; a window tensor
    // does (as in gatherGrad).
    AffineMap tapMap = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
    Value taps = tensor::EmptyOp::create(rewriter, loc,
                                         ArrayRef<int64_t>{w.kh, w.kw},
                                         xType.getElementType());
    SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
    iterators.append(2, utils::IteratorType::reduction);
    Value bestInit = filledTensor(rewriter, loc, op.getGrad().getType(), ninf);
    Value idxInit = linalg::FillOp::create(
                        rewriter, loc,
                        ValueRange{arith::ConstantIntOp::create(rewriter, loc,
                                                                -1, 64)},
                        ValueRange{tensor::EmptyOp::create(
                            rewriter, loc, outShape, rewriter.getI64Type())})
                        .getResult(0);
    auto argmax = linalg::GenericOp::create(
        rewriter, loc, TypeRange{bestInit.getType(), idxType},
        ValueRange{padded, taps}, ValueRange{bestInit, idxInit},
        ArrayRef<AffineMap>{inMap, tapMap, outMap, outMap}, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value oh = linalg::IndexOp::create(b, l, 2);
          Value ow = linalg::IndexOp::create(b, l, 3);
          Value kh = linalg::IndexOp::create(b, l, 4);
          Value kw = linalg::IndexOp::create(b, l, 5);
          Value ih = arith::SubIOp::create(
              b, l,
              arith::AddIOp::create(
                  b, l, arith::MulIOp::create(b, l, oh, index(b, l, w.sh)),
                  arith::MulIOp::create(b, l, kh, index(b, l, w.dh))),
              index(b, l, w.pt));
          Value iw = arith::SubIOp::create(
              b, l,
              arith::AddIOp::create(
                  b, l, arith::MulIOp::create(b, l, ow, index(b, l, w.sw)),
                  arith::MulIOp::create(b, l, kw, index(b, l, w.dw))),
              index(b, l, w.pl));
          Value flat = arith::AddIOp::create(
              b, l, arith::MulIOp::create(b, l, ih, index(b, l, w.W)), iw);
          Value flat64 =
              arith::IndexCastOp::create(b, l, b.getI64Type(), flat);
          // args: input element, tap (unused), best so far, its index.
          Value better = arith::CmpFOp::create(
              b, l, arith::CmpFPredicate::OGT, args[0], args[2]);
          linalg::YieldOp::create(
              b, l,
              ValueRange{
                  arith::SelectOp::create(b, l, better, args[0], args[2]),
                  arith::SelectOp::create(b, l, better, flat64, args[3])});
        });
    Value indices = argmax.getResult(1);
    Value grad = adaptor.getGrad();
    Value dx = gatherGrad(
        rewriter, loc, w, xType,
        [&](OpBuilder &b, Location l, Value n, Value c, Value h, Value wi,
            Value oh, Value ow) {
          Value at = tensor::ExtractOp::create(b, l, indices,
                                               ValueRange{n, c, oh, ow});
          Value flat = arith::AddIOp::create(
              b, l, arith::MulIOp::create(b, l, h, index(b, l, w.W)), wi);
          Value mine = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::eq, at,
              arith::IndexCastOp::create(b, l, b.getI64Type(), flat));
          Value g = tensor::ExtractOp::create(b, l, grad,
                                              ValueRange{n, c, oh, ow});
          return arith::SelectOp::create(b, l, mine, g,
                                         floatConstant(b, l, g.getType(), 0));
        });
    rewriter.replaceOp(op, dx);
    return success();
  }
  bool useKernels;
};

struct AvgPoolGradPattern : OpConversionPattern<nn::AvgPool2DGradOp> {
  AvgPoolGradPattern(MLIRContext *ctx, bool useKernels)
      : OpConversionPattern(ctx), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(nn::AvgPool2DGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = op.getType();
    Window w(xType, op.getGrad().getType(), op.getKernel(), op.getStrides(),
             op.getPads(), {});
    Type element = xType.getElementType();
    Value divisors = constantTensor(
        rewriter, loc, {w.OH, w.OW}, element,
        avgPoolDivisors(w.H, w.W, w.OH, w.OW, op.getKernel(), op.getStrides(),
                        op.getPads(), op.getCountIncludePad()));
    if (useKernels && element.isF32()) {
      auto call = cpu::KernelCallOp::create(
          rewriter, loc, TypeRange{xType}, "avg_pool2d_grad",
          ValueRange{adaptor.getGrad(), divisors},
          rewriter.getDenseI64ArrayAttr({w.N, w.C, w.H, w.W, w.OH, w.OW, w.kh,
                                         w.kw, w.sh, w.sw, w.pt, w.pl}),
          rewriter.getDenseF64ArrayAttr({}));
      rewriter.replaceOp(op, call.getResults());
      return success();
    }
    Value grad = adaptor.getGrad();
    Value dx = gatherGrad(
        rewriter, loc, w, xType,
        [&](OpBuilder &b, Location l, Value n, Value c, Value, Value,
            Value oh, Value ow) -> Value {
          Value g = tensor::ExtractOp::create(b, l, grad,
                                              ValueRange{n, c, oh, ow});
          Value div =
              tensor::ExtractOp::create(b, l, divisors, ValueRange{oh, ow});
          return arith::DivFOp::create(b, l, g, div);
        });
    rewriter.replaceOp(op, dx);
    return success();
  }
  bool useKernels;
};

} // namespace

void adagp::lowering::populatePoolingPatterns(RewritePatternSet &patterns,
                                              bool useKernels) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<MaxPoolPattern, AvgPoolPattern>(ctx);
  patterns.add<MaxPoolGradPattern, AvgPoolGradPattern>(ctx, useKernels);
}
