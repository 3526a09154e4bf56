//===- AOTEntryPoints.cpp - What a compiled model exposes to C ------------===//
//
// The C interface is described from the module before lowering: once in the
// LLVM dialect, every tensor is a bare pointer, and shapes, element types
// and which pointers are outputs can no longer be read off the signature.
//
//===----------------------------------------------------------------------===//

#include "adagp/Target/CPU/AOTCompile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <cctype>

using namespace mlir;

// C99 and C++ keywords: the header is included from both languages, so a
// tensor named `new` or `class` must not become a parameter name.
// clang-format off
static const char *const kKeywords[] = {
    "alignas",   "alignof",   "and",       "asm",          "auto",
    "bool",      "break",     "case",      "catch",        "char",
    "class",     "const",     "constexpr", "const_cast",   "continue",
    "default",   "delete",    "do",        "double",       "dynamic_cast",
    "else",      "enum",      "explicit",  "export",       "extern",
    "false",     "float",     "for",       "friend",       "goto",
    "if",        "inline",    "int",       "long",         "mutable",
    "namespace", "new",       "noexcept",  "not",          "nullptr",
    "operator",  "or",        "private",   "protected",    "public",
    "register",  "reinterpret_cast",       "restrict",     "return",
    "short",     "signed",    "sizeof",    "static",       "static_assert",
    "static_cast",            "struct",    "switch",       "template",
    "this",      "throw",     "true",      "try",          "typedef",
    "typeid",    "typename",  "union",     "unsigned",     "using",
    "virtual",   "void",      "volatile",  "wchar_t",      "while",
    "xor",       "_Bool",     "_Complex",  "_Imaginary"};
// clang-format on

bool adagp::isCIdentifier(llvm::StringRef text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0])))
    return false;
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  for (const char *keyword : kKeywords)
    if (text == keyword)
      return false;
  return true;
}

std::string adagp::sanitizeCIdentifier(llvm::StringRef text) {
  std::string result;
  for (char c : text)
    result += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (result.empty() || std::isdigit(static_cast<unsigned char>(result[0])))
    result = "m_" + result;
  if (!isCIdentifier(result))
    result += "_";
  return result;
}

std::string adagp::defaultPrefix(llvm::StringRef modelPath) {
  return sanitizeCIdentifier(llvm::sys::path::stem(modelPath));
}

/// What each function that adagp's passes create does, for the header.
static std::string describeFunction(StringRef name) {
  if (name == "forward")
    return "The model's forward pass, as in the ONNX graph (batch "
           "normalisation with its running statistics unless the graph "
           "says otherwise). Reads the parameters, changes nothing.";
  if (name == "eval_step")
    return "The forward pass in evaluation mode: no dropout, batch "
           "normalisation with its running statistics. Changes nothing.";
  if (name == "bp_step")
    return "One training step with backpropagation: the forward pass in "
           "training mode, the loss, the gradients and the optimizer's "
           "update. Updates the parameters, the optimizer state, the "
           "batch-norm running statistics and the step counter in place; "
           "`loss` is the batch's mean loss before the update.";
  if (name == "gradients")
    return "The loss and the gradient of every trained parameter (in the "
           "order of the outputs), without updating anything.";
  if (name == "gp_step")
    return "One ADA-GP step with predicted gradients: the forward pass, "
           "with each layer updated from the predictor's gradient. Updates "
           "the parameters in place.";
  return ("The module's function @" + name + ".").str();
}

static std::string dtypeOf(Type element) {
  if (element.isF32())
    return "f4";
  if (element.isF64())
    return "f8";
  if (element.isInteger(64))
    return "i8";
  if (element.isInteger(32))
    return "i4";
  return "";
}

static StringRef onnxName(DictionaryAttr attrs) {
  if (!attrs)
    return "";
  auto name = attrs.getAs<StringAttr>("onnx.name");
  return name ? name.getValue() : "";
}

