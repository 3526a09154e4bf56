//===- NNOps.cpp - Operations of the nn dialect ---------------------------===//
//
// Verifiers, result-type inference, folders and canonicalisations.
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace adagp::nn;

#include "adagp/Dialect/NN/NNInterfaces.cpp.inc"
#include "adagp/Dialect/NN/NNOpsDialect.cpp.inc"

void NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "adagp/Dialect/NN/NNOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<int64_t>>
adagp::nn::broadcastShapes(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (l != r && l != 1 && r != 1)
      return failure();
    result[i] = l == 1 ? r : l;
  }
  return result;
}

int64_t adagp::nn::windowOutputSize(int64_t input, int64_t kernel,
                                    int64_t stride, int64_t padBegin,
                                    int64_t padEnd, int64_t dilation,
                                    bool ceilMode) {
  int64_t span = input + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (span < 0 || stride <= 0)
    return 0;
  int64_t out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
  // PyTorch's rule, which exported models rely on: with ceil_mode the last
  // window must start inside the input or the leading padding.
  if (ceilMode && (out - 1) * stride >= input + padBegin)
    --out;
  return out;
}

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

static RankedTensorType tensorType(Value v) {
  return llvm::dyn_cast_or_null<RankedTensorType>(v ? v.getType() : Type());
}

/// Checks that all float operands share one element type.
static LogicalResult verifySameElementType(Operation *op) {
  Type element;
  for (Value v : op->getOperands()) {
    auto t = tensorType(v);
    if (!t || !llvm::isa<FloatType>(t.getElementType()))
      continue;
    if (!element)
      element = t.getElementType();
    else if (element != t.getElementType())
      return op->emitOpError("mixes element types ")
             << element << " and " << t.getElementType();
  }
  return success();
}

static LogicalResult verifyPositive(Operation *op, StringRef name,
                                    ArrayRef<int64_t> values) {
  for (int64_t v : values)
    if (v <= 0)
      return op->emitOpError() << "'" << name << "' must be positive, got "
                               << shapeString(values);
  return success();
}

static LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError("axis ") << axis << " out of range";
  return success();
}

static LogicalResult verifyNonNegative(Operation *op, StringRef name,
                                       ArrayRef<int64_t> values) {
  for (int64_t v : values)
    if (v < 0)
      return op->emitOpError() << "'" << name
                               << "' must be non-negative, got "
                               << shapeString(values);
  return success();
}

//===----------------------------------------------------------------------===//
// Broadcasting binary operations
//===----------------------------------------------------------------------===//

template <typename Adaptor>
static LogicalResult inferBroadcast(std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  auto lhs = tensorType(adaptor.getLhs());
  auto rhs = tensorType(adaptor.getRhs());
  if (!lhs || !rhs)
    return emitOptionalError(loc, "expects ranked tensor operands");
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, "mixes element types ",
                             lhs.getElementType(), " and ",
                             rhs.getElementType());
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (failed(shape))
    return emitOptionalError(loc, "shapes ", shapeString(lhs.getShape()),
                             " and ", shapeString(rhs.getShape()),
                             " do not broadcast");
  results.push_back(RankedTensorType::get(*shape, lhs.getElementType()));
  return success();
}

#define NN_BROADCAST_INFER(OP)                                                 \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> l, \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferBroadcast(l, adaptor, results);                                \
  }
NN_BROADCAST_INFER(AddOp)
NN_BROADCAST_INFER(SubOp)
NN_BROADCAST_INFER(MulOp)
NN_BROADCAST_INFER(DivOp)
NN_BROADCAST_INFER(PowOp)
NN_BROADCAST_INFER(MaxOp)
NN_BROADCAST_INFER(MinOp)
#undef NN_BROADCAST_INFER

LogicalResult BroadcastToOp::verify() {
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("changes the element type");
  auto shape = broadcastShapes(in.getShape(), out.getShape());
  if (failed(shape) || ArrayRef<int64_t>(*shape) != out.getShape())
    return emitOpError() << "cannot broadcast " << shapeString(in.getShape())
                         << " to " << shapeString(out.getShape());
  return success();
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor) {
  if (getInput().getType() == getResult().getType())
    return getInput();
  return {};
}

