//===- Linear.cpp - convolutions and matrix products ----------------------===//
//
// With kernels (f32), these become cpu.kernel_call operations of the
// runtime's im2col + GEMM kernels. Otherwise:
//   conv2d              linalg.conv_2d_nchw_fchw (ngchw_gfchw with groups)
//                       on a zero-padded input
//   conv2d_filter_grad  one linalg.generic: dw[g,k,c,r,s] +=
//                       dy[n,gK+k,oh,ow] * x[n,gC+c,oh*sh+r*dh,ow*sw+s*dw]
//   conv2d_input_grad   a transposed convolution: dy spread out by the
//                       stride, padded by dilation*(kernel-1), convolved
//                       with the flipped, transposed filter, then cropped
//   gemm / matmul       linalg.matmul / linalg.batch_matmul
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "adagp/Dialect/CPU/CPUDialect.h"
#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;
using namespace adagp;
using namespace adagp::lowering;

namespace {

struct ConvShape {
  int64_t N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, PB, PR, DH, DW, G;

  ConvShape(RankedTensorType x, RankedTensorType w, RankedTensorType y,
            ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
            ArrayRef<int64_t> dilations, int64_t groups) {
    N = x.getDimSize(0), C = x.getDimSize(1), H = x.getDimSize(2),
    W = x.getDimSize(3);
    K = w.getDimSize(0), R = w.getDimSize(2), S = w.getDimSize(3);
    OH = y.getDimSize(2), OW = y.getDimSize(3);
    SH = strides[0], SW = strides[1], PT = pads[0], PL = pads[1],
    PB = pads[2], PR = pads[3], DH = dilations[0], DW = dilations[1];
    G = groups;
  }

