//===- ExportONNX.cpp - The nn dialect back to ONNX -----------------------===//
//
// Each nn operation of @forward becomes one ONNX node of opset 17 (plus
// Constant nodes for its compile-time operands). The choices mirror the
// importer's so that importing the exported model gives the same IR: shape
// operands travel as Constant nodes, which the importer folds back into
// attributes, and parameters as initializers named after their globals.
//
//===----------------------------------------------------------------------===//

#include "adagp/Target/ONNX/ONNXExport.h"

#include "ModelLoader.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cstring>

using namespace mlir;
using namespace adagp;

namespace {

constexpr int64_t kExportOpset = 17;

class Exporter {
public:
  Exporter(ModuleOp module, const ONNXExportOptions &options)
      : module(module), options(options) {}

  LogicalResult run(std::string &bytes);

private:
  ModuleOp module;
  ONNXExportOptions options;
  onnx::ModelProto model;
  onnx::GraphProto *graph = nullptr;
  llvm::DenseMap<Value, std::string> names;
  llvm::StringSet<> usedNames;
  llvm::StringSet<> exportedInitializers;
  int64_t batchSize = -1;

  std::string uniqueName(StringRef base);
  std::string nameOf(Value v) { return names.lookup(v); }
  std::string nodeName(Operation *op);

  onnx::NodeProto *addNode(Operation *op, StringRef opType,
                           ArrayRef<std::string> inputs, ValueRange results);
  std::string addConstant(Operation *op, StringRef suffix,
                          ArrayRef<int64_t> values, bool vector = true);
  std::string addFloatConstant(Operation *op, StringRef suffix, double value,
                               Type element);
  static void setInts(onnx::NodeProto *node, StringRef name,
                      ArrayRef<int64_t> values);
  static void setInt(onnx::NodeProto *node, StringRef name, int64_t value);
  static void setFloat(onnx::NodeProto *node, StringRef name, double value);

  LogicalResult exportInitializer(ml_program::GlobalOp global);
  LogicalResult exportOp(Operation *op);
  void setValueInfo(onnx::ValueInfoProto *info, StringRef name, Type type,
                    bool symbolicBatch);
};

} // namespace

static int onnxElementType(Type t) {
  return t.isF64() ? onnx::TensorProto::DOUBLE : onnx::TensorProto::FLOAT;
}

std::string Exporter::uniqueName(StringRef base) {
  std::string name = base.empty() ? "v" : base.str();
  if (usedNames.insert(name).second)
    return name;
  for (int i = 1;; ++i) {
    std::string candidate = name + "_" + std::to_string(i);
    if (usedNames.insert(candidate).second)
      return candidate;
  }
}

std::string Exporter::nodeName(Operation *op) {
  if (auto loc = dyn_cast<NameLoc>(op->getLoc()))
    return loc.getName().str();
  return op->getName().stripDialect().str();
}

void Exporter::setInts(onnx::NodeProto *node, StringRef name,
                       ArrayRef<int64_t> values) {
  auto *a = node->add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values)
    a->add_ints(v);
}

void Exporter::setInt(onnx::NodeProto *node, StringRef name, int64_t value) {
  auto *a = node->add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void Exporter::setFloat(onnx::NodeProto *node, StringRef name, double value) {
  auto *a = node->add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(value));
}

onnx::NodeProto *Exporter::addNode(Operation *op, StringRef opType,
                                   ArrayRef<std::string> inputs,
                                   ValueRange results) {
  auto *node = graph->add_node();
  std::string base = nodeName(op);
  node->set_name(uniqueName(base));
  node->set_op_type(opType.str());
  for (const auto &in : inputs)
    node->add_input(in);
  for (auto [i, r] : llvm::enumerate(results)) {
    std::string name = names.lookup(r);
    if (name.empty()) {
      name = uniqueName(node->name() + "_output_" + std::to_string(i));
      names[r] = name;
    }
    node->add_output(name);
  }
  return node;
}