LogicalResult ClipOp::verify() {
  if (getMin().convertToDouble() > getMax().convertToDouble())
    return emitOpError("has min ") << getMin().convertToDouble()
                                   << " greater than max "
                                   << getMax().convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

/// Checks the attributes and operand shapes of a convolution given its
/// input, filter and output shapes, all NCHW/OIHW.
static LogicalResult
verifyConvShapes(Operation *op, ArrayRef<int64_t> input,
                 ArrayRef<int64_t> filter, ArrayRef<int64_t> output,
                 ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                 ArrayRef<int64_t> dilations, int64_t groups) {
  if (failed(verifyPositive(op, "strides", strides)) ||
      failed(verifyPositive(op, "dilations", dilations)) ||
      failed(verifyNonNegative(op, "pads", pads)))
    return failure();
  if (groups <= 0)
    return op->emitOpError("'groups' must be positive, got ") << groups;
  if (input[1] != filter[1] * groups)
    return op->emitOpError("input has ")
           << input[1] << " channels but the filter expects " << filter[1]
           << " x " << groups << " groups";
  if (filter[0] % groups != 0)
    return op->emitOpError("filter count ")
           << filter[0] << " is not a multiple of groups " << groups;
  SmallVector<int64_t> expected = {input[0], filter[0]};
  for (int i = 0; i < 2; ++i) {
    int64_t size = windowOutputSize(input[2 + i], filter[2 + i], strides[i],
                                    pads[i], pads[i + 2], dilations[i], false);
    if (size < 1)
      return op->emitOpError("filter ")
             << shapeString(filter) << " does not fit the padded input "
             << shapeString(input);
    expected.push_back(size);
  }
  if (!output.empty() && ArrayRef<int64_t>(expected) != output)
    return op->emitOpError("output shape ")
           << shapeString(output) << " does not match the convolution of "
           << shapeString(input) << " by " << shapeString(filter)
           << ", which is " << shapeString(expected);
  return success();
}

LogicalResult Conv2DOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto filter = tensorType(adaptor.getFilter());
  auto strides = adaptor.getStridesAttr();
  auto pads = adaptor.getPadsAttr();
  auto dilations = adaptor.getDilationsAttr();
  if (!input || !filter || input.getRank() != 4 || filter.getRank() != 4 ||
      !strides || !pads || !dilations || strides.size() != 2 ||
      pads.size() != 4 || dilations.size() != 2)
    return emitOptionalError(loc, "expects 4-D input and filter and "
                                  "strides, pads, dilations attributes");
  // The verifier reports bad attribute values more precisely.
  if (llvm::any_of(strides.asArrayRef(), [](int64_t s) { return s <= 0; }) ||
      llvm::any_of(dilations.asArrayRef(), [](int64_t d) { return d <= 0; }))
    return emitOptionalError(loc, "'strides' and 'dilations' must be "
                                  "positive, got ",
                             shapeString(strides.asArrayRef()), " and ",
                             shapeString(dilations.asArrayRef()));
  SmallVector<int64_t> shape = {input.getDimSize(0), filter.getDimSize(0)};
  for (int i = 0; i < 2; ++i)
    shape.push_back(windowOutputSize(input.getDimSize(2 + i),
                                     filter.getDimSize(2 + i), strides[i],
                                     pads[i], pads[i + 2], dilations[i],
                                     false));
  if (shape[2] < 1 || shape[3] < 1)
    return emitOptionalError(loc, "filter ", shapeString(filter.getShape()),
                             " does not fit the padded input ",
                             shapeString(input.getShape()));
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult Conv2DOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  if (getBias() && getBias().getType().getDimSize(0) !=
                       getFilter().getType().getDimSize(0))
    return emitOpError("bias has ")
           << getBias().getType().getDimSize(0) << " elements but there are "
           << getFilter().getType().getDimSize(0) << " filters";
  return verifyConvShapes(*this, getInput().getType().getShape(),
                          getFilter().getType().getShape(),
                          getResult().getType().getShape(), getStrides(),
                          getPads(), getDilations(), getGroups());
}