  DenseI64ArrayAttr params(OpBuilder &b) const {
    return b.getDenseI64ArrayAttr(
        {N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, PB, PR, DH, DW, G});
  }
};

Value kernelCall(OpBuilder &b, Location loc, StringRef kernel,
                 RankedTensorType result, ValueRange inputs,
                 ArrayRef<int64_t> params, ArrayRef<double> fparams = {}) {
  return cpu::KernelCallOp::create(b, loc, TypeRange{result}, kernel, inputs,
                                   b.getDenseI64ArrayAttr(params),
                                   b.getDenseF64ArrayAttr(fparams))
      .getResult(0);
}

bool kernelsFor(bool useKernels, Type type) {
  return useKernels &&
         cast<RankedTensorType>(type).getElementType().isF32();
}

/// A grouped convolution with linalg: input [N, G*Cg, H, W] (already
/// padded), filter [G*F, Cg, R, S] (already in linalg's layout) ->
/// [N, G*F, OH, OW].
Value linalgConv(OpBuilder &b, Location loc, Value x, Value w,
                 RankedTensorType outType, int64_t groups,
                 ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations) {
  auto xt = tensorType(x), wt = tensorType(w);
  Type element = outType.getElementType();
  auto stridesAttr = i64Elements(b, strides);
  auto dilationsAttr = i64Elements(b, dilations);
  if (groups == 1) {
    Value out = filledTensor(b, loc, outType, 0.0);
    return linalg::Conv2DNchwFchwOp::create(b, loc, TypeRange{outType},
                                            ValueRange{x, w}, ValueRange{out},
                                            stridesAttr, dilationsAttr)
        .getResult(0);
  }
  int64_t cg = xt.getDimSize(1) / groups, f = wt.getDimSize(0) / groups;
  auto xg = RankedTensorType::get({xt.getDimSize(0), groups, cg,
                                   xt.getDimSize(2), xt.getDimSize(3)},
                                  element);
  auto wg = RankedTensorType::get(
      {groups, f, cg, wt.getDimSize(2), wt.getDimSize(3)}, element);
  auto og = RankedTensorType::get({outType.getDimSize(0), groups, f,
                                   outType.getDimSize(2),
                                   outType.getDimSize(3)},
                                  element);
  Value out = filledTensor(b, loc, og, 0.0);
  Value y = linalg::Conv2DNgchwGfchwOp::create(
                b, loc, TypeRange{og},
                ValueRange{reshapeTo(b, loc, x, xg), reshapeTo(b, loc, w, wg)},
                ValueRange{out}, stridesAttr, dilationsAttr)
                .getResult(0);
  return reshapeTo(b, loc, y, outType);
}

Value addBias(OpBuilder &b, Location loc, Value y, Value bias) {
  auto type = tensorType(y);
  auto bt = tensorType(bias);
  Value b3 = reshapeTo(b, loc, bias,
                       RankedTensorType::get({bt.getDimSize(0), 1, 1},
                                             bt.getElementType()));
  return elementwise(b, loc, type, ValueRange{y, b3},
                     [](OpBuilder &nb, Location l, ValueRange a) {
                       return arith::AddFOp::create(nb, l, a[0], a[1]);
                     });
}

struct ConvPattern : OpConversionPattern<nn::Conv2DOp> {
  ConvPattern(MLIRContext *ctx, bool useKernels)
      : OpConversionPattern(ctx), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(nn::Conv2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ConvShape s(op.getInput().getType(), op.getFilter().getType(),
                op.getType(), op.getStrides(), op.getPads(),
                op.getDilations(), op.getGroups());
    if (kernelsFor(useKernels, op.getType())) {
      SmallVector<Value> inputs = {adaptor.getInput(), adaptor.getFilter()};
      if (adaptor.getBias())
        inputs.push_back(adaptor.getBias());
      rewriter.replaceOp(
          op, kernelCall(rewriter, loc,
                         adaptor.getBias() ? "conv2d_forward_bias"
                                           : "conv2d_forward",
                         op.getType(), inputs, s.params(rewriter).asArrayRef()));
      return success();
    }
    // The padded input must also cover what a stride leaves unread past the
    // bottom/right padding, so crop or pad to exactly what the output reads.
    int64_t needH = (s.OH - 1) * s.SH + s.DH * (s.R - 1) + 1;
    int64_t needW = (s.OW - 1) * s.SW + s.DW * (s.S - 1) + 1;
    Value padded = padTensor(rewriter, loc, adaptor.getInput(),
                             {0, 0, s.PT, s.PL}, {0, 0, s.PB, s.PR}, 0.0);
    auto pt = tensorType(padded);
    if (pt.getDimSize(2) != needH || pt.getDimSize(3) != needW) {
      auto cropped = RankedTensorType::get(
          {s.N, s.C, needH, needW}, pt.getElementType());
      padded = tensor::ExtractSliceOp::create(
          rewriter, loc, cropped, padded,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0),
                                 rewriter.getIndexAttr(0),
                                 rewriter.getIndexAttr(0),
                                 rewriter.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(s.N),
                                 rewriter.getIndexAttr(s.C),
                                 rewriter.getIndexAttr(needH),
                                 rewriter.getIndexAttr(needW)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1),
                                 rewriter.getIndexAttr(1),
                                 rewriter.getIndexAttr(1),
                                 rewriter.getIndexAttr(1)});
    }
    Value y = linalgConv(rewriter, loc, padded, adaptor.getFilter(),
                         op.getType(), s.G, op.getStrides(),
                         op.getDilations());
    if (adaptor.getBias())
      y = addBias(rewriter, loc, y, adaptor.getBias());
    rewriter.replaceOp(op, y);
    return success();
  }
  bool useKernels;
};

