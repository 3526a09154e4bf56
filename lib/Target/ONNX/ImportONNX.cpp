//===- ImportONNX.cpp - ONNX models to the nn dialect ---------------------===//
//
// The importer walks the (checked, shape-inferred) ONNX graph in its
// topological order. Each value is either IR (an mlir::Value) or a host
// constant (integer shape data, Constant nodes, folded shape subgraphs);
// host constants become IR only when an IR operation consumes them.
//
// Operators are converted by handlers registered per op type; a handler
// sees the since_version of the schema that applies at the model's opset
// and branches on it, like torch-mlir's `onOp(name, since, fn)` table.
//
//===----------------------------------------------------------------------===//

#include "adagp/Target/ONNX/ONNXImport.h"

#include "HostTensor.h"
#include "ModelLoader.h"

#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Support/FileUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"

#include <functional>
#include <map>
#include <set>

using namespace mlir;
using namespace adagp;
using namespace adagp::onnx_import;

namespace {

class Importer;

/// What a handler sees of the node it converts.
class NodeContext {
public:
  NodeContext(Importer &importer, const onnx::NodeProto &node, int since)
      : importer(importer), node(node), since(since) {}

  Importer &importer;
  const onnx::NodeProto &node;
  /// The since_version of the operator's schema at the model's opset.
  int since;

  OpBuilder &builder();
  Location loc();

  unsigned numInputs() const { return node.input_size(); }
  bool hasInput(unsigned i) const {
    return static_cast<int>(i) < node.input_size() && !node.input(i).empty();
  }
  /// Input `i` as IR, materialising a host constant if needed. Null (after
  /// reporting an error) when it cannot be.
  Value input(unsigned i);
  /// Input `i` as a host constant, or null when it is not constant.
  const HostTensor *constant(unsigned i);
  /// Input `i` as a list of integers (a constant 1-D or 0-D tensor).
  FailureOr<SmallVector<int64_t>> constantInts(unsigned i, StringRef what);
  /// Input `i` as one float (a constant scalar or 1-element tensor).
  FailureOr<double> constantScalar(unsigned i, StringRef what);