LogicalResult Conv2DInputGradOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  return verifyConvShapes(*this, getResult().getType().getShape(),
                          getFilter().getType().getShape(),
                          getGrad().getType().getShape(), getStrides(),
                          getPads(), getDilations(), getGroups());
}

LogicalResult Conv2DFilterGradOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  return verifyConvShapes(*this, getInput().getType().getShape(),
                          getResult().getType().getShape(),
                          getGrad().getType().getShape(), getStrides(),
                          getPads(), getDilations(), getGroups());
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

LogicalResult GemmOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  auto a = tensorType(adaptor.getA());
  auto b = tensorType(adaptor.getB());
  if (!a || !b || a.getRank() != 2 || b.getRank() != 2)
    return emitOptionalError(loc, "expects 2-D operands");
  bool transA = adaptor.getTransAAttr() && adaptor.getTransA();
  bool transB = adaptor.getTransBAttr() && adaptor.getTransB();
  int64_t m = a.getDimSize(transA ? 1 : 0);
  int64_t n = b.getDimSize(transB ? 0 : 1);
  results.push_back(RankedTensorType::get({m, n}, a.getElementType()));
  return success();
}

LogicalResult GemmOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  auto a = getA().getType();
  auto b = getB().getType();
  int64_t ka = a.getDimSize(getTransA() ? 0 : 1);
  int64_t kb = b.getDimSize(getTransB() ? 1 : 0);
  if (ka != kb)
    return emitOpError("inner dimensions differ: ")
           << ka << " (a" << (getTransA() ? "^T" : "") << ") vs " << kb
           << " (b" << (getTransB() ? "^T" : "") << ")";
  if (getC()) {
    auto c = llvm::cast<RankedTensorType>(getC().getType());
    auto shape = broadcastShapes(c.getShape(), getResult().getType().getShape());
    if (c.getRank() > 2 || failed(shape) ||
        ArrayRef<int64_t>(*shape) != getResult().getType().getShape())
      return emitOpError("c of shape ")
             << shapeString(c.getShape()) << " does not broadcast to "
             << shapeString(getResult().getType().getShape());
  }
  return success();
}

LogicalResult MatMulOp::verify() {
  auto lhs = getLhs().getType();
  auto rhs = getRhs().getType();
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOpError("expects operands of rank >= 2");
  if (lhs.getShape().back() != rhs.getDimSize(rhs.getRank() - 2))
    return emitOpError("inner dimensions differ: ")
           << lhs.getShape().back() << " vs "
           << rhs.getDimSize(rhs.getRank() - 2);
  return success();
}

// The batch dimensions broadcast; the last two are [M, K] x [K, N].
LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  auto lhs = tensorType(adaptor.getLhs());
  auto rhs = tensorType(adaptor.getRhs());
  if (!lhs || !rhs || lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOptionalError(loc, "expects operands of rank >= 2");
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, "mixes element types");
  auto batch = broadcastShapes(lhs.getShape().drop_back(2),
                               rhs.getShape().drop_back(2));
  if (failed(batch))
    return emitOptionalError(loc, "batch dimensions do not broadcast");
  SmallVector<int64_t> shape(*batch);
  shape.push_back(lhs.getDimSize(lhs.getRank() - 2));
  shape.push_back(rhs.getShape().back());
  results.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

static FailureOr<SmallVector<int64_t>>
poolShape(std::optional<Location> loc, RankedTensorType input,
          DenseI64ArrayAttr kernel, DenseI64ArrayAttr strides,
          DenseI64ArrayAttr pads, ArrayRef<int64_t> dilations, bool ceilMode) {
  if (!input || input.getRank() != 4 || !kernel || !strides || !pads ||
      kernel.size() != 2 || strides.size() != 2 || pads.size() != 4)
    return (void)emitOptionalError(loc, "expects a 4-D input and kernel, "
                                        "strides and pads attributes"),
           failure();
  SmallVector<int64_t> shape = {input.getDimSize(0), input.getDimSize(1)};
  for (int i = 0; i < 2; ++i) {
    int64_t d = dilations.empty() ? 1 : dilations[i];
    int64_t size = windowOutputSize(input.getDimSize(2 + i), kernel[i],
                                    strides[i], pads[i], pads[i + 2], d,
                                    ceilMode);
    if (size < 1)
      return (void)emitOptionalError(loc, "window ",
                                     shapeString(kernel.asArrayRef()),
                                     " does not fit the padded input ",
                                     shapeString(input.getShape())),
             failure();
    shape.push_back(size);
  }
  return shape;
}