/// A name for each argument or result: its ONNX name; else, for the
/// functions --train-build-step derives from @forward, the name @forward
/// gives the same position; else a conventional one.
static std::string tensorName(func::FuncOp func, func::FuncOp forward,
                              bool result, unsigned index) {
  auto attrs = [&](func::FuncOp f) {
    if (result)
      return index < f.getNumResults() ? f.getResultAttrDict(index)
                                       : DictionaryAttr();
    return index < f.getNumArguments() ? f.getArgAttrDict(index)
                                       : DictionaryAttr();
  };
  StringRef own = onnxName(attrs(func));
  if (!own.empty())
    return own.str();
  StringRef name = func.getSymName();
  if (result && (name == "bp_step" || name == "gradients") && index == 0)
    return "loss";
  // @gradients returns the gradients in the order of `train.parameters`.
  if (auto parameters = func->getAttrOfType<ArrayAttr>("train.parameters"))
    if (result && index >= 1 && index <= parameters.size())
      if (auto parameter = dyn_cast<StringAttr>(parameters[index - 1]))
        return ("grad_" + parameter.getValue()).str();
  if (forward && forward != func) {
    // bp_step and eval_step take @forward's inputs first; eval_step
    // returns @forward's outputs.
    bool sameInputs =
        !result && index < forward.getNumArguments() &&
        func.getArgumentTypes()[index] == forward.getArgumentTypes()[index];
    bool sameOutputs = result && name == "eval_step";
    if (sameInputs || sameOutputs) {
      StringRef fromForward = onnxName(attrs(forward));
      if (!fromForward.empty())
        return fromForward.str();
    }
  }
  return (result ? "output" : "input") + std::to_string(index);
}

FailureOr<std::vector<adagp::AOTEntryPoint>>
adagp::describeEntryPoints(ModuleOp module, llvm::StringRef prefix) {
  std::vector<AOTEntryPoint> entryPoints;
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  bool ok = true;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    AOTEntryPoint entry;
    entry.function = func.getSymName().str();
    entry.symbol = (prefix + "_" + sanitizeCIdentifier(entry.function)).str();
    entry.description = describeFunction(entry.function);
    llvm::StringSet<> used;
    auto describe = [&](Type type, bool result, unsigned index,
                        std::vector<AOTTensor> &into) {
      auto tensor = dyn_cast<RankedTensorType>(type);
      std::string dtype = tensor ? dtypeOf(tensor.getElementType()) : "";
      if (!tensor || !tensor.hasStaticShape() || dtype.empty()) {
        func.emitError("function @")
            << entry.function << ": " << (result ? "result" : "argument")
            << " #" << index << " has type " << type
            << "; only tensors of static shape with f32, f64, i32 or i64 "
               "elements can cross the C interface";
        ok = false;
        return;
      }
      AOTTensor t;
      t.name = sanitizeCIdentifier(tensorName(func, forward, result, index));
      // Two tensors of one function may sanitise to the same name.
      std::string unique = t.name;
      for (int n = 2; used.contains(unique); ++n)
        unique = t.name + "_" + std::to_string(n);
      used.insert(unique);
      t.name = unique;
      t.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
      t.dtype = dtype;
      t.numElements = tensor.getNumElements();
      into.push_back(std::move(t));
    };
    for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
      describe(type, false, i, entry.inputs);
    for (auto [i, type] : llvm::enumerate(func.getResultTypes()))
      describe(type, true, i, entry.outputs);
    entryPoints.push_back(std::move(entry));
  }
  if (!ok)
    return failure();
  if (entryPoints.empty())
    return module.emitError("the module has no public function to compile");
  // Two functions may sanitise to the same C name too.
  llvm::StringSet<> symbols;
  for (const AOTEntryPoint &entry : entryPoints)
    if (!symbols.insert(entry.symbol).second)
      return module.emitError("two functions give the C name '")
             << entry.symbol << "'";
  return entryPoints;
}