  const onnx::AttributeProto *attr(StringRef name) const {
    for (const auto &a : node.attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  int64_t attrInt(StringRef name, int64_t def) const {
    auto *a = attr(name);
    return a ? a->i() : def;
  }
  double attrFloat(StringRef name, double def) const {
    auto *a = attr(name);
    return a ? a->f() : def;
  }
  std::string attrString(StringRef name, StringRef def) const {
    auto *a = attr(name);
    return a ? a->s() : def.str();
  }
  SmallVector<int64_t> attrInts(StringRef name,
                                ArrayRef<int64_t> def = {}) const {
    auto *a = attr(name);
    if (!a)
      return SmallVector<int64_t>(def);
    return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  }

  void setOutput(unsigned i, Value v);
  void setConstant(unsigned i, HostTensor t);
  /// Whether output `i` exists and is used by a later node or the graph.
  bool outputUsed(unsigned i) const;

  /// Reports an error about this node and returns failure.
  LogicalResult error(const Twine &message);

  template <typename OpTy, typename... Args>
  OpTy create(Args &&...args) {
    return OpTy::create(builder(), loc(), std::forward<Args>(args)...);
  }
};

using Handler = std::function<LogicalResult(NodeContext &)>;

class Importer {
public:
  Importer(MLIRContext *context, std::string path,
           const ONNXImportOptions &options)
      : context(context), builder(context), path(std::move(path)),
        options(options) {}

  /// Checks, before ONNX's checker and shape inference, what adagp can
  /// say more precisely: unsupported operators, arities and data types.
  /// Reports every problem, not just the first.
  LogicalResult precheck(const onnx::ModelProto &model);
  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model);

  MLIRContext *context;
  OpBuilder builder;
  std::string path;
  ONNXImportOptions options;
  int64_t opset = 0;

  struct Entry {
    Value value;
    std::optional<HostTensor> constant;
  };
  std::map<std::string, Entry> values;
  /// Float initializers: their globals, loaded on first use.
  std::map<std::string, ml_program::GlobalOp> globals;
  std::set<std::string> usedNames;
  /// Values an erroneous node should have produced; their users are
  /// skipped so that independent errors are all reported.
  std::set<std::string> poisoned;
  const onnx::NodeProto *currentNode = nullptr;
  int currentSince = 0;
  bool failedAny = false;
  Block *entryBlock = nullptr;
  ModuleOp module;

  Location fileLoc() {
    return FileLineColLoc::get(StringAttr::get(context, path), 0, 0);
  }
  InFlightDiagnostic emitFileError() { return mlir::emitError(fileLoc()); }

  const onnx::GraphProto *graphProto = nullptr;

  /// "node 'conv1' (Conv, opset 11)", or "node #3 (Conv, opset 11)" for an
  /// unnamed node (its position in the graph).
  std::string nodeDescription(const onnx::NodeProto &node, int since) {
    std::string name = "'" + node.name() + "'";
    if (node.name().empty() && graphProto)
      for (int i = 0; i < graphProto->node_size(); ++i)
        if (&graphProto->node(i) == &node)
          name = "#" + std::to_string(i);
    return llvm::formatv("node {0} ({1}, opset {2})", name, node.op_type(),
                         since > 0 ? since : opset)
        .str();
  }

  FailureOr<Type> elementType(int onnxType, const std::string &what);
  FailureOr<RankedTensorType> tensorTypeOf(const onnx::TypeProto &type,
                                           const std::string &what);
  Value materialize(const HostTensor &t, Location loc);
  Value loadGlobal(const std::string &name);
  LogicalResult createGlobals(const onnx::GraphProto &graph);
  LogicalResult convertNode(const onnx::NodeProto &node);
};

} // namespace

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

OpBuilder &NodeContext::builder() { return importer.builder; }

Location NodeContext::loc() {
  std::string name = node.name().empty() ? node.op_type() : node.name();
  return NameLoc::get(StringAttr::get(importer.context, name));
}

LogicalResult NodeContext::error(const Twine &message) {
  importer.emitFileError() << importer.nodeDescription(node, since) << ": "
                           << message;
  return failure();
}

const HostTensor *NodeContext::constant(unsigned i) {
  if (!hasInput(i))
    return nullptr;
  auto it = importer.values.find(node.input(i));
  if (it == importer.values.end() || !it->second.constant)
    return nullptr;
  return &*it->second.constant;
}

Value NodeContext::input(unsigned i) {
  if (!hasInput(i)) {
    (void)error(llvm::formatv("missing input #{0}", i));
    return {};
  }
  const std::string &name = node.input(i);
  auto global = importer.globals.find(name);
  if (global != importer.globals.end())
    return importer.loadGlobal(name);
  auto it = importer.values.find(name);
  if (it == importer.values.end()) {
    (void)error("input '" + name + "' is not defined");
    return {};
  }
  if (!it->second.value && it->second.constant) {
    if (!it->second.constant->isFloat()) {
      (void)error("integer tensor '" + name +
                  "' is used as data; only float data is supported");
      return {};
    }
    // Materialise at the start of the function so every later use
    // dominates.
    OpBuilder::InsertionGuard guard(importer.builder);
    importer.builder.setInsertionPointToStart(importer.entryBlock);
    it->second.value = importer.materialize(*it->second.constant, loc());
  }
  return it->second.value;
}

FailureOr<SmallVector<int64_t>> NodeContext::constantInts(unsigned i,
                                                          StringRef what) {
  const HostTensor *t = constant(i);
  if (!t) {
    (void)error(llvm::formatv("the {0} (input #{1}) must be a constant "
                              "known at import time",
                              what, i));
    return failure();
  }
  SmallVector<int64_t> values;
  for (int64_t k = 0; k < t->numElements(); ++k)
    values.push_back(t->getInt(k));
  return values;
}

FailureOr<double> NodeContext::constantScalar(unsigned i, StringRef what) {
  const HostTensor *t = constant(i);
  if (!t || t->numElements() != 1) {
    (void)error(llvm::formatv("the {0} (input #{1}) must be a constant "
                              "scalar known at import time",
                              what, i));
    return failure();
  }
  return t->getDouble(0);
}

void NodeContext::setOutput(unsigned i, Value v) {
  if (static_cast<int>(i) < node.output_size() && !node.output(i).empty())
    importer.values[node.output(i)].value = v;
}

void NodeContext::setConstant(unsigned i, HostTensor t) {
  if (static_cast<int>(i) < node.output_size() && !node.output(i).empty())
    importer.values[node.output(i)].constant = std::move(t);
}

bool NodeContext::outputUsed(unsigned i) const {
  return static_cast<int>(i) < node.output_size() &&
         !node.output(i).empty() && importer.usedNames.count(node.output(i));
}

//===----------------------------------------------------------------------===//
// Types, constants and globals
//===----------------------------------------------------------------------===//

FailureOr<Type> Importer::elementType(int onnxType, const std::string &what) {
  if (onnxType == onnx::TensorProto::FLOAT)
    return Type(builder.getF32Type());
  if (onnxType == onnx::TensorProto::DOUBLE)
    return Type(builder.getF64Type());
  emitFileError() << what << " has data type " << elementTypeName(onnxType)
                  << ", which is not supported (adagp computes in FLOAT or "
                     "DOUBLE)";
  return failure();
}

FailureOr<RankedTensorType>
Importer::tensorTypeOf(const onnx::TypeProto &type, const std::string &what) {
  if (!type.has_tensor_type()) {
    emitFileError() << what << " is not a tensor";
    return failure();
  }
  auto element = elementType(type.tensor_type().elem_type(), what);
  if (failed(element))
    return failure();
  if (!type.tensor_type().has_shape()) {
    emitFileError() << what << " has no inferred shape";
    return failure();
  }
  SmallVector<int64_t> shape;
  for (const auto &dim : type.tensor_type().shape().dim()) {
    if (!dim.has_dim_value()) {
      emitFileError() << what << " has symbolic dimension '"
                      << (dim.has_dim_param() ? dim.dim_param() : "?")
                      << "'; only the batch dimension may be symbolic and "
                         "--batch-size binds it";
      return failure();
    }
    shape.push_back(dim.dim_value());
  }
  return RankedTensorType::get(shape, *element);
}

Value Importer::materialize(const HostTensor &t, Location loc) {
  Type element = t.elementType == onnx::TensorProto::DOUBLE
                     ? Type(builder.getF64Type())
                     : Type(builder.getF32Type());
  auto type = RankedTensorType::get(t.shape, element);
  DenseElementsAttr attr;
  if (element.isF64()) {
    attr = DenseElementsAttr::get(type, ArrayRef<double>(t.floats));
  } else {
    SmallVector<float> values(t.floats.begin(), t.floats.end());
    attr = DenseElementsAttr::get(type, ArrayRef<float>(values));
  }
  return arith::ConstantOp::create(builder, loc, attr);
}

Value Importer::loadGlobal(const std::string &name) {
  Entry &entry = values[name];
  if (entry.value)
    return entry.value;
  ml_program::GlobalOp global = globals.at(name);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(entryBlock);
  // Keep the loads in first-use order at the top of the function.
  Operation *last = nullptr;
  for (Operation &op : *entryBlock)
    if (isa<ml_program::GlobalLoadOp>(op))
      last = &op;
  if (last)
    builder.setInsertionPointAfter(last);
  entry.value = ml_program::GlobalLoadOp::create(
      builder, NameLoc::get(StringAttr::get(context, name)), global.getType(),
      SymbolRefAttr::get(global.getSymNameAttr()));
  return entry.value;
}

LogicalResult Importer::createGlobals(const onnx::GraphProto &graph) {
  bool ok = true;
  builder.setInsertionPointToEnd(module.getBody());
  for (const auto &init : graph.initializer()) {
    HostTensor tensor;
    std::string error;
    if (!decodeTensorProto(init, tensor, error)) {
      emitFileError() << "initializer '" << init.name() << "': " << error;
      ok = false;
      continue;
    }
    if (!tensor.isFloat()) {
      values[init.name()].constant = std::move(tensor);
      continue;
    }
    Type element = init.data_type() == onnx::TensorProto::DOUBLE
                       ? Type(builder.getF64Type())
                       : Type(builder.getF32Type());
    auto type = RankedTensorType::get(tensor.shape, element);
    AsmResourceBlob blob;
    if (element.isF64()) {
      blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(
          ArrayRef<double>(tensor.floats));
    } else {
      SmallVector<float> floats(tensor.floats.begin(), tensor.floats.end());
      blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(
          ArrayRef<float>(floats));
    }
    auto value = DenseResourceElementsAttr::get(type, init.name(),
                                                std::move(blob));
    auto global = ml_program::GlobalOp::create(
        builder, NameLoc::get(StringAttr::get(context, init.name())),
        init.name(), type, /*is_mutable=*/true, value,
        builder.getStringAttr("private"));
    globals[init.name()] = global;
  }
  return success(ok);
}

//===----------------------------------------------------------------------===//
// Operator handlers
//===----------------------------------------------------------------------===//

static DenseI64ArrayAttr i64Array(OpBuilder &b, ArrayRef<int64_t> values) {
  return b.getDenseI64ArrayAttr(values);
}

/// Conv/pool attributes: ONNX pads [x1_begin, x2_begin, x1_end, x2_end] are
/// nn's [top, left, bottom, right]; auto_pad is resolved here.
static LogicalResult spatialPads(NodeContext &ctx, ArrayRef<int64_t> inShape,
                                 ArrayRef<int64_t> kernel,
                                 ArrayRef<int64_t> strides,
                                 ArrayRef<int64_t> dilations,
                                 SmallVectorImpl<int64_t> &pads) {
  std::string autoPad = ctx.attrString("auto_pad", "NOTSET");
  pads.assign(ctx.attrInts("pads", {0, 0, 0, 0}));
  if (pads.size() != 4)
    return ctx.error("expects 4 pads for a 2-D operation");
  if (autoPad == "NOTSET")
    return success();
  if (autoPad == "VALID") {
    pads.assign(4, 0);
    return success();
  }
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return ctx.error("attribute 'auto_pad' has unknown value '" + autoPad +
                     "'");
  for (int i = 0; i < 2; ++i) {
    int64_t in = inShape[2 + i];
    int64_t out = (in + strides[i] - 1) / strides[i];
    int64_t total = std::max<int64_t>(
        0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - in);
    int64_t small = total / 2, large = total - small;
    pads[i] = autoPad == "SAME_UPPER" ? small : large;
    pads[i + 2] = autoPad == "SAME_UPPER" ? large : small;
  }
  return success();
}

static RankedTensorType typeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

static LogicalResult convertConv(NodeContext &ctx) {
  Value x = ctx.input(0), w = ctx.input(1);
  if (!x || !w)
    return failure();
  if (typeOf(x).getRank() != 4 || typeOf(w).getRank() != 4)
    return ctx.error(llvm::formatv(
        "only 2-D convolutions (4-D input and filter) are supported; the "
        "input has rank {0}",
        typeOf(x).getRank()));
  Value bias;
  if (ctx.hasInput(2) && !(bias = ctx.input(2)))
    return failure();
  auto wShape = typeOf(w).getShape();
  SmallVector<int64_t> kernel =
      ctx.attrInts("kernel_shape", {wShape[2], wShape[3]});
  if (kernel[0] != wShape[2] || kernel[1] != wShape[3])
    return ctx.error("kernel_shape does not match the filter");
  SmallVector<int64_t> strides = ctx.attrInts("strides", {1, 1});
  SmallVector<int64_t> dilations = ctx.attrInts("dilations", {1, 1});
  SmallVector<int64_t> pads;
  if (strides.size() != 2 || dilations.size() != 2)
    return ctx.error("expects 2 strides and 2 dilations");
  if (failed(spatialPads(ctx, typeOf(x).getShape(), kernel, strides,
                         dilations, pads)))
    return failure();
  auto &b = ctx.builder();
  ctx.setOutput(0, ctx.create<nn::Conv2DOp>(
                        x, w, bias, i64Array(b, strides), i64Array(b, pads),
                        i64Array(b, dilations),
                        b.getI64IntegerAttr(ctx.attrInt("group", 1))));
  return success();
}

template <typename OpTy>
static LogicalResult convertBinary(NodeContext &ctx) {
  Value lhs = ctx.input(0), rhs = ctx.input(1);
  if (!lhs || !rhs)
    return failure();
  if (ctx.since < 7 && ctx.attr("broadcast"))
    return ctx.error("legacy 'broadcast' attribute (opset < 7) is not "
                     "supported");
  ctx.setOutput(0, ctx.create<OpTy>(lhs, rhs));
  return success();
}

/// Max and Min are variadic in ONNX; fold them pairwise.
template <typename OpTy>
static LogicalResult convertVariadic(NodeContext &ctx) {
  Value acc = ctx.input(0);
  if (!acc)
    return failure();
  for (unsigned i = 1; i < ctx.numInputs(); ++i) {
    Value next = ctx.input(i);
    if (!next)
      return failure();
    acc = ctx.create<OpTy>(acc, next);
  }
  ctx.setOutput(0, acc);
  return success();
}

template <typename OpTy>
static LogicalResult convertUnary(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  ctx.setOutput(0, ctx.create<OpTy>(x));
  return success();
}

static LogicalResult convertIdentity(NodeContext &ctx) {
  if (const HostTensor *t = ctx.constant(0)) {
    ctx.setConstant(0, *t);
    return success();
  }
  Value x = ctx.input(0);
  if (!x)
    return failure();
  ctx.setOutput(0, x);
  return success();
}

static LogicalResult convertLeakyRelu(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  ctx.setOutput(0, ctx.create<nn::LeakyReluOp>(
                       x, ctx.builder().getF64FloatAttr(
                              ctx.attrFloat("alpha", 0.01))));
  return success();
}

static LogicalResult convertHardSigmoid(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto &b = ctx.builder();
  ctx.setOutput(0, ctx.create<nn::HardSigmoidOp>(
                       x, b.getF64FloatAttr(ctx.attrFloat("alpha", 0.2)),
                       b.getF64FloatAttr(ctx.attrFloat("beta", 0.5))));
  return success();
}

static LogicalResult convertClip(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  double lo = -std::numeric_limits<float>::max();
  double hi = std::numeric_limits<float>::max();
  if (ctx.since < 11) {
    lo = ctx.attrFloat("min", lo);
    hi = ctx.attrFloat("max", hi);
  } else {
    if (ctx.hasInput(1)) {
      auto v = ctx.constantScalar(1, "minimum");
      if (failed(v))
        return failure();
      lo = *v;
    }
    if (ctx.hasInput(2)) {
      auto v = ctx.constantScalar(2, "maximum");
      if (failed(v))
        return failure();
      hi = *v;
    }
  }
  if (lo > hi)
    return ctx.error(llvm::formatv("minimum {0} is greater than maximum {1}",
                                   lo, hi));
  auto &b = ctx.builder();
  ctx.setOutput(0, ctx.create<nn::ClipOp>(x, b.getF64FloatAttr(lo),
                                          b.getF64FloatAttr(hi)));
  return success();
}

static LogicalResult convertGemm(NodeContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b)
    return failure();
  Value c;
  if (ctx.hasInput(2) && !(c = ctx.input(2)))
    return failure();
  if (typeOf(a).getRank() != 2 || typeOf(b).getRank() != 2)
    return ctx.error("Gemm expects 2-D operands");
  auto &bld = ctx.builder();
  ctx.setOutput(0, ctx.create<nn::GemmOp>(
                       a, b, c, bld.getF64FloatAttr(ctx.attrFloat("alpha", 1)),
                       bld.getF64FloatAttr(ctx.attrFloat("beta", 1)),
                       bld.getBoolAttr(ctx.attrInt("transA", 0) != 0),
                       bld.getBoolAttr(ctx.attrInt("transB", 0) != 0)));
  return success();
}