struct ConvFilterGradPattern : OpConversionPattern<nn::Conv2DFilterGradOp> {
  ConvFilterGradPattern(MLIRContext *ctx, bool useKernels)
      : OpConversionPattern(ctx), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(nn::Conv2DFilterGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ConvShape s(op.getInput().getType(), op.getType(), op.getGrad().getType(),
                op.getStrides(), op.getPads(), op.getDilations(),
                op.getGroups());
    if (kernelsFor(useKernels, op.getType())) {
      rewriter.replaceOp(op, kernelCall(rewriter, loc, "conv2d_filter_grad",
                                        op.getType(),
                                        ValueRange{adaptor.getGrad(),
                                                   adaptor.getInput()},
                                        s.params(rewriter).asArrayRef()));
      return success();
    }
    MLIRContext *ctx = rewriter.getContext();
    int64_t cg = s.C / s.G, kg = s.K / s.G;
    // Pad so that every read position exists (extra zeros past the bottom
    // and right are never multiplied by a real gradient).
    int64_t needH = (s.OH - 1) * s.SH + s.DH * (s.R - 1) + 1;
    int64_t needW = (s.OW - 1) * s.SW + s.DW * (s.S - 1) + 1;
    Value padded = padTensor(
        rewriter, loc, adaptor.getInput(), {0, 0, s.PT, s.PL},
        {0, 0, std::max<int64_t>(0, needH - s.H - s.PT),
         std::max<int64_t>(0, needW - s.W - s.PL)},
        0.0);
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    // Dims: g, k, c, r, s, n, oh, ow.
    AffineMap dyMap =
        AffineMap::get(8, 0, {d(5), d(0) * kg + d(1), d(6), d(7)}, ctx);
    AffineMap xMap = AffineMap::get(
        8, 0,
        {d(5), d(0) * cg + d(2), d(6) * s.SH + d(3) * s.DH,
         d(7) * s.SW + d(4) * s.DW},
        ctx);
    AffineMap outMap = AffineMap::get(8, 0, {d(0), d(1), d(2), d(3), d(4)},
                                      ctx);
    Type element = op.getType().getElementType();
    auto outType =
        RankedTensorType::get({s.G, kg, cg, s.R, s.S}, element);
    SmallVector<utils::IteratorType> iterators(5,
                                               utils::IteratorType::parallel);
    iterators.append(3, utils::IteratorType::reduction);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, outType, ValueRange{adaptor.getGrad(), padded},
        ValueRange{filledTensor(rewriter, loc, outType, 0.0)},
        ArrayRef<AffineMap>{dyMap, xMap, outMap}, iterators,
        [](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(
              b, l,
              Value(arith::AddFOp::create(
                  b, l, a[2], arith::MulFOp::create(b, l, a[0], a[1]))));
        });
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, generic.getResult(0),
                                     op.getType()));
    return success();
  }
  bool useKernels;
};

struct ConvInputGradPattern : OpConversionPattern<nn::Conv2DInputGradOp> {
  ConvInputGradPattern(MLIRContext *ctx, bool useKernels)
      : OpConversionPattern(ctx), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(nn::Conv2DInputGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ConvShape s(op.getType(), op.getFilter().getType(),
                op.getGrad().getType(), op.getStrides(), op.getPads(),
                op.getDilations(), op.getGroups());
    if (kernelsFor(useKernels, op.getType())) {
      rewriter.replaceOp(op, kernelCall(rewriter, loc, "conv2d_input_grad",
                                        op.getType(),
                                        ValueRange{adaptor.getGrad(),
                                                   adaptor.getFilter()},
                                        s.params(rewriter).asArrayRef()));
      return success();
    }
    MLIRContext *ctx = rewriter.getContext();
    Type element = op.getType().getElementType();
    int64_t cg = s.C / s.G, kg = s.K / s.G;
    // dy spread out by the stride: [N, K, (OH-1)*SH+1, (OW-1)*SW+1].
    int64_t hd = (s.OH - 1) * s.SH + 1, wd = (s.OW - 1) * s.SW + 1;
    int64_t eh = s.DH * (s.R - 1), ew = s.DW * (s.S - 1);
    auto spreadType =
        RankedTensorType::get({s.N, s.K, hd + 2 * eh, wd + 2 * ew}, element);
    Value spread = filledTensor(rewriter, loc, spreadType, 0.0);
    auto idx = [&](int64_t v) -> OpFoldResult {
      return rewriter.getIndexAttr(v);
    };
    spread = tensor::InsertSliceOp::create(
        rewriter, loc, adaptor.getGrad(), spread,
        ArrayRef<OpFoldResult>{idx(0), idx(0), idx(eh), idx(ew)},
        ArrayRef<OpFoldResult>{idx(s.N), idx(s.K), idx(s.OH), idx(s.OW)},
        ArrayRef<OpFoldResult>{idx(1), idx(1), idx(s.SH), idx(s.SW)});
    // The flipped filter with input and output channels swapped within
    // each group: wt[g*Cg + c, k, r, s] = w[g*Kg + k, c, R-1-r, S-1-s].
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    auto wtType = RankedTensorType::get({s.G, cg, kg, s.R, s.S}, element);
    AffineMap inMap = AffineMap::get(
        5, 0,
        {d(0) * kg + d(2), d(1), s.R - 1 - d(3), s.S - 1 - d(4)}, ctx);
    auto flip = linalg::GenericOp::create(
        rewriter, loc, wtType, ValueRange{adaptor.getFilter()},
        ValueRange{emptyTensor(rewriter, loc, wtType)},
        ArrayRef<AffineMap>{inMap, rewriter.getMultiDimIdentityMap(5)},
        SmallVector<utils::IteratorType>(5, utils::IteratorType::parallel),
        [](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(b, l, a[0]);
        });
    Value wt = reshapeTo(rewriter, loc, flip.getResult(0),
                         RankedTensorType::get({s.C, kg, s.R, s.S}, element));
    int64_t hf = hd + eh, wf = wd + ew;
    auto fullType = RankedTensorType::get({s.N, s.C, hf, wf}, element);
    Value full = linalgConv(rewriter, loc, spread, wt, fullType, s.G, {1, 1},
                            op.getDilations());
    // dx[i] = full[i + pad]; rows the forward never read stay zero.
    Value padded = padTensor(rewriter, loc, full, {0, 0, 0, 0},
                             {0, 0, std::max<int64_t>(0, s.PT + s.H - hf),
                              std::max<int64_t>(0, s.PL + s.W - wf)},
                             0.0);
    Value dx = tensor::ExtractSliceOp::create(
        rewriter, loc, op.getType(), padded,
        ArrayRef<OpFoldResult>{idx(0), idx(0), idx(s.PT), idx(s.PL)},
        ArrayRef<OpFoldResult>{idx(s.N), idx(s.C), idx(s.H), idx(s.W)},
        ArrayRef<OpFoldResult>{idx(1), idx(1), idx(1), idx(1)});
    rewriter.replaceOp(op, dx);
    return success();
  }
  bool useKernels;
};

