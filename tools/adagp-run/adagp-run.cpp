//===- adagp-run.cpp - Run a model's forward pass on the CPU --------------===//
//
//   adagp-run model.onnx --input x.npy -o logits.npy [--threads N]
//
// Imports the model with the batch size of the first input, JIT-compiles
// its forward function for the host, runs it and writes the outputs.
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/InitAll.h"
#include "adagp/Runtime/Kernels.h"
#include "adagp/Support/Npy.h"
#include "adagp/Target/CPU/CPUTarget.h"
#include "adagp/Tools/Diagnostics.h"
#include "adagp/Tools/ModelLoading.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstring>

using namespace mlir;
namespace cl = llvm::cl;

static const char *const kTool = "adagp-run";
static cl::OptionCategory category("adagp-run options");

static cl::opt<std::string> modelFile(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx | model.mlir>"),
                                      cl::cat(category));
static cl::list<std::string>
    inputFiles("input",
               cl::desc("Input array (.npy, float32), one per model input, "
                        "in order; the first one's leading dimension is the "
                        "batch size"),
               cl::value_desc("file.npy"), cl::cat(category));
static cl::list<std::string>
    outputFiles("o", cl::desc("Output array (.npy), one per model output"),
                cl::value_desc("file.npy"), cl::cat(category));
static cl::opt<std::string> functionName(
    "function", cl::desc("The function to run (default: forward)"),
    cl::init("forward"), cl::cat(category));
static cl::opt<bool>
    noDropout("no-dropout",
              cl::desc("Run Dropout as the identity (to compare with a "
                       "reference that has no dropout)"),
              cl::init(false), cl::cat(category));
static cl::opt<bool>
    noKernels("no-kernels",
              cl::desc("Compile convolutions and matrix products through "
                       "linalg instead of calling the runtime's kernels"),
              cl::init(false), cl::cat(category));
static cl::opt<int>
    repeat("repeat",
           cl::desc("Run the function this many more times and print the "
                    "median time per run (after one warm-up run)"),
           cl::init(0), cl::cat(category));

static int fail(const std::string &message) {
  adagp::reportError(kTool, message);
  return 1;
}

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  adagp::releaseOptionName("threads");
  static cl::opt<int> threads("threads",
                              cl::desc("Worker threads (default: all cores)"),
                              cl::init(0), cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "adagp-run: run a model's forward pass on the CPU\n\n"
      "  adagp-run model.onnx --input x.npy -o logits.npy [--threads N]\n");

  if (inputFiles.empty())
    return fail("give the model's input with --input x.npy");
  std::vector<adagp::NpyArray> inputs(inputFiles.size());
  for (size_t i = 0; i < inputFiles.size(); ++i) {
    std::string error;
    if (!adagp::readNpy(inputFiles[i], inputs[i], error))
      return fail(error);
    if (inputs[i].dtype != "f4")
      return fail(llvm::formatv("{0}: the array has dtype '{1}', expected "
                                "float32 ('f4')",
                                inputFiles[i], inputs[i].dtype)
                      .str());
    if (inputs[i].shape.empty())
      return fail(inputFiles[i] + ": expected an array with a batch "
                                  "dimension, got a scalar");
  }
  if (threads < 0)
    return fail("--threads must be positive");
  if (threads > 0)
    adagp_set_num_threads(threads);

  DialectRegistry registry;
  adagp::registerAllDialects(registry);
  adagp::registerAllPasses();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  adagp::ToolDiagnosticHandler diagnostics(&context, kTool);

  auto start = std::chrono::steady_clock::now();
  OwningOpRef<ModuleOp> module =
      adagp::loadModel(modelFile, &context, inputs[0].shape[0]);
  if (!module)
    return 1;
  auto func = module->lookupSymbol<func::FuncOp>(functionName);
  if (!func)
    return fail(modelFile + ": no function @" + functionName);
  auto argTypes = func.getArgumentTypes();
  if (argTypes.size() != inputs.size())
    return fail(llvm::formatv("{0}: the model takes {1} input(s), {2} given",
                              modelFile, argTypes.size(), inputs.size())
                    .str());
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto type = dyn_cast<RankedTensorType>(argTypes[i]);
    if (!type || !type.getElementType().isF32())
      return fail(modelFile + ": input #" + std::to_string(i) +
                  " is not a float32 tensor");
    if (ArrayRef<int64_t>(inputs[i].shape) != type.getShape())
      return fail(llvm::formatv("{0}: shape {1}, but the model expects {2}",
                                inputFiles[i], inputs[i].shapeString(),
                                shapeString(type.getShape()))
                      .str());
  }
  auto resultTypes = func.getResultTypes();
  if (!outputFiles.empty() && outputFiles.size() != resultTypes.size())
    return fail(llvm::formatv("the model has {0} output(s), {1} -o given",
                              resultTypes.size(), outputFiles.size())
                    .str());
  std::vector<adagp::NpyArray> outputs;
  for (Type t : resultTypes) {
    auto type = dyn_cast<RankedTensorType>(t);
    if (!type || !type.getElementType().isF32())
      return fail(modelFile + ": an output is not a float32 tensor");
    adagp::NpyArray out;
    out.dtype = "f4";
    out.shape.assign(type.getShape().begin(), type.getShape().end());
    out.data.resize(out.numElements() * 4);
    outputs.push_back(std::move(out));
  }
  if (noDropout)
    module->walk([](adagp::nn::DropoutOp op) {
      op.getResult().replaceAllUsesWith(op.getInput());
      op.erase();
    });

  adagp::CPUCompileOptions options;
  options.kernels = !noKernels;
  auto engine = adagp::CPUEngine::create(*module, options);
  if (failed(engine))
    return 1;
  auto compiled = std::chrono::steady_clock::now();

  std::vector<void *> pointers;
  for (auto &in : inputs)
    pointers.push_back(in.data.data());
  for (auto &out : outputs)
    pointers.push_back(out.data.data());
  std::string error;
  if (failed((*engine)->call(functionName, pointers, error)))
    return fail(error);
  if (repeat > 0) {
    // The median over the runs: robust to the odd slow run on a shared
    // machine.
    std::vector<double> times;
    for (int i = 0; i < repeat; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      if (failed((*engine)->call(functionName, pointers, error)))
        return fail(error);
      times.push_back(std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - t0)
                          .count());
    }
    std::sort(times.begin(), times.end());
    llvm::outs() << llvm::formatv(
        "{{\"compile_seconds\": {0:f3}, \"run_ms\": {1:f3}, \"threads\": "
        "{2}}\n",
        std::chrono::duration<double>(compiled - start).count(),
        1e3 * times[times.size() / 2], adagp_get_num_threads());
  }
  for (size_t i = 0; i < outputFiles.size(); ++i)
    if (!adagp::writeNpy(outputFiles[i], outputs[i], error))
      return fail(error);
  return 0;
}