static LogicalResult verifyPoolAttrs(Operation *op, ArrayRef<int64_t> kernel,
                                     ArrayRef<int64_t> strides,
                                     ArrayRef<int64_t> pads,
                                     ArrayRef<int64_t> dilations) {
  if (failed(verifyPositive(op, "kernel", kernel)) ||
      failed(verifyPositive(op, "strides", strides)) ||
      failed(verifyPositive(op, "dilations", dilations)) ||
      failed(verifyNonNegative(op, "pads", pads)))
    return failure();
  for (int i = 0; i < 2; ++i)
    if (pads[i] >= kernel[i] || pads[i + 2] >= kernel[i])
      return op->emitOpError("pads ")
             << shapeString(pads) << " must be smaller than the kernel "
             << shapeString(kernel);
  return success();
}

LogicalResult MaxPool2DOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto dil = adaptor.getDilationsAttr();
  auto shape = poolShape(loc, input, adaptor.getKernelAttr(),
                         adaptor.getStridesAttr(), adaptor.getPadsAttr(),
                         dil ? dil.asArrayRef() : ArrayRef<int64_t>(),
                         adaptor.getCeilModeAttr() && adaptor.getCeilMode());
  if (failed(shape))
    return failure();
  results.push_back(RankedTensorType::get(*shape, input.getElementType()));
  return success();
}

LogicalResult MaxPool2DOp::verify() {
  return verifyPoolAttrs(*this, getKernel(), getStrides(), getPads(),
                         getDilations());
}

LogicalResult AvgPool2DOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto shape = poolShape(loc, input, adaptor.getKernelAttr(),
                         adaptor.getStridesAttr(), adaptor.getPadsAttr(), {},
                         adaptor.getCeilModeAttr() && adaptor.getCeilMode());
  if (failed(shape))
    return failure();
  results.push_back(RankedTensorType::get(*shape, input.getElementType()));
  return success();
}

LogicalResult AvgPool2DOp::verify() {
  int64_t ones[2] = {1, 1};
  return verifyPoolAttrs(*this, getKernel(), getStrides(), getPads(), ones);
}

LogicalResult GlobalAvgPoolOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  if (!input || input.getRank() != 4)
    return emitOptionalError(loc, "expects a 4-D input");
  results.push_back(RankedTensorType::get(
      {input.getDimSize(0), input.getDimSize(1), 1, 1},
      input.getElementType()));
  return success();
}

/// The gradient of a pooling has the forward input's shape and `grad` must
/// have the forward result's shape.
static LogicalResult verifyPoolGrad(Operation *op, RankedTensorType grad,
                                    RankedTensorType input,
                                    DenseI64ArrayAttr kernel,
                                    DenseI64ArrayAttr strides,
                                    DenseI64ArrayAttr pads,
                                    ArrayRef<int64_t> dilations,
                                    bool ceilMode) {
  if (failed(verifyPoolAttrs(op, kernel.asArrayRef(), strides.asArrayRef(),
                             pads.asArrayRef(), dilations)))
    return failure();
  auto shape = poolShape(op->getLoc(), input, kernel, strides, pads,
                         dilations, ceilMode);
  if (failed(shape))
    return failure();
  if (ArrayRef<int64_t>(*shape) != grad.getShape())
    return op->emitOpError("gradient shape ")
           << shapeString(grad.getShape())
           << " does not match the pooling result shape "
           << shapeString(*shape);
  return success();
}

LogicalResult MaxPool2DGradOp::verify() {
  if (getResult().getType() != getInput().getType())
    return emitOpError("result type must be the input type");
  return verifyPoolGrad(*this, getGrad().getType(), getInput().getType(),
                        getKernelAttr(), getStridesAttr(), getPadsAttr(),
                        getDilations(), getCeilMode());
}

