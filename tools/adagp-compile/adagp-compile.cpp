//===- adagp-compile.cpp - Compile a model ahead of time ------------------===//
//
//   adagp-compile model.onnx --target=cpu -o model.so   # + model.h
//
// Imports the model (ONNX or MLIR), optionally builds its training step,
// and hands the module to the chosen target's compiler. The targets are a
// table: each entry names a library function that does the work, so the
// tool itself only parses flags, loads the model and reports errors.
//
//===----------------------------------------------------------------------===//

#include "adagp/InitAll.h"
#include "adagp/Target/Accel/AccelCompile.h"
#include "adagp/Target/CPU/AOTCompile.h"
#include "adagp/Tools/Diagnostics.h"
#include "adagp/Tools/ModelLoading.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

static const char *const kTool = "adagp-compile";
static cl::OptionCategory category("adagp-compile options");

static cl::opt<std::string>
    modelFile(cl::Positional, cl::Required,
              cl::desc("<model.onnx | model.onnxtxt | model.mlir>"),
              cl::cat(category));
static cl::opt<std::string>
    targetName("target",
               cl::desc("What to compile for: cpu (a shared library with a C "
                        "header, for this machine's CPU) or accel (the "
                        "simulated training accelerator: a training "
                        "program for adagp-sim, see --mode and "
                        "--accel-config). Default: cpu"),
               cl::value_desc("cpu|accel"), cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    outputFile("o",
               cl::desc("Output file. Default: the model's name with the "
                        "extension of --emit (.so, .o, .ll, .mlir) in the "
                        "current directory; '-' writes --emit=llvm or "
                        "--emit=mlir to standard output. With "
                        "--target=accel: the program (default <model>.agp); "
                        "a name ending in .s gets the assembler's text form"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    headerFile("header",
               cl::desc("The C header to write. Default: the output with "
                        "the extension .h for --emit=so and --emit=obj, none "
                        "for --emit=llvm and --emit=mlir"),
               cl::value_desc("file.h"), cl::cat(category));
static cl::opt<std::string>
    prefix("prefix",
           cl::desc("Prefix of every C name in the library and header "
                    "(<prefix>_forward, ...). Default: the model file's "
                    "name, with characters that cannot appear in a C "
                    "identifier replaced by '_'"),
           cl::value_desc("name"), cl::cat(category));
static cl::opt<int64_t> batchSize(
    "batch-size",
    cl::desc("Bind the symbolic batch dimension of an ONNX model's inputs "
             "to this size (default 1); the compiled functions take exactly "
             "this many samples. Ignored for MLIR input, whose shapes are "
             "fixed"),
    cl::value_desc("N"), cl::init(1), cl::cat(category));
static cl::opt<adagp::AOTOutputKind> emitKind(
    "emit", cl::desc("What to write:"),
    cl::values(clEnumValN(adagp::AOTOutputKind::SharedLibrary, "so",
                          "a shared library with the runtime linked in "
                          "(default)"),
               clEnumValN(adagp::AOTOutputKind::Object, "obj",
                          "an object file, to link with the runtime "
                          "yourself"),
               clEnumValN(adagp::AOTOutputKind::LLVMIR, "llvm",
                          "optimised LLVM IR with the C interface"),
               clEnumValN(adagp::AOTOutputKind::MLIR, "mlir",
                          "the module lowered to the LLVM dialect, before "
                          "translation (the C interface is added later)")),
    cl::init(adagp::AOTOutputKind::SharedLibrary), cl::cat(category));
static cl::opt<bool>
    noKernels("no-kernels",
              cl::desc("Compile convolutions and matrix products through "
                       "linalg instead of calling the runtime's oneDNN "
                       "kernels"),
              cl::init(false), cl::cat(category));
static cl::opt<unsigned>
    optLevel("O", cl::desc("LLVM optimisation level, -O0 to -O3 (default 3)"),
             cl::value_desc("level"), cl::Prefix, cl::init(3),
             cl::cat(category));
static cl::opt<std::string> trainOptions(
    "train",
    cl::desc("Also compile the training step: runs --train-build-step with "
             "these options (e.g. --train='optimizer=sgd lr=0.01 "
             "momentum=0.9'; --train alone takes the defaults), which adds "
             "<prefix>_bp_step and <prefix>_eval_step"),
    cl::value_desc("options"), cl::ValueOptional, cl::cat(category));


// --target=accel.
static cl::opt<std::string> accelMode(
    "mode",
    cl::desc("With --target=accel: which training the program runs: bp "
             "(back-propagation every step, the default), gp (every step a "
             "gradient-prediction step after the warm-up, an ablation) or "
             "adagp (BP and GP steps chosen by the compiled ADA-GP "
             "schedule)"),
    cl::value_desc("bp|gp|adagp"), cl::init("bp"), cl::cat(category));
static cl::opt<std::string> accelConfig(
    "accel-config",
    cl::desc("With --target=accel: the accelerator configuration (JSON, see "
             "configs/); tile sizes and the DRAM plan follow it. Default: "
             "the built-in default, identical to configs/default.json"),
    cl::value_desc("config.json"), cl::cat(category));
static cl::opt<std::string> predictorOptions(
    "predictor-options",
    cl::desc("With --target=accel --mode=gp|adagp: options of "
             "--adagp-insert-predictors, e.g. 'predictor-width=8 linear=freeze'"),
    cl::value_desc("options"), cl::cat(category));
static cl::opt<std::string> scheduleOptions(
    "schedule-options",
    cl::desc("With --target=accel --mode=adagp: options of "
             "--adagp-lower-schedule, e.g. 'policy=fixed bp-run=1 gp-run=3'"),
    cl::value_desc("options"), cl::cat(category));

static int fail(const std::string &message) {
  adagp::reportError(kTool, message);
  return 1;
}

static const char *extensionOf(adagp::AOTOutputKind kind) {
  switch (kind) {
  case adagp::AOTOutputKind::SharedLibrary:
    return ".so";
  case adagp::AOTOutputKind::Object:
    return ".o";
  case adagp::AOTOutputKind::LLVMIR:
    return ".ll";
  case adagp::AOTOutputKind::MLIR:
    return ".mlir";
  }
  return "";
}

/// The C header next to `output`: its extension replaced by .h.
static std::string headerFor(llvm::StringRef output) {
  llvm::SmallString<256> path(output);
  llvm::sys::path::replace_extension(path, ".h");
  return std::string(path.str());
}

//===----------------------------------------------------------------------===//
// Targets
//===----------------------------------------------------------------------===//

/// What every target receives: the flags, resolved.
struct CompileRequest {
  std::string output, header, prefix;
  std::optional<int64_t> batchSize;
};

static LogicalResult compileForCPU(ModuleOp module,
                                   const CompileRequest &request) {
  adagp::AOTCompileOptions options;
  options.cpu.kernels = !noKernels;
  options.cpu.optLevel = optLevel;
  options.prefix = request.prefix;
  options.emit = emitKind;
  options.outputPath = request.output;
  options.headerPath = request.header;
  options.modelName = llvm::sys::path::filename(modelFile).str();
  options.batchSize = request.batchSize;
  return adagp::compileAOTForCPU(module, options);
}

static LogicalResult compileForAccel(ModuleOp module,
                                     const CompileRequest &request) {
  adagp::AccelCompileOptions options;
  options.configPath = accelConfig;
  options.mode = accelMode;
  options.predictorOptions = predictorOptions;
  options.scheduleOptions = scheduleOptions;
  options.trainOptions =
      trainOptions.getNumOccurrences() ? trainOptions.getValue() : "";
  options.modelName = llvm::sys::path::filename(modelFile).str();
  options.outputPath = request.output;
  options.asmText = llvm::StringRef(request.output).ends_with(".s");
  return adagp::compileForAccelerator(module, options);
}

struct Target {
  const char *name;
  LogicalResult (*compile)(ModuleOp, const CompileRequest &);
};

static const Target kTargets[] = {{"cpu", compileForCPU},
                                  {"accel", compileForAccel}};

//===----------------------------------------------------------------------===//

/// Runs --train-build-step{options} on the module.
static LogicalResult buildTrainingStep(ModuleOp module,
                                       const std::string &options) {
  PassManager pm(module->getContext());
  std::string pipeline = "train-build-step{" + options + "}";
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(pipeline, pm, os))) {
    adagp::reportError(kTool, "--train: " + error);
    return failure();
  }
  return pm.run(module);
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "adagp-compile: compile a model ahead of time\n\n"
      "  adagp-compile model.onnx --target=cpu -o model.so\n\n"
      "writes model.so, a shared library for this machine's CPU that runs\n"
      "the model with no adagp or MLIR library, and model.h, the C header\n"
      "that documents its entry points (<prefix>_forward, ...) and how its\n"
      "parameters are read and written.\n");

  const Target *target = nullptr;
  for (const Target &t : kTargets)
    if (targetName == t.name)
      target = &t;
  if (!target)
    return fail("unknown target '" + targetName + "' (choose cpu or accel)");
  if (batchSize <= 0)
    return fail("--batch-size must be positive, got " +
                std::to_string(batchSize));
  bool accel = llvm::StringRef(target->name) == "accel";
  if (!accel && (accelMode.getNumOccurrences() ||
                 accelConfig.getNumOccurrences() ||
                 predictorOptions.getNumOccurrences() ||
                 scheduleOptions.getNumOccurrences()))
    return fail("--mode, --accel-config, --predictor-options and "
                "--schedule-options apply to --target=accel");
  if (accel && accelMode != "bp" && accelMode != "gp" && accelMode != "adagp")
    return fail("unknown --mode '" + accelMode + "' (bp, gp or adagp)");
  if (optLevel > 3)
    return fail("-O" + std::to_string(optLevel) +
                ": the optimisation level is 0 to 3");

  CompileRequest request;
  bool text = emitKind == adagp::AOTOutputKind::LLVMIR ||
              emitKind == adagp::AOTOutputKind::MLIR;
  request.output =
      outputFile.getNumOccurrences()
          ? outputFile.getValue()
          : (llvm::sys::path::stem(modelFile) +
             (accel ? ".agp" : extensionOf(emitKind)))
                .str();
  if (request.output.empty())
    return fail("-o needs a file name");
  if (request.output == "-" && !text && !accel)
    return fail("-o -: a shared library or object file cannot go to "
                "standard output; name a file");
  if (headerFile.getNumOccurrences())
    request.header = headerFile;
  else if (!text && !accel)
    request.header = headerFor(request.output);
  if (!request.header.empty() && request.header == request.output)
    return fail("the header and the output are both '" + request.output +
                "'; give --header another name");
  if (prefix.getNumOccurrences()) {
    if (!adagp::isCIdentifier(prefix) ||
        llvm::StringRef(prefix).starts_with("adagp"))
      return fail("--prefix '" + prefix +
                  "' is not a C identifier that is free to use (letters, "
                  "digits and '_', not starting with a digit or 'adagp'; no "
                  "C or C++ keyword)");
    request.prefix = prefix;
  } else {
    request.prefix = adagp::defaultPrefix(modelFile);
    if (llvm::StringRef(request.prefix).starts_with("adagp"))
      request.prefix = "model_" + request.prefix;
  }

  DialectRegistry registry;
  adagp::registerAllDialects(registry);
  adagp::registerAllPasses();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  adagp::ToolDiagnosticHandler diagnostics(&context, kTool);

  OwningOpRef<ModuleOp> module =
      adagp::loadModel(modelFile, &context, batchSize.getValue());
  if (!module)
    return 1;
  if (trainOptions.getNumOccurrences() &&
      failed(buildTrainingStep(*module, trainOptions)))
    return 1;
  // The batch size the functions were compiled for: @forward's leading
  // input dimension (an MLIR file fixes its own).
  if (auto forward = module->lookupSymbol<func::FuncOp>("forward"))
    if (forward.getNumArguments() > 0)
      if (auto type = dyn_cast<RankedTensorType>(forward.getArgumentTypes()[0]))
        if (type.getRank() > 0 && !type.isDynamicDim(0))
          request.batchSize = type.getDimSize(0);

  if (failed(target->compile(*module, request)))
    return 1;
  return 0;
}