std::string Exporter::addConstant(Operation *op, StringRef suffix,
                                  ArrayRef<int64_t> values, bool vector) {
  auto *node = graph->add_node();
  std::string name = uniqueName(nodeName(op) + "_" + suffix.str());
  node->set_name(name);
  node->set_op_type("Constant");
  node->add_output(name);
  auto *a = node->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  auto *t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  if (vector)
    t->add_dims(values.size());
  for (int64_t v : values)
    t->add_int64_data(v);
  return name;
}

std::string Exporter::addFloatConstant(Operation *op, StringRef suffix,
                                       double value, Type element) {
  auto *node = graph->add_node();
  std::string name = uniqueName(nodeName(op) + "_" + suffix.str());
  node->set_name(name);
  node->set_op_type("Constant");
  node->add_output(name);
  auto *a = node->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  auto *t = a->mutable_t();
  t->set_data_type(onnxElementType(element));
  if (element.isF64())
    t->add_double_data(value);
  else
    t->add_float_data(static_cast<float>(value));
  return name;
}

void Exporter::setValueInfo(onnx::ValueInfoProto *info, StringRef name,
                            Type type, bool symbolicBatch) {
  auto tensor = cast<RankedTensorType>(type);
  info->set_name(name.str());
  auto *tt = info->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnxElementType(tensor.getElementType()));
  auto *shape = tt->mutable_shape();
  for (auto [i, d] : llvm::enumerate(tensor.getShape())) {
    auto *dim = shape->add_dim();
    if (i == 0 && symbolicBatch && d == batchSize)
      dim->set_dim_param("N");
    else
      dim->set_dim_value(d);
  }
}

LogicalResult Exporter::exportInitializer(ml_program::GlobalOp global) {
  StringRef name = global.getSymName();
  if (!exportedInitializers.insert(name).second)
    return success();
  auto type = dyn_cast<RankedTensorType>(global.getType());
  if (!type || !type.getElementType().isIntOrFloat() ||
      !isa<FloatType>(type.getElementType()))
    return global.emitError("only float tensor globals can be exported");
  auto *init = graph->add_initializer();
  init->set_name(name.str());
  init->set_data_type(onnxElementType(type.getElementType()));
  for (int64_t d : type.getShape())
    init->add_dims(d);
  Attribute value = global.getValue().value_or(Attribute());
  size_t bytes = type.getNumElements() *
                 (type.getElementType().getIntOrFloatBitWidth() / 8);
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return global.emitError("the value of global '")
             << name << "' is not loaded";
    ArrayRef<char> data = blob->getData();
    if (data.size() != bytes)
      return global.emitError("the value of global '")
             << name << "' has " << data.size() << " bytes, expected "
             << bytes;
    init->set_raw_data(std::string(data.data(), data.size()));
    return success();
  }
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(value)) {
    std::string raw;
    raw.reserve(bytes);
    if (type.getElementType().isF64()) {
      for (double v : dense.getValues<double>())
        raw.append(reinterpret_cast<const char *>(&v), sizeof(v));
    } else {
      for (float v : dense.getValues<float>())
        raw.append(reinterpret_cast<const char *>(&v), sizeof(v));
    }
    init->set_raw_data(raw);
    return success();
  }
  return global.emitError("global '") << name << "' has no initial value";
}