static Value reshapeTo(NodeContext &ctx, Value v, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, typeOf(v).getElementType());
  if (type == v.getType())
    return v;
  return ctx.create<nn::ReshapeOp>(type, v);
}

static LogicalResult convertMatMul(NodeContext &ctx) {
  Value a = ctx.input(0), b = ctx.input(1);
  if (!a || !b)
    return failure();
  // NumPy promotes rank-1 operands to matrices and drops the added
  // dimension from the result.
  auto aShape = typeOf(a).getShape(), bShape = typeOf(b).getShape();
  SmallVector<int64_t> resultShape;
  bool aVector = aShape.size() == 1, bVector = bShape.size() == 1;
  if (aVector)
    a = reshapeTo(ctx, a, {1, aShape[0]});
  if (bVector)
    b = reshapeTo(ctx, b, {bShape[0], 1});
  auto product = nn::MatMulOp::create(ctx.builder(), ctx.loc(), a, b);
  if (failed(mlir::verify(product))) {
    product.erase();
    return failure();
  }
  Value result = product;
  SmallVector<int64_t> shape(typeOf(result).getShape());
  if (aVector)
    shape.erase(shape.end() - 2);
  if (bVector)
    shape.pop_back();
  ctx.setOutput(0, reshapeTo(ctx, result, shape));
  return success();
}