LogicalResult AvgPool2DGradOp::verify() {
  int64_t ones[2] = {1, 1};
  return verifyPoolGrad(*this, getGrad().getType(), getResult().getType(),
                        getKernelAttr(), getStridesAttr(), getPadsAttr(), ones,
                        getCeilMode());
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

/// Checks that every per-channel operand has one element per channel of
/// `input` (dimension 1).
static LogicalResult verifyPerChannel(Operation *op, RankedTensorType input,
                                      ValueRange perChannel) {
  if (input.getRank() < 2)
    return op->emitOpError("expects an input of rank >= 2 (N, C, ...)");
  for (Value v : perChannel) {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    if (t.getDimSize(0) != input.getDimSize(1))
      return op->emitOpError("per-channel operand has ")
             << t.getDimSize(0) << " elements but the input has "
             << input.getDimSize(1) << " channels";
  }
  return verifySameElementType(op);
}

static LogicalResult verifyEpsilon(Operation *op, double epsilon) {
  if (!(epsilon >= 0))
    return op->emitOpError("epsilon must be non-negative, got ") << epsilon;
  return success();
}

LogicalResult BatchNormTrainOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto scale = tensorType(adaptor.getScale());
  if (!input || !scale)
    return emitOptionalError(loc, "expects ranked tensor operands");
  results.push_back(input);
  results.append(4, scale);
  return success();
}

LogicalResult BatchNormTrainOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  double momentum = getMomentum().convertToDouble();
  if (!(momentum >= 0 && momentum <= 1))
    return emitOpError("momentum must be in [0, 1], got ") << momentum;
  return verifyPerChannel(*this, getInput().getType(),
                          {getScale(), getBias(), getRunningMean(),
                           getRunningVar()});
}

LogicalResult BatchNormInferenceOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  return verifyPerChannel(*this, getInput().getType(),
                          {getScale(), getBias(), getMean(), getVar()});
}

LogicalResult BatchNormGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto scale = tensorType(adaptor.getScale());
  if (!input || !scale)
    return emitOptionalError(loc, "expects ranked tensor operands");
  results.push_back(input);
  results.append(2, scale);
  return success();
}

LogicalResult BatchNormGradOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  if (getGrad().getType() != getInput().getType())
    return emitOpError("gradient and input types differ");
  return verifyPerChannel(*this, getInput().getType(),
                          {getScale(), getBatchMean(), getBatchVar()});
}

/// Shape of the statistics of a layer norm: leading dims, then ones.
static SmallVector<int64_t> layerNormStatShape(ArrayRef<int64_t> shape,
                                               int64_t axis) {
  SmallVector<int64_t> stat(shape.begin(), shape.end());
  for (size_t i = axis; i < stat.size(); ++i)
    stat[i] = 1;
  return stat;
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto axisAttr = adaptor.getAxisAttr();
  if (!input || !axisAttr)
    return emitOptionalError(loc, "expects a ranked input and an axis");
  int64_t axis = axisAttr.getInt();
  if (axis < 0 || axis >= input.getRank())
    return emitOptionalError(loc, "axis ", axis, " out of range for rank ",
                             input.getRank());
  auto stat = RankedTensorType::get(
      layerNormStatShape(input.getShape(), axis), input.getElementType());
  results.push_back(input);
  results.push_back(stat);
  results.push_back(stat);
  return success();
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon().convertToDouble())) ||
      failed(verifySameElementType(*this)) ||
      failed(verifyAxis(*this, static_cast<int64_t>(getAxis()),
                        getInput().getType().getRank())))
    return failure();
  ArrayRef<int64_t> normalized =
      getInput().getType().getShape().drop_front(getAxis());
  for (Value v : {getScale(), getBias()}) {
    if (!v)
      continue;
    if (llvm::cast<RankedTensorType>(v.getType()).getShape() != normalized)
      return emitOpError("scale and bias must have the normalised shape ")
             << shapeString(normalized);
  }
  return success();
}

LogicalResult LayerNormGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto scale = tensorType(adaptor.getScale());
  if (!input || !scale)
    return emitOptionalError(loc, "expects ranked tensor operands");
  results.push_back(input);
  results.push_back(scale);
  results.push_back(scale);
  return success();
}