LogicalResult Exporter::exportOp(Operation *op) {
  auto in = [&](unsigned i) { return nameOf(op->getOperand(i)); };
  auto results = op->getResults();
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ml_program::GlobalLoadOp>([&](auto load) -> LogicalResult {
        auto global = SymbolTable::lookupNearestSymbolFrom<ml_program::GlobalOp>(
            load, load.getGlobalAttr());
        if (!global)
          return load.emitError("unknown global");
        names[load.getResult()] = global.getSymName().str();
        usedNames.insert(global.getSymName());
        return success();
      })
      .Case<arith::ConstantOp>([&](arith::ConstantOp c) -> LogicalResult {
        if (c.getType().isInteger(64))
          return success(); // Dropout keys; Dropout exports its own.
        auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
        auto type = dyn_cast<RankedTensorType>(c.getType());
        if (!dense || !type || !isa<FloatType>(type.getElementType()))
          return c.emitError("only float tensor constants can be exported");
        auto *node = addNode(op, "Constant", {}, results);
        auto *a = node->add_attribute();
        a->set_name("value");
        a->set_type(onnx::AttributeProto::TENSOR);
        auto *t = a->mutable_t();
        t->set_data_type(onnxElementType(type.getElementType()));
        for (int64_t d : type.getShape())
          t->add_dims(d);
        if (type.getElementType().isF64())
          for (double v : dense.getValues<double>())
            t->add_double_data(v);
        else
          for (float v : dense.getValues<float>())
            t->add_float_data(v);
        return success();
      })
      .Case<nn::Conv2DOp>([&](nn::Conv2DOp conv) {
        SmallVector<std::string> inputs = {in(0), in(1)};
        if (conv.getBias())
          inputs.push_back(nameOf(conv.getBias()));
        auto *node = addNode(op, "Conv", inputs, results);
        auto w = conv.getFilter().getType().getShape();
        setInts(node, "kernel_shape", {w[2], w[3]});
        setInts(node, "strides", conv.getStrides());
        setInts(node, "pads", conv.getPads());
        setInts(node, "dilations", conv.getDilations());
        setInt(node, "group", conv.getGroups());
        return success();
      })
      .Case<nn::GemmOp>([&](nn::GemmOp gemm) {
        SmallVector<std::string> inputs = {in(0), in(1)};
        if (gemm.getC())
          inputs.push_back(nameOf(gemm.getC()));
        auto *node = addNode(op, "Gemm", inputs, results);
        setFloat(node, "alpha", gemm.getAlpha().convertToDouble());
        setFloat(node, "beta", gemm.getBeta().convertToDouble());
        setInt(node, "transA", gemm.getTransA());
        setInt(node, "transB", gemm.getTransB());
        return success();
      })
      .Case<nn::MatMulOp>([&](auto) {
        addNode(op, "MatMul", {in(0), in(1)}, results);
        return success();
      })
      .Case<nn::AddOp, nn::SubOp, nn::MulOp, nn::DivOp, nn::PowOp, nn::MaxOp,
            nn::MinOp>([&](auto) {
        static const llvm::StringMap<StringRef> onnxNames = {
            {"add", "Add"}, {"sub", "Sub"}, {"mul", "Mul"}, {"div", "Div"},
            {"pow", "Pow"}, {"max", "Max"}, {"min", "Min"}};
        addNode(op, onnxNames.lookup(op->getName().stripDialect()),
                {in(0), in(1)}, results);
        return success();
      })
      .Case<nn::ReluOp, nn::SigmoidOp, nn::TanhOp, nn::ExpOp, nn::LogOp,
            nn::SqrtOp, nn::ErfOp, nn::NegOp, nn::AbsOp, nn::ReciprocalOp,
            nn::HardSwishOp>([&](auto) {
        static const llvm::StringMap<StringRef> onnxNames = {
            {"relu", "Relu"},      {"sigmoid", "Sigmoid"},
            {"tanh", "Tanh"},      {"exp", "Exp"},
            {"log", "Log"},        {"sqrt", "Sqrt"},
            {"erf", "Erf"},        {"neg", "Neg"},
            {"abs", "Abs"},        {"reciprocal", "Reciprocal"},
            {"hard_swish", "HardSwish"}};
        addNode(op, onnxNames.lookup(op->getName().stripDialect()), {in(0)},
                results);
        return success();
      })
      .Case<nn::LeakyReluOp>([&](nn::LeakyReluOp r) {
        auto *node = addNode(op, "LeakyRelu", {in(0)}, results);
        setFloat(node, "alpha", r.getAlpha().convertToDouble());
        return success();
      })
      .Case<nn::HardSigmoidOp>([&](nn::HardSigmoidOp h) {
        auto *node = addNode(op, "HardSigmoid", {in(0)}, results);
        setFloat(node, "alpha", h.getAlpha().convertToDouble());
        setFloat(node, "beta", h.getBeta().convertToDouble());
        return success();
      })
      .Case<nn::ClipOp>([&](nn::ClipOp c) {
        Type element = c.getType().getElementType();
        std::string lo = addFloatConstant(op, "min",
                                          c.getMin().convertToDouble(), element);
        std::string hi = addFloatConstant(op, "max",
                                          c.getMax().convertToDouble(), element);
        addNode(op, "Clip", {in(0), lo, hi}, results);
        return success();
      })
      .Case<nn::ScaleOp>([&](nn::ScaleOp s) {
        std::string f = addFloatConstant(op, "factor",
                                         s.getFactor().convertToDouble(),
                                         s.getType().getElementType());
        addNode(op, "Mul", {in(0), f}, results);
        return success();
      })
      .Case<nn::MaxPool2DOp>([&](nn::MaxPool2DOp p) {
        auto *node = addNode(op, "MaxPool", {in(0)}, results);
        setInts(node, "kernel_shape", p.getKernel());
        setInts(node, "strides", p.getStrides());
        setInts(node, "pads", p.getPads());
        setInts(node, "dilations", p.getDilations());
        setInt(node, "ceil_mode", p.getCeilMode());
        return success();
      })
      .Case<nn::AvgPool2DOp>([&](nn::AvgPool2DOp p) {
        auto *node = addNode(op, "AveragePool", {in(0)}, results);
        setInts(node, "kernel_shape", p.getKernel());
        setInts(node, "strides", p.getStrides());
        setInts(node, "pads", p.getPads());
        setInt(node, "ceil_mode", p.getCeilMode());
        setInt(node, "count_include_pad", p.getCountIncludePad());
        return success();
      })
      .Case<nn::GlobalAvgPoolOp>([&](auto) {
        addNode(op, "GlobalAveragePool", {in(0)}, results);
        return success();
      })
      .Case<nn::BatchNormTrainOp>([&](nn::BatchNormTrainOp bn) -> LogicalResult {
        if (!bn.getBatchMean().use_empty() || !bn.getBatchVar().use_empty())
          return bn.emitError("the batch statistics of a training-mode "
                              "batch norm have no ONNX (opset 17) output");
        auto *node = addNode(op, "BatchNormalization",
                             {in(0), in(1), in(2), in(3), in(4)},
                             results.take_front(3));
        setFloat(node, "epsilon", bn.getEpsilon().convertToDouble());
        setFloat(node, "momentum", bn.getMomentum().convertToDouble());
        setInt(node, "training_mode", 1);
        return success();
      })
      .Case<nn::BatchNormInferenceOp>([&](nn::BatchNormInferenceOp bn) {
        auto *node = addNode(op, "BatchNormalization",
                             {in(0), in(1), in(2), in(3), in(4)}, results);
        setFloat(node, "epsilon", bn.getEpsilon().convertToDouble());
        return success();
      })
      .Case<nn::LayerNormOp>([&](nn::LayerNormOp ln) {
        SmallVector<std::string> inputs = {in(0), in(1)};
        if (ln.getBias())
          inputs.push_back(nameOf(ln.getBias()));
        auto *node = addNode(op, "LayerNormalization", inputs, results);
        setInt(node, "axis", ln.getAxis());
        setFloat(node, "epsilon", ln.getEpsilon().convertToDouble());
        return success();
      })
      .Case<nn::DropoutOp>([&](nn::DropoutOp d) {
        Type element = d.getType().getElementType();
        std::string ratio = addFloatConstant(op, "ratio",
                                             d.getRatio().convertToDouble(),
                                             element);
        // training_mode is a bool tensor.
        auto *constNode = graph->add_node();
        std::string training = uniqueName(nodeName(op) + "_training_mode");
        constNode->set_name(training);
        constNode->set_op_type("Constant");
        constNode->add_output(training);
        auto *a = constNode->add_attribute();
        a->set_name("value");
        a->set_type(onnx::AttributeProto::TENSOR);
        a->mutable_t()->set_data_type(onnx::TensorProto::BOOL);
        a->mutable_t()->add_int32_data(1);
        auto *node = addNode(op, "Dropout", {in(0), ratio, training}, results);
        if (d.getSeed() != 0)
          setInt(node, "seed", d.getSeed());
        return success();
      })
      .Case<nn::ReshapeOp>([&](nn::ReshapeOp r) {
        std::string shape =
            addConstant(op, "shape", r.getResult().getType().getShape());
        addNode(op, "Reshape", {in(0), shape}, results);
        return success();
      })
      .Case<nn::FlattenOp>([&](nn::FlattenOp f) {
        auto *node = addNode(op, "Flatten", {in(0)}, results);
        setInt(node, "axis", f.getAxis());
        return success();
      })
      .Case<nn::TransposeOp>([&](nn::TransposeOp t) {
        auto *node = addNode(op, "Transpose", {in(0)}, results);
        setInts(node, "perm", t.getPermutation());
        return success();
      })
      .Case<nn::ConcatOp>([&](nn::ConcatOp c) {
        SmallVector<std::string> inputs;
        for (Value v : c.getInputs())
          inputs.push_back(nameOf(v));
        auto *node = addNode(op, "Concat", inputs, results);
        setInt(node, "axis", c.getAxis());
        return success();
      })
      .Case<nn::SplitOp>([&](nn::SplitOp s) {
        std::string sizes = addConstant(op, "split", s.getSizes());
        auto *node = addNode(op, "Split", {in(0), sizes}, results);
        setInt(node, "axis", s.getAxis());
        return success();
      })
      .Case<nn::SliceOp>([&](nn::SliceOp s) {
        SmallVector<int64_t> ends, axes;
        for (auto [i, start] : llvm::enumerate(s.getStarts())) {
          int64_t size = s.getSizes()[i], step = s.getSteps()[i];
          ends.push_back(size == 0 ? start : start + (size - 1) * step + 1);
          axes.push_back(i);
        }
        std::string starts = addConstant(op, "starts", s.getStarts());
        std::string endsName = addConstant(op, "ends", ends);
        std::string axesName = addConstant(op, "axes", axes);
        std::string steps = addConstant(op, "steps", s.getSteps());
        addNode(op, "Slice", {in(0), starts, endsName, axesName, steps},
                results);
        return success();
      })
      .Case<nn::PadOp>([&](nn::PadOp p) {
        std::string pads = addConstant(op, "pads", p.getPads());
        std::string value = addFloatConstant(op, "value",
                                             p.getValue().convertToDouble(),
                                             p.getType().getElementType());
        auto *node = addNode(op, "Pad", {in(0), pads, value}, results);
        auto *a = node->add_attribute();
        a->set_name("mode");
        a->set_type(onnx::AttributeProto::STRING);
        a->set_s("constant");
        return success();
      })
      .Case<nn::ReduceSumOp>([&](nn::ReduceSumOp r) {
        std::string axes = addConstant(op, "axes", r.getAxes());
        auto *node = addNode(op, "ReduceSum", {in(0), axes}, results);
        setInt(node, "keepdims", r.getKeepdims());
        return success();
      })
      .Case<nn::ReduceMeanOp, nn::ReduceMaxOp>([&](auto r) {
        auto *node = addNode(op, isa<nn::ReduceMeanOp>(op) ? "ReduceMean"
                                                           : "ReduceMax",
                             {in(0)}, results);
        setInts(node, "axes", r.getAxes());
        setInt(node, "keepdims", r.getKeepdims());
        return success();
      })
      .Case<nn::SoftmaxOp, nn::LogSoftmaxOp>([&](auto s) {
        auto *node = addNode(op, isa<nn::SoftmaxOp>(op) ? "Softmax"
                                                        : "LogSoftmax",
                             {in(0)}, results);
        setInt(node, "axis", s.getAxis());
        return success();
      })
      .Case<nn::BroadcastToOp>([&](nn::BroadcastToOp b) {
        std::string shape =
            addConstant(op, "shape", b.getResult().getType().getShape());
        addNode(op, "Expand", {in(0), shape}, results);
        return success();
      })
      .Default([&](Operation *op) {
        return op->emitError("'")
               << op->getName() << "' has no ONNX equivalent to export";
      });
}