static LogicalResult convertPool(NodeContext &ctx, bool isMax) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  if (typeOf(x).getRank() != 4)
    return ctx.error("only 2-D pooling (4-D input) is supported");
  if (isMax && ctx.outputUsed(1))
    return ctx.error("the Indices output of MaxPool is not supported");
  if (ctx.attrInt("storage_order", 0) != 0)
    return ctx.error("storage_order = 1 is not supported");
  SmallVector<int64_t> kernel = ctx.attrInts("kernel_shape");
  if (kernel.size() != 2)
    return ctx.error("expects a 2-D kernel_shape");
  SmallVector<int64_t> strides = ctx.attrInts("strides", {1, 1});
  SmallVector<int64_t> dilations = ctx.attrInts("dilations", {1, 1});
  if (!isMax && dilations != SmallVector<int64_t>{1, 1})
    return ctx.error("dilated average pooling is not supported");
  SmallVector<int64_t> pads;
  if (failed(spatialPads(ctx, typeOf(x).getShape(), kernel, strides,
                         dilations, pads)))
    return failure();
  auto &b = ctx.builder();
  bool ceil = ctx.attrInt("ceil_mode", 0) != 0;
  if (isMax) {
    ctx.setOutput(0, ctx.create<nn::MaxPool2DOp>(
                         x, i64Array(b, kernel), i64Array(b, strides),
                         i64Array(b, pads), i64Array(b, dilations),
                         b.getBoolAttr(ceil)));
  } else {
    ctx.setOutput(0, ctx.create<nn::AvgPool2DOp>(
                         x, i64Array(b, kernel), i64Array(b, strides),
                         i64Array(b, pads), b.getBoolAttr(ceil),
                         b.getBoolAttr(ctx.attrInt("count_include_pad", 0) !=
                                       0)));
  }
  return success();
}

static LogicalResult convertGlobalAveragePool(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  if (typeOf(x).getRank() != 4)
    return ctx.error("only 4-D inputs are supported");
  ctx.setOutput(0, ctx.create<nn::GlobalAvgPoolOp>(x));
  return success();
}

static LogicalResult convertBatchNorm(NodeContext &ctx) {
  SmallVector<Value> in;
  for (unsigned i = 0; i < 5; ++i) {
    Value v = ctx.input(i);
    if (!v)
      return failure();
    in.push_back(v);
  }
  double epsilon = ctx.attrFloat("epsilon", 1e-5);
  double momentum = ctx.attrFloat("momentum", 0.9);
  // Opset 9-13: training mode is signalled by requesting the running
  // statistics (5 outputs); 14+: by the training_mode attribute.
  bool training = ctx.since >= 14 ? ctx.attrInt("training_mode", 0) != 0
                                  : ctx.node.output_size() > 1;
  if (ctx.attr("spatial") && ctx.attrInt("spatial", 1) != 1)
    return ctx.error("spatial = 0 is not supported");
  auto &b = ctx.builder();
  if (!training) {
    ctx.setOutput(0, ctx.create<nn::BatchNormInferenceOp>(
                         in[0], in[1], in[2], in[3], in[4],
                         b.getF64FloatAttr(epsilon)));
    return success();
  }
  auto op = ctx.create<nn::BatchNormTrainOp>(
      in[0], in[1], in[2], in[3], in[4], b.getF64FloatAttr(epsilon),
      b.getF64FloatAttr(momentum));
  for (unsigned i = 0; i < 5; ++i)
    ctx.setOutput(i, op->getResult(i));
  return success();
}