Value transpose2D(OpBuilder &b, Location loc, Value m) {
  auto t = tensorType(m);
  auto type = RankedTensorType::get({t.getDimSize(1), t.getDimSize(0)},
                                    t.getElementType());
  return linalg::TransposeOp::create(b, loc, m, emptyTensor(b, loc, type),
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

Value linalgMatmul(OpBuilder &b, Location loc, Value a, Value bm,
                   RankedTensorType outType) {
  Value out = filledTensor(b, loc, outType, 0.0);
  return linalg::MatmulOp::create(b, loc, TypeRange{outType},
                                  ValueRange{a, bm}, ValueRange{out})
      .getResult(0);
}

struct GemmPattern : OpConversionPattern<nn::GemmOp> {
  GemmPattern(MLIRContext *ctx, bool useKernels)
      : OpConversionPattern(ctx), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(nn::GemmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    double alpha = op.getAlpha().convertToDouble();
    double beta = op.getBeta().convertToDouble();
    int64_t m = type.getDimSize(0), n = type.getDimSize(1);
    int64_t k = op.getA().getType().getDimSize(op.getTransA() ? 0 : 1);
    Value y;
    if (kernelsFor(useKernels, type)) {
      y = kernelCall(rewriter, loc, "matmul", type,
                     ValueRange{adaptor.getA(), adaptor.getB()},
                     {m, n, k, op.getTransA(), op.getTransB()}, {alpha});
    } else {
      Value a = op.getTransA() ? transpose2D(rewriter, loc, adaptor.getA())
                               : adaptor.getA();
      Value bm = op.getTransB() ? transpose2D(rewriter, loc, adaptor.getB())
                                : adaptor.getB();
      y = linalgMatmul(rewriter, loc, a, bm, type);
      if (alpha != 1.0)
        y = elementwise(rewriter, loc, type, y,
                        [&](OpBuilder &b, Location l, ValueRange v) {
                          return arith::MulFOp::create(
                              b, l, v[0],
                              floatConstant(b, l, v[0].getType(), alpha));
                        });
    }
    if (adaptor.getC() && beta != 0.0)
      y = elementwise(rewriter, loc, type, ValueRange{y, adaptor.getC()},
                      [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                        Value c = v[1];
                        if (beta != 1.0)
                          c = arith::MulFOp::create(
                              b, l, c, floatConstant(b, l, c.getType(), beta));
                        return arith::AddFOp::create(b, l, v[0], c);
                      });
    rewriter.replaceOp(op, y);
    return success();
  }
  bool useKernels;
};

struct MatMulPattern : OpConversionPattern<nn::MatMulOp> {
  MatMulPattern(MLIRContext *ctx, bool useKernels)
      : OpConversionPattern(ctx), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(nn::MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    Type element = type.getElementType();
    Value a = adaptor.getLhs(), b = adaptor.getRhs();
    auto at = tensorType(a), bt = tensorType(b);
    int64_t m = at.getDimSize(at.getRank() - 2), k = at.getShape().back();
    int64_t n = bt.getShape().back();
    ArrayRef<int64_t> batch = type.getShape().drop_back(2);
    int64_t batchSize = 1;
    for (int64_t d : batch)
      batchSize *= d;
    bool kernels = kernelsFor(useKernels, type);

    // [..., M, K] x [K, N]: one matrix product over all rows.
    if (bt.getRank() == 2) {
      auto flatA = RankedTensorType::get({batchSize * m, k}, element);
      auto flatY = RankedTensorType::get({batchSize * m, n}, element);
      Value a2 = reshapeTo(rewriter, loc, a, flatA);
      Value y = kernels ? kernelCall(rewriter, loc, "matmul", flatY,
                                     ValueRange{a2, b},
                                     {batchSize * m, n, k, 0, 0}, {1.0})
                        : linalgMatmul(rewriter, loc, a2, b, flatY);
      rewriter.replaceOp(op, reshapeTo(rewriter, loc, y, type));
      return success();
    }
    // Operands whose batch dimensions are not all there are broadcast
    // first (a matrix shared by the whole batch is not copied with
    // kernels: its stride is 0).
    auto fullBatch = [&](Value v, int64_t rows, int64_t cols,
                         bool &shared) -> Value {
      auto t = tensorType(v);
      shared = t.getRank() == 2;
      if (shared && kernels)
        return v;
      ArrayRef<int64_t> own = t.getShape().drop_back(2);
      if (own == batch)
        return reshapeTo(rewriter, loc, v,
                         RankedTensorType::get({batchSize, rows, cols},
                                               element));
      shared = false;
      SmallVector<int64_t> full(batch);
      full.push_back(rows);
      full.push_back(cols);
      auto fullType = RankedTensorType::get(full, element);
      Value wide = elementwise(rewriter, loc, fullType, v,
                               [](OpBuilder &, Location, ValueRange x) {
                                 return x[0];
                               });
      return reshapeTo(rewriter, loc, wide,
                       RankedTensorType::get({batchSize, rows, cols}, element));
    };
    bool sharedA = false, sharedB = false;
    Value a3 = fullBatch(a, m, k, sharedA);
    Value b3 = fullBatch(b, k, n, sharedB);
    auto outType = RankedTensorType::get({batchSize, m, n}, element);
    Value y;
    if (kernels) {
      y = kernelCall(rewriter, loc, "batch_matmul", outType,
                     ValueRange{a3, b3},
                     {batchSize, m, n, k, sharedA ? 0 : m * k,
                      sharedB ? 0 : k * n, 0, 0});
    } else {
      Value out = filledTensor(rewriter, loc, outType, 0.0);
      y = linalg::BatchMatmulOp::create(rewriter, loc, TypeRange{outType},
                                        ValueRange{a3, b3}, ValueRange{out})
              .getResult(0);
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, y, type));
    return success();
  }
  bool useKernels;
};

} // namespace

void adagp::lowering::populateLinearPatterns(RewritePatternSet &patterns,
                                             bool useKernels) {
  patterns.add<ConvPattern, ConvFilterGradPattern, ConvInputGradPattern,
               GemmPattern, MatMulPattern>(patterns.getContext(), useKernels);
}