LogicalResult Exporter::run(std::string &bytes) {
  auto func = module.lookupSymbol<func::FuncOp>(options.functionName);
  if (!func || func.isExternal())
    return module.emitError("no function @")
           << options.functionName << " to export";
  if (!func.getBody().hasOneBlock())
    return func.emitError("only single-block functions can be exported");

  model.set_ir_version(8);
  model.set_producer_name("adagp");
  model.set_producer_version("0.1");
  auto *opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kExportOpset);
  graph = model.mutable_graph();
  auto graphName = module->getAttrOfType<StringAttr>("nn.graph_name");
  graph->set_name(graphName ? graphName.str() : "adagp");

  if (func.getNumArguments() > 0) {
    auto first = dyn_cast<RankedTensorType>(func.getArgument(0).getType());
    if (first && first.getRank() > 0)
      batchSize = first.getDimSize(0);
  }
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    if (!isa<RankedTensorType>(arg.getType()))
      return func.emitError("argument #") << i << " is not a tensor";
    auto attr = func.getArgAttrOfType<StringAttr>(i, "onnx.name");
    std::string name = uniqueName(attr ? attr.str() : "input_" + std::to_string(i));
    names[arg] = name;
    setValueInfo(graph->add_input(), name, arg.getType(),
                 options.symbolicBatch);
  }

  // Result names are fixed first so that the producing nodes use them.
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto attr = func.getResultAttrOfType<StringAttr>(i, "onnx.name");
    std::string name = attr ? attr.str() : "output_" + std::to_string(i);
    if (names.count(v) || isa<BlockArgument>(v)) {
      // An output that is an input or another output needs its own node.
      continue;
    }
    names[v] = uniqueName(name);
  }

  for (Operation &op : func.getBody().front().without_terminator())
    if (failed(exportOp(&op)))
      return failure();

  // Initializers in the module's order of globals (the importer's order).
  llvm::StringSet<> loaded;
  func.walk([&](ml_program::GlobalLoadOp load) {
    loaded.insert(load.getGlobal().getLeafReference());
  });
  for (auto global : module.getOps<ml_program::GlobalOp>())
    if (loaded.contains(global.getSymName()) &&
        failed(exportInitializer(global)))
      return failure();

  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto attr = func.getResultAttrOfType<StringAttr>(i, "onnx.name");
    std::string name = nameOf(v);
    std::string wanted = attr ? attr.str() : "output_" + std::to_string(i);
    if (name != wanted && !usedNames.contains(wanted)) {
      auto *node = graph->add_node();
      node->set_name(uniqueName(wanted + "_identity"));
      node->set_op_type("Identity");
      node->add_input(name);
      node->add_output(wanted);
      usedNames.insert(wanted);
      name = wanted;
    }
    setValueInfo(graph->add_output(), name, v.getType(),
                 options.symbolicBatch);
  }

  std::string error;
  if (!onnx_import::checkModel(model, error))
    return module.emitError("the exported model is invalid: ") << error;
  if (!model.SerializeToString(&bytes))
    return module.emitError("cannot serialise the ONNX model");
  return success();
}

LogicalResult adagp::exportONNX(ModuleOp module, std::string &bytes,
                                const ONNXExportOptions &options) {
  Exporter exporter(module, options);
  return exporter.run(bytes);
}