LogicalResult LayerNormGradOp::verify() {
  if (getGrad().getType() != getInput().getType())
    return emitOpError("gradient and input types differ");
  int64_t axis = static_cast<int64_t>(getAxis());
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, axis, input.getRank())))
    return failure();
  if (getScale().getType().getShape() != input.getShape().drop_front(axis))
    return emitOpError("scale must have the normalised shape");
  auto stat = layerNormStatShape(input.getShape(), axis);
  if (getMean().getType().getShape() != ArrayRef<int64_t>(stat) ||
      getInvStdDev().getType().getShape() != ArrayRef<int64_t>(stat))
    return emitOpError("statistics must have shape ") << shapeString(stat);
  return success();
}

LogicalResult DropoutOp::verify() {
  double ratio = getRatio().convertToDouble();
  if (!(ratio >= 0 && ratio < 1))
    return emitOpError("ratio must be in [0, 1), got ") << ratio;
  return success();
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("changes the element type");
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << shapeString(in.getShape()) << " (" << in.getNumElements()
           << " elements) to " << shapeString(out.getShape()) << " ("
           << out.getNumElements() << " elements)";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getResult().getType())
    return getInput();
  return {};
}

namespace {
/// reshape(reshape(x)) -> reshape(x).
struct FoldReshapeChain : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<ReshapeOp>();
    if (!producer)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(),
                                           producer.getInput());
    return success();
  }
};

/// flatten(x) -> reshape(x): one operation for every reshape.
struct FlattenToReshape : OpRewritePattern<FlattenOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FlattenOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), op.getInput());
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<FoldReshapeChain>(context);
}

void FlattenOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<FlattenToReshape>(context);
}

LogicalResult FlattenOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto axisAttr = adaptor.getAxisAttr();
  if (!input || !axisAttr)
    return emitOptionalError(loc, "expects a ranked input and an axis");
  int64_t axis = axisAttr.getInt();
  if (axis < 0 || axis > input.getRank())
    return emitOptionalError(loc, "axis ", axis, " out of range for rank ",
                             input.getRank());
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < input.getRank(); ++i)
    (i < axis ? outer : inner) *= input.getDimSize(i);
  results.push_back(
      RankedTensorType::get({outer, inner}, input.getElementType()));
  return success();
}

LogicalResult FlattenOp::verify() { return success(); }

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto perm = adaptor.getPermutationAttr();
  if (!input || !perm || perm.size() != input.getRank())
    return emitOptionalError(loc, "expects a permutation of the ",
                             input ? input.getRank() : 0, " dimensions");
  SmallVector<int64_t> shape;
  for (int64_t p : perm.asArrayRef()) {
    if (p < 0 || p >= input.getRank())
      return emitOptionalError(loc, "permutation entry ", p, " out of range");
    shape.push_back(input.getDimSize(p));
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult TransposeOp::verify() {
  SmallVector<bool> seen(getPermutation().size(), false);
  for (int64_t p : getPermutation()) {
    if (seen[p])
      return emitOpError("permutation ")
             << shapeString(getPermutation()) << " repeats " << p;
    seen[p] = true;
  }
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  for (auto [i, p] : llvm::enumerate(getPermutation()))
    if (static_cast<int64_t>(i) != p)
      return {};
  return getInput();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  if (adaptor.getInputs().empty() || !adaptor.getAxisAttr())
    return emitOptionalError(loc, "expects at least one input and an axis");
  auto first = tensorType(adaptor.getInputs().front());
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (!first || axis < 0 || axis >= first.getRank())
    return emitOptionalError(loc, "axis ", axis, " out of range");
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : adaptor.getInputs()) {
    auto t = tensorType(v);
    if (!t || t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return emitOptionalError(loc, "inputs differ in rank or element type");
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (i != axis && t.getDimSize(i) != first.getDimSize(i))
        return emitOptionalError(loc, "input shapes ",
                                 shapeString(first.getShape()), " and ",
                                 shapeString(t.getShape()),
                                 " differ outside the concatenation axis");
    shape[axis] += t.getDimSize(axis);
  }
  results.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult ConcatOp::verify() { return success(); }

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  if (!input || !adaptor.getAxisAttr() || !adaptor.getSizesAttr())
    return emitOptionalError(loc, "expects a ranked input, axis and sizes");
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (axis < 0 || axis >= input.getRank())
    return emitOptionalError(loc, "axis ", axis, " out of range");
  int64_t total = 0;
  for (int64_t size : adaptor.getSizesAttr().asArrayRef()) {
    if (size < 0)
      return emitOptionalError(loc, "negative split size ", size);
    SmallVector<int64_t> shape(input.getShape());
    shape[axis] = size;
    total += size;
    results.push_back(RankedTensorType::get(shape, input.getElementType()));
  }
  if (total != input.getDimSize(axis))
    return emitOptionalError(loc, "split sizes add up to ", total,
                             " but the axis has ", input.getDimSize(axis));
  return success();
}

LogicalResult SplitOp::verify() { return success(); }

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto sizes = adaptor.getSizesAttr();
  if (!input || !sizes || sizes.size() != input.getRank())
    return emitOptionalError(loc, "expects one size per input dimension");
  results.push_back(
      RankedTensorType::get(sizes.asArrayRef(), input.getElementType()));
  return success();
}