static LogicalResult convertLayerNorm(NodeContext &ctx) {
  Value x = ctx.input(0), scale = ctx.input(1);
  if (!x || !scale)
    return failure();
  Value bias;
  if (ctx.hasInput(2) && !(bias = ctx.input(2)))
    return failure();
  int64_t rank = typeOf(x).getRank();
  int64_t axis = ctx.attrInt("axis", -1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return ctx.error("axis out of range");
  if (ctx.attrInt("stash_type", 1) != 1)
    return ctx.error("stash_type other than FLOAT is not supported");
  // Scale and bias may broadcast; nn.layer_norm wants the normalised shape.
  SmallVector<int64_t> normalized(typeOf(x).getShape().drop_front(axis));
  auto fit = [&](Value v) -> Value {
    if (!v || typeOf(v).getShape() == ArrayRef<int64_t>(normalized))
      return v;
    auto type = RankedTensorType::get(normalized, typeOf(v).getElementType());
    return ctx.create<nn::BroadcastToOp>(type, v);
  };
  auto &b = ctx.builder();
  auto op = ctx.create<nn::LayerNormOp>(
      x, fit(scale), fit(bias), b.getI64IntegerAttr(axis),
      b.getF64FloatAttr(ctx.attrFloat("epsilon", 1e-5)));
  for (unsigned i = 0; i < 3; ++i)
    ctx.setOutput(i, op->getResult(i));
  return success();
}

static LogicalResult convertDropout(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  if (ctx.outputUsed(1))
    return ctx.error("the mask output of Dropout is not supported");
  double ratio = ctx.attrFloat("ratio", 0.5);
  bool training = true;
  if (ctx.since >= 12) {
    if (ctx.hasInput(1)) {
      auto r = ctx.constantScalar(1, "ratio");
      if (failed(r))
        return failure();
      ratio = *r;
    }
    training = false;
    if (ctx.hasInput(2)) {
      auto t = ctx.constantScalar(2, "training_mode");
      if (failed(t))
        return failure();
      training = *t != 0;
    }
  } else if (ctx.since < 7) {
    training = ctx.attrInt("is_test", 0) == 0;
  }
  // Opsets 7-11 have no flag; the models adagp imports are training-mode
  // exports, so their Dropout is kept (docs/architecture.md).
  if (!training || ratio == 0) {
    ctx.setOutput(0, x);
    return success();
  }
  if (ratio < 0 || ratio >= 1)
    return ctx.error(llvm::formatv("ratio {0} is outside [0, 1)", ratio));
  auto &b = ctx.builder();
  Value key = ctx.create<arith::ConstantOp>(b.getI64IntegerAttr(0));
  ctx.setOutput(0, ctx.create<nn::DropoutOp>(
                       x, key, b.getF64FloatAttr(ratio),
                       b.getI64IntegerAttr(ctx.attrInt("seed", 0))));
  return success();
}

/// Reshape, Flatten, Squeeze, Unsqueeze on IR: the inferred output shape
/// says what the result is.
static LogicalResult convertReshapeLike(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto &values = ctx.importer.values;
  (void)values;
  const onnx::NodeProto &node = ctx.node;
  // Evaluate the shape on the host (the data input's shape is static).
  HostTensor shapeOnly;
  shapeOnly.elementType = onnx::TensorProto::FLOAT;
  shapeOnly.shape.assign(typeOf(x).getShape().begin(),
                         typeOf(x).getShape().end());
  shapeOnly.floats.assign(shapeOnly.numElements(), 0.0);
  std::vector<const HostTensor *> inputs = {&shapeOnly};
  for (unsigned i = 1; i < ctx.numInputs(); ++i) {
    const HostTensor *t = ctx.constant(i);
    if (ctx.hasInput(i) && !t)
      return ctx.error(llvm::formatv(
          "input #{0} (the target shape or axes) must be a constant known at "
          "import time",
          i));
    inputs.push_back(t);
  }
  std::string error;
  auto result = evaluateOnHost(node, ctx.since, inputs, error);
  if (!result)
    return ctx.error(error.empty() ? "cannot compute the result shape" : error);
  SmallVector<int64_t> shape((*result)[0].shape.begin(),
                             (*result)[0].shape.end());
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  if (count != typeOf(x).getNumElements() ||
      llvm::any_of(shape, [](int64_t d) { return d < 0; }))
    return ctx.error("cannot reshape a tensor of " +
                     std::to_string(typeOf(x).getNumElements()) +
                     " elements to the requested shape");
  if (node.op_type() == "Flatten") {
    int64_t rank = typeOf(x).getRank();
    int64_t axis = ctx.attrInt("axis", 1);
    if (axis < 0)
      axis += rank;
    ctx.setOutput(0, ctx.create<nn::FlattenOp>(
                         x, ctx.builder().getI64IntegerAttr(axis)));
    return success();
  }
  ctx.setOutput(0, reshapeTo(ctx, x, shape));
  return success();
}

static LogicalResult convertTranspose(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  int64_t rank = typeOf(x).getRank();
  SmallVector<int64_t> perm = ctx.attrInts("perm");
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  ctx.setOutput(0, ctx.create<nn::TransposeOp>(
                       x, i64Array(ctx.builder(), perm)));
  return success();
}

static LogicalResult convertConcat(NodeContext &ctx) {
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    Value v = ctx.input(i);
    if (!v)
      return failure();
    inputs.push_back(v);
  }
  int64_t rank = typeOf(inputs[0]).getRank();
  int64_t axis = ctx.attrInt("axis", 0);
  if (axis < 0)
    axis += rank;
  if (inputs.size() == 1) {
    ctx.setOutput(0, inputs[0]);
    return success();
  }
  ctx.setOutput(0, ctx.create<nn::ConcatOp>(
                       inputs, ctx.builder().getI64IntegerAttr(axis)));
  return success();
}

static LogicalResult convertSplit(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  int64_t rank = typeOf(x).getRank();
  int64_t axis = ctx.attrInt("axis", 0);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return ctx.error("axis out of range");
  SmallVector<int64_t> sizes;
  if (ctx.since >= 13 && ctx.hasInput(1)) {
    auto v = ctx.constantInts(1, "split sizes");
    if (failed(v))
      return failure();
    sizes = *v;
  } else if (ctx.since < 13) {
    sizes = ctx.attrInts("split");
  }
  int64_t dim = typeOf(x).getDimSize(axis);
  if (sizes.empty()) {
    int64_t n = ctx.node.output_size();
    if (dim % n != 0)
      return ctx.error("cannot split the axis evenly");
    sizes.assign(n, dim / n);
  }
  auto op = ctx.create<nn::SplitOp>(x, ctx.builder().getI64IntegerAttr(axis),
                                    i64Array(ctx.builder(), sizes));
  for (unsigned i = 0; i < op->getNumResults(); ++i)
    ctx.setOutput(i, op->getResult(i));
  return success();
}