LogicalResult SliceOp::verify() {
  auto shape = getInput().getType().getShape();
  size_t rank = shape.size();
  if (getStarts().size() != rank || getSteps().size() != rank)
    return emitOpError("expects one start, size and step per dimension");
  for (size_t i = 0; i < rank; ++i) {
    int64_t start = getStarts()[i], size = getSizes()[i],
            step = getSteps()[i];
    if (step <= 0 || start < 0 || size < 0)
      return emitOpError("dimension ")
             << i << ": start " << start << ", size " << size << ", step "
             << step << " must be non-negative (step positive)";
    if (size > 0 && start + (size - 1) * step >= shape[i])
      return emitOpError("dimension ")
             << i << ": slice ends past the input size " << shape[i];
  }
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  if (getInput().getType() == getResult().getType() &&
      llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }))
    return getInput();
  return {};
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto pads = adaptor.getPadsAttr();
  if (!input || !pads || pads.size() != 2 * input.getRank())
    return emitOptionalError(loc, "expects two pads per dimension");
  SmallVector<int64_t> shape(input.getShape());
  for (int64_t i = 0; i < input.getRank(); ++i)
    shape[i] += pads[i] + pads[i + input.getRank()];
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult PadOp::verify() {
  return verifyNonNegative(*this, "pads", getPads());
}

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

template <typename Adaptor>
static LogicalResult inferReduce(std::optional<Location> loc, Adaptor adaptor,
                                 SmallVectorImpl<Type> &results) {
  auto input = tensorType(adaptor.getInput());
  auto axes = adaptor.getAxesAttr();
  if (!input || !axes)
    return emitOptionalError(loc, "expects a ranked input and axes");
  bool keepdims = !adaptor.getKeepdimsAttr() || adaptor.getKeepdims();
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < input.getRank(); ++i) {
    bool reduced = llvm::is_contained(axes.asArrayRef(), i);
    if (!reduced)
      shape.push_back(input.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

static LogicalResult verifyAxes(Operation *op, ArrayRef<int64_t> axes,
                                int64_t rank) {
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= rank || (i > 0 && axes[i] <= axes[i - 1]))
      return op->emitOpError("axes ")
             << shapeString(axes) << " must be sorted, distinct and in [0, "
             << rank << ")";
  return success();
}

#define NN_REDUCE(OP)                                                          \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> l, \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferReduce(l, adaptor, results);                                   \
  }                                                                            \
  LogicalResult OP::verify() {                                                 \
    return verifyAxes(*this, getAxes(), getInput().getType().getRank());       \
  }
NN_REDUCE(ReduceSumOp)
NN_REDUCE(ReduceMeanOp)
NN_REDUCE(ReduceMaxOp)
#undef NN_REDUCE

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(*this, static_cast<int64_t>(getAxis()),
                    getInput().getType().getRank());
}

LogicalResult LogSoftmaxOp::verify() {
  return verifyAxis(*this, static_cast<int64_t>(getAxis()),
                    getInput().getType().getRank());
}

#define GET_OP_CLASSES
#include "adagp/Dialect/NN/NNOps.cpp.inc"