static LogicalResult convertSlice(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto shape = typeOf(x).getShape();
  int64_t rank = shape.size();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (ctx.since >= 10) {
    auto s = ctx.constantInts(1, "starts");
    auto e = ctx.constantInts(2, "ends");
    if (failed(s) || failed(e))
      return failure();
    starts = *s, ends = *e;
    if (ctx.hasInput(3)) {
      auto a = ctx.constantInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (ctx.hasInput(4)) {
      auto st = ctx.constantInts(4, "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  } else {
    starts = ctx.attrInts("starts"), ends = ctx.attrInts("ends"),
    axes = ctx.attrInts("axes");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || starts.size() != axes.size() ||
      starts.size() != steps.size())
    return ctx.error("starts, ends, axes and steps differ in length");
  SmallVector<int64_t> begin(rank, 0), size(shape), step(rank, 1);
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank)
      return ctx.error("axis out of range");
    if (steps[k] <= 0)
      return ctx.error("only positive slice steps are supported");
    int64_t dim = shape[a];
    int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
    s = std::clamp<int64_t>(s, 0, dim);
    e = std::clamp<int64_t>(e, 0, dim);
    begin[a] = s, step[a] = steps[k];
    size[a] = e > s ? (e - s + steps[k] - 1) / steps[k] : 0;
  }
  auto &b = ctx.builder();
  ctx.setOutput(0, ctx.create<nn::SliceOp>(x, i64Array(b, begin),
                                           i64Array(b, size),
                                           i64Array(b, step)));
  return success();
}

static LogicalResult convertGather(NodeContext &ctx) {
  // Gather on data with a constant scalar index: a slice that drops the
  // axis (a ViT's class-token read, x[:, 0]).
  Value x = ctx.input(0);
  if (!x)
    return failure();
  const HostTensor *idx = ctx.constant(1);
  if (!idx || idx->numElements() != 1)
    return ctx.error("Gather on data needs a constant index of one element");
  auto shape = typeOf(x).getShape();
  int64_t rank = shape.size();
  int64_t axis = ctx.attrInt("axis", 0);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return ctx.error("axis out of range");
  int64_t i = idx->getInt(0);
  if (i < 0)
    i += shape[axis];
  if (i < 0 || i >= shape[axis])
    return ctx.error("index out of range");
  SmallVector<int64_t> begin(rank, 0), size(shape), step(rank, 1);
  begin[axis] = i;
  size[axis] = 1;
  auto &b = ctx.builder();
  Value slice = ctx.create<nn::SliceOp>(x, i64Array(b, begin),
                                        i64Array(b, size), i64Array(b, step));
  SmallVector<int64_t> outShape(shape);
  if (idx->shape.empty())
    outShape.erase(outShape.begin() + axis);
  else
    outShape[axis] = 1;
  ctx.setOutput(0, reshapeTo(ctx, slice, outShape));
  return success();
}

static LogicalResult convertPad(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  std::string mode = ctx.attrString("mode", "constant");
  if (mode != "constant")
    return ctx.error("pad mode '" + mode +
                     "' is not supported (only 'constant')");
  SmallVector<int64_t> pads;
  double value = 0;
  if (ctx.since < 11) {
    pads = ctx.attrInts("pads");
    value = ctx.attrFloat("value", 0);
  } else {
    auto p = ctx.constantInts(1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
    if (ctx.hasInput(2)) {
      auto v = ctx.constantScalar(2, "constant value");
      if (failed(v))
        return failure();
      value = *v;
    }
    if (ctx.hasInput(3))
      return ctx.error("the axes input of Pad is not supported");
  }
  if (llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return ctx.error("negative pads (cropping) are not supported");
  auto &b = ctx.builder();
  ctx.setOutput(0, ctx.create<nn::PadOp>(x, i64Array(b, pads),
                                         b.getF64FloatAttr(value)));
  return success();
}

template <typename OpTy>
static LogicalResult convertReduce(NodeContext &ctx, int axesInputSince) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  int64_t rank = typeOf(x).getRank();
  SmallVector<int64_t> axes;
  if (ctx.since >= axesInputSince) {
    if (ctx.hasInput(1)) {
      auto a = ctx.constantInts(1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else {
    axes = ctx.attrInts("axes");
  }
  if (axes.empty()) {
    if (ctx.attrInt("noop_with_empty_axes", 0)) {
      ctx.setOutput(0, x);
      return success();
    }
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  for (int64_t &a : axes)
    if (a < 0)
      a += rank;
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  auto &b = ctx.builder();
  ctx.setOutput(0, ctx.create<OpTy>(
                       x, i64Array(b, axes),
                       b.getBoolAttr(ctx.attrInt("keepdims", 1) != 0)));
  return success();
}

template <typename OpTy>
static LogicalResult convertSoftmax(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto shape = typeOf(x).getShape();
  int64_t rank = shape.size();
  int64_t axis = ctx.attrInt("axis", ctx.since >= 13 ? -1 : 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return ctx.error("axis out of range");
  auto &b = ctx.builder();
  if (ctx.since >= 13 || axis == rank - 1) {
    ctx.setOutput(0, ctx.create<OpTy>(x, b.getI64IntegerAttr(axis)));
    return success();
  }
  // Before opset 13 the input is coerced to 2-D at `axis` and normalised
  // over the second dimension.
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) *= shape[i];
  Value flat = reshapeTo(ctx, x, {outer, inner});
  Value y = ctx.create<OpTy>(flat, b.getI64IntegerAttr(1));
  ctx.setOutput(0, reshapeTo(ctx, y, shape));
  return success();
}

static LogicalResult convertExpand(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto target = ctx.constantInts(1, "shape");
  if (failed(target))
    return failure();
  auto shape = nn::broadcastShapes(typeOf(x).getShape(), *target);
  if (failed(shape))
    return ctx.error("shape does not broadcast with the input");
  auto type = RankedTensorType::get(*shape, typeOf(x).getElementType());
  ctx.setOutput(0, type == x.getType()
                       ? x
                       : Value(ctx.create<nn::BroadcastToOp>(type, x)));
  return success();
}

static LogicalResult convertCast(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  int to = static_cast<int>(ctx.attrInt("to", 0));
  if (!isSupportedFloatType(to))
    return ctx.error("cast of data to " + elementTypeName(to) +
                     " is not supported");
  auto element = ctx.importer.elementType(to, "the cast target");
  if (failed(element))
    return failure();
  if (typeOf(x).getElementType() != *element)
    return ctx.error("casts between float types are not supported");
  ctx.setOutput(0, x);
  return success();
}

static LogicalResult convertPow(NodeContext &ctx) {
  return convertBinary<nn::PowOp>(ctx);
}

static const llvm::StringMap<Handler> &handlers() {
  static const llvm::StringMap<Handler> table = {
      {"Conv", convertConv},
      {"Gemm", convertGemm},
      {"MatMul", convertMatMul},
      {"Add", convertBinary<nn::AddOp>},
      {"Sub", convertBinary<nn::SubOp>},
      {"Mul", convertBinary<nn::MulOp>},
      {"Div", convertBinary<nn::DivOp>},
      {"Pow", convertPow},
      {"Max", convertVariadic<nn::MaxOp>},
      {"Min", convertVariadic<nn::MinOp>},
      {"Relu", convertUnary<nn::ReluOp>},
      {"Sigmoid", convertUnary<nn::SigmoidOp>},
      {"Tanh", convertUnary<nn::TanhOp>},
      {"Exp", convertUnary<nn::ExpOp>},
      {"Log", convertUnary<nn::LogOp>},
      {"Sqrt", convertUnary<nn::SqrtOp>},
      {"Erf", convertUnary<nn::ErfOp>},
      {"Neg", convertUnary<nn::NegOp>},
      {"Abs", convertUnary<nn::AbsOp>},
      {"Reciprocal", convertUnary<nn::ReciprocalOp>},
      {"HardSwish", convertUnary<nn::HardSwishOp>},
      {"LeakyRelu", convertLeakyRelu},
      {"HardSigmoid", convertHardSigmoid},
      {"Clip", convertClip},
      {"MaxPool", [](NodeContext &c) { return convertPool(c, true); }},
      {"AveragePool", [](NodeContext &c) { return convertPool(c, false); }},
      {"GlobalAveragePool", convertGlobalAveragePool},
      {"BatchNormalization", convertBatchNorm},
      {"LayerNormalization", convertLayerNorm},
      {"Dropout", convertDropout},
      {"Identity", convertIdentity},
      {"Reshape", convertReshapeLike},
      {"Flatten", convertReshapeLike},
      {"Squeeze", convertReshapeLike},
      {"Unsqueeze", convertReshapeLike},
      {"Transpose", convertTranspose},
      {"Concat", convertConcat},
      {"Split", convertSplit},
      {"Slice", convertSlice},
      {"Gather", convertGather},
      {"Pad", convertPad},
      {"Expand", convertExpand},
      {"Cast", convertCast},
      {"ReduceSum",
       [](NodeContext &c) { return convertReduce<nn::ReduceSumOp>(c, 13); }},
      {"ReduceMean",
       [](NodeContext &c) { return convertReduce<nn::ReduceMeanOp>(c, 18); }},
      {"ReduceMax",
       [](NodeContext &c) { return convertReduce<nn::ReduceMaxOp>(c, 18); }},
      {"Softmax", convertSoftmax<nn::SoftmaxOp>},
      {"LogSoftmax", convertSoftmax<nn::LogSoftmaxOp>},
  };
  return table;
}

/// Operators that are only ever evaluated on the host (they compute
/// shapes); they need constant inputs.
static bool isHostOnly(StringRef opType) {
  return opType == "Shape" || opType == "Constant" ||
         opType == "ConstantOfShape" || opType == "Range" ||
         opType == "Equal" || opType == "Where" || opType == "Less" ||
         opType == "Greater" || opType == "Floor" || opType == "Ceil" ||
         opType == "Mod" || opType == "And" || opType == "Or" ||
         opType == "ReduceProd" || opType == "Size";
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

LogicalResult Importer::convertNode(const onnx::NodeProto &node) {
  int since = sinceVersion(node.op_type(), opset);
  NodeContext ctx(*this, node, since);

  // Host evaluation first: when every input is a constant (or the op only
  // needs its input's static shape) the result is a constant too.
  if (node.op_type() == "Constant") {
    HostTensor t;
    std::string error;
    const onnx::AttributeProto *a = node.attribute_size() == 1
                                        ? &node.attribute(0)
                                        : nullptr;
    if (!a)
      return ctx.error("expects exactly one value attribute");
    if (a->name() == "value") {
      if (!decodeTensorProto(a->t(), t, error))
        return ctx.error(error);
    } else if (a->name() == "value_float") {
      t = HostTensor::fromFloats({a->f()}, {}, onnx::TensorProto::FLOAT);
    } else if (a->name() == "value_floats") {
      t = HostTensor::fromFloats({a->floats().begin(), a->floats().end()},
                                 {a->floats_size()}, onnx::TensorProto::FLOAT);
    } else if (a->name() == "value_int") {
      t = HostTensor::fromInts({a->i()}, {});
    } else if (a->name() == "value_ints") {
      t = HostTensor::fromInts({a->ints().begin(), a->ints().end()},
                               {a->ints_size()});
    } else {
      return ctx.error("attribute '" + a->name() + "' is not supported");
    }
    ctx.setConstant(0, std::move(t));
    return success();
  }
  if (node.op_type() == "Shape" || node.op_type() == "Size") {
    auto it = values.find(node.input(0));
    std::vector<int64_t> shape;
    if (it != values.end() && it->second.constant) {
      shape = it->second.constant->shape;
    } else {
      Value x = ctx.input(0);
      if (!x)
        return failure();
      auto s = typeOf(x).getShape();
      shape.assign(s.begin(), s.end());
    }
    if (node.op_type() == "Size") {
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      ctx.setConstant(0, HostTensor::fromInts({n}, {}));
      return success();
    }
    int64_t rank = shape.size();
    int64_t start = ctx.attrInt("start", 0), end = ctx.attrInt("end", rank);
    if (start < 0)
      start += rank;
    if (end < 0)
      end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    std::vector<int64_t> dims(shape.begin() + start, shape.begin() + end);
    int64_t n = dims.size();
    ctx.setConstant(0, HostTensor::fromInts(std::move(dims), {n}));
    return success();
  }

  std::vector<const HostTensor *> constants;
  bool allConstant = true;
  for (int i = 0; i < node.input_size(); ++i) {
    if (node.input(i).empty()) {
      constants.push_back(nullptr);
      continue;
    }
    auto it = values.find(node.input(i));
    if (it == values.end() || !it->second.constant) {
      allConstant = false;
      break;
    }
    constants.push_back(&*it->second.constant);
  }
  if (allConstant) {
    std::string error;
    auto result = evaluateOnHost(node, since, constants, error);
    if (!error.empty())
      return ctx.error(error);
    if (result) {
      for (size_t i = 0; i < result->size(); ++i)
        ctx.setConstant(i, std::move((*result)[i]));
      return success();
    }
  }
  if (isHostOnly(node.op_type()))
    return ctx.error("this operator is only supported on constants known at "
                     "import time");

  auto handler = handlers().find(node.op_type());
  if (handler == handlers().end())
    return ctx.error("unsupported operator");
  builder.setInsertionPointToEnd(entryBlock);
  return handler->second(ctx);
}

LogicalResult Importer::precheck(const onnx::ModelProto &model) {
  opset = defaultOpset(model);
  graphProto = &model.graph();
  const onnx::GraphProto &graph = model.graph();
  bool ok = true;
  for (const auto &node : graph.node()) {
    int since = sinceVersion(node.op_type(), opset);
    bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
    bool known = handlers().count(node.op_type()) ||
                 isHostOnly(node.op_type()) || node.op_type() == "Constant";
    if (!known || !defaultDomain || since < 0) {
      emitFileError() << nodeDescription(node, since) << ": "
                      << (defaultDomain ? "" : "operator of domain '" +
                                                   node.domain() + "': ")
                      << (since < 0 && defaultDomain
                              ? "unknown operator"
                              : "unsupported operator");
      ok = false;
      continue;
    }
    int minIn, maxIn, minOut, maxOut;
    if (!schemaArity(node.op_type(), opset, minIn, maxIn, minOut, maxOut))
      continue;
    if (node.input_size() < minIn || node.input_size() > maxIn) {
      emitFileError() << nodeDescription(node, since) << ": has "
                      << node.input_size() << " inputs, expected "
                      << (minIn == maxIn ? std::to_string(minIn)
                                         : std::to_string(minIn) + " to " +
                                               std::to_string(maxIn));
      ok = false;
    }
    if (node.output_size() < minOut || node.output_size() > maxOut) {
      emitFileError() << nodeDescription(node, since) << ": has "
                      << node.output_size() << " outputs, expected "
                      << (minOut == maxOut ? std::to_string(minOut)
                                           : std::to_string(minOut) + " to " +
                                                 std::to_string(maxOut));
      ok = false;
    }
  }
  std::set<std::string> initializerNames;
  for (const auto &init : graph.initializer()) {
    initializerNames.insert(init.name());
    int t = init.data_type();
    if (!isSupportedFloatType(t) && !isSupportedIntType(t)) {
      emitFileError() << "initializer '" << init.name() << "' has data type "
                      << elementTypeName(t)
                      << ", which is not supported (float data must be FLOAT "
                         "or DOUBLE)";
      ok = false;
    }
  }
  for (const auto &input : graph.input()) {
    if (initializerNames.count(input.name()) || !input.type().has_tensor_type())
      continue;
    int t = input.type().tensor_type().elem_type();
    if (!isSupportedFloatType(t)) {
      emitFileError() << "graph input '" << input.name() << "' has data type "
                      << elementTypeName(t)
                      << ", which is not supported (FLOAT or DOUBLE)";
      ok = false;
    }
  }
  return success(ok);
}

OwningOpRef<ModuleOp> Importer::run(const onnx::ModelProto &model) {
  const onnx::GraphProto &graph = model.graph();
  graphProto = &graph;
  module = ModuleOp::create(fileLoc());
  OwningOpRef<ModuleOp> owned(module);
  if (!graph.name().empty())
    module->setAttr("nn.graph_name", builder.getStringAttr(graph.name()));

  bool ok = true;
  if (failed(createGlobals(graph)))
    return nullptr;

  // Names used as inputs by some node or as graph outputs.
  for (const auto &node : graph.node())
    for (const auto &in : node.input())
      usedNames.insert(in);
  for (const auto &out : graph.output())
    usedNames.insert(out.name());

  // The signature: graph inputs that are not initializers.
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const auto &input : graph.input()) {
    if (globals.count(input.name()) || values.count(input.name()))
      continue;
    auto type = tensorTypeOf(input.type(), "graph input '" + input.name() + "'");
    if (failed(type))
      return nullptr;
    argTypes.push_back(*type);
    argNames.push_back(input.name());
  }

  // Types of intermediate values, from shape inference, to check the IR
  // the handlers build against.
  std::map<std::string, const onnx::TypeProto *> inferredTypes;
  for (const auto &info : graph.value_info())
    inferredTypes[info.name()] = &info.type();
  for (const auto &info : graph.output())
    inferredTypes[info.name()] = &info.type();

  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, fileLoc(), options.functionName,
                                   builder.getFunctionType(argTypes, {}));
  entryBlock = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    values[name].value = entryBlock->getArgument(i);
    func.setArgAttr(i, "onnx.name", builder.getStringAttr(name));
  }

  for (const auto &node : graph.node()) {
    bool skip = llvm::any_of(node.input(), [&](const std::string &in) {
      return poisoned.count(in) != 0;
    });
    if (!skip && failed(convertNode(node))) {
      ok = false;
      skip = true;
    }
    if (skip) {
      for (const auto &out : node.output())
        poisoned.insert(out);
      continue;
    }
    // Check the IR's types against ONNX's shape inference.
    for (const auto &out : node.output()) {
      auto it = values.find(out);
      auto inferred = inferredTypes.find(out);
      if (it == values.end() || !it->second.value ||
          inferred == inferredTypes.end())
        continue;
      // Only complete inferred shapes are comparable: ONNX infers none for
      // BatchNormalization's saved statistics, nor past shapes that its
      // data propagation cannot follow (the importer's folding can).
      const onnx::TypeProto &proto = *inferred->second;
      if (!proto.has_tensor_type() || !proto.tensor_type().has_shape() ||
          llvm::any_of(proto.tensor_type().shape().dim(),
                       [](const auto &d) { return !d.has_dim_value(); }))
        continue;
      auto expected = tensorTypeOf(proto, "output '" + out + "'");
      if (failed(expected)) {
        ok = false;
        continue;
      }
      if (*expected != it->second.value.getType()) {
        emitFileError() << nodeDescription(node, sinceVersion(node.op_type(),
                                                              opset))
                        << ": output '" << out << "' has type "
                        << it->second.value.getType()
                        << " but ONNX shape inference says " << *expected;
        ok = false;
      }
    }
  }
  if (!ok)
    return nullptr;

  builder.setInsertionPointToEnd(entryBlock);
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &output : graph.output()) {
    auto it = values.find(output.name());
    if (it == values.end()) {
      emitFileError() << "graph output '" << output.name()
                      << "' is not produced by any node";
      return nullptr;
    }
    Value v = it->second.value;
    if (!v && it->second.constant) {
      if (!it->second.constant->isFloat()) {
        emitFileError() << "graph output '" << output.name()
                        << "' is an integer constant; only float outputs "
                           "are supported";
        return nullptr;
      }
      v = materialize(*it->second.constant, fileLoc());
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
  }
  func::ReturnOp::create(builder, fileLoc(), results);
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, output] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "onnx.name", builder.getStringAttr(output.name()));

  if (failed(mlir::verify(module)))
    return nullptr;
  return owned;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void adagp::registerONNXImportDialects(DialectRegistry &registry) {
  registry.insert<nn::NNDialect, func::FuncDialect, arith::ArithDialect,
                  ml_program::MLProgramDialect>();
}

static bool isTextPath(StringRef path) {
  return path.ends_with(".onnxtxt") || path.ends_with(".onnxtext") ||
         path.ends_with(".txt");
}

OwningOpRef<ModuleOp> adagp::importONNXBytes(const std::string &bytes,
                                             const std::string &path,
                                             MLIRContext *context,
                                             const ONNXImportOptions &options) {
  context->loadDialect<nn::NNDialect, func::FuncDialect, arith::ArithDialect,
                       ml_program::MLProgramDialect>();
  onnx::ModelProto model;
  std::string error;
  auto fileLoc = FileLineColLoc::get(StringAttr::get(context, path), 0, 0);
  if (!parseModel(bytes, isTextPath(path), model, error)) {
    mlir::emitError(fileLoc) << error;
    return nullptr;
  }
  Importer importer(context, path, options);
  if (failed(importer.precheck(model)))
    return nullptr;
  if (!prepareModel(model, options.batchSize, error)) {
    mlir::emitError(fileLoc) << error;
    return nullptr;
  }
  return importer.run(model);
}

OwningOpRef<ModuleOp> adagp::importONNXFile(const std::string &path,
                                            MLIRContext *context,
                                            const ONNXImportOptions &options) {
  std::string bytes, error;
  if (!readFile(path, bytes, error)) {
    mlir::emitError(FileLineColLoc::get(StringAttr::get(context, path), 0, 0))
        << error;
    return nullptr;
  }
  return importONNXBytes(bytes, path, context, options);
}
