//===- adagp-translate.cpp - Translations into and out of MLIR ------------===//
//
//   adagp-translate --import-onnx model.onnx --batch-size 64 -o model.mlir
//   adagp-translate --export-onnx model.mlir -o model.onnx
//
// Outputs are written atomically: a failing run leaves no file behind.
//
//===----------------------------------------------------------------------===//

#include "adagp/InitAll.h"
#include "adagp/Support/FileUtils.h"
#include "adagp/Target/Accel/AccelEmitter.h"
#include "adagp/Target/ONNX/ONNXExport.h"
#include "adagp/Target/ONNX/ONNXImport.h"
#include "adagp/Tools/Diagnostics.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

static const char *const kTool = "adagp-translate";

static cl::OptionCategory category("adagp-translate options");

enum class Action { None, ImportONNX, ExportONNX, EmitAccelProgram };

static cl::opt<Action> action(
    cl::desc("Translation:"),
    cl::values(clEnumValN(Action::ImportONNX, "import-onnx",
                          "ONNX model (binary .onnx or text .onnxtxt) -> MLIR "
                          "in the nn dialect"),
               clEnumValN(Action::ExportONNX, "export-onnx",
                          "MLIR (@forward in the nn dialect) -> ONNX model "
                          "with the globals' current values as initializers"),
               clEnumValN(Action::EmitAccelProgram, "emit-accel-program",
                          "MLIR in the accel dialect -> accelerator program "
                          "(.agp; --asm for the assembler's text form)")),
    cl::init(Action::None), cl::cat(category));

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input file>"),
                                      cl::init("-"), cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for "
                                                     "standard output)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(category));
static cl::opt<int64_t>
    batchSize("batch-size",
              cl::desc("Bind the symbolic batch dimension of the model's "
                       "inputs to this size (import)"),
              cl::init(0), cl::cat(category));
static cl::opt<std::string>
    functionName("function",
                 cl::desc("Name of the model function to create or export"),
                 cl::init("forward"), cl::cat(category));
static cl::opt<bool> staticBatch(
    "static-batch",
    cl::desc("Keep the batch dimension static in the exported model instead "
             "of making it symbolic ('N')"),
    cl::init(false), cl::cat(category));
static cl::opt<bool>
    asmText("asm",
            cl::desc("With --emit-accel-program: write the assembler's text "
                     "form (adagp-sim --assemble reads it back) instead of "
                     "the binary program"),
            cl::init(false), cl::cat(category));
static cl::opt<std::string> programName(
    "program",
    cl::desc("With --emit-accel-program: the accel.program to emit (default: "
             "the one of kind \"main\")"),
    cl::init(""), cl::cat(category));
static cl::opt<bool> emitBytecode(
    "emit-bytecode", cl::desc("Write MLIR bytecode instead of text (import)"),
    cl::init(false), cl::cat(category));

static int importONNX(MLIRContext &context) {
  adagp::ONNXImportOptions options;
  if (batchSize.getNumOccurrences()) {
    if (batchSize <= 0) {
      adagp::reportError(kTool, "--batch-size must be positive, got " +
                                    std::to_string(batchSize));
      return 1;
    }
    options.batchSize = batchSize;
  }
  options.functionName = functionName;
  OwningOpRef<ModuleOp> module =
      adagp::importONNXFile(inputFile, &context, options);
  if (!module)
    return 1;
  std::string text;
  llvm::raw_string_ostream os(text);
  if (emitBytecode) {
    if (failed(writeBytecodeToFile(*module, os)))
      return 1;
  } else {
    module->print(os);
  }
  std::string error;
  if (!adagp::writeFileAtomically(outputFile, text, error)) {
    adagp::reportError(kTool, error);
    return 1;
  }
  return 0;
}

static int exportONNX(MLIRContext &context) {
  llvm::SourceMgr sourceMgr;
  std::string bytes, error;
  if (!adagp::readFile(inputFile, bytes, error)) {
    adagp::reportError(kTool, error);
    return 1;
  }
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(bytes, inputFile), llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  adagp::ONNXExportOptions options;
  options.functionName = functionName;
  options.symbolicBatch = !staticBatch;
  std::string out;
  if (failed(adagp::exportONNX(*module, out, options)))
    return 1;
  if (!adagp::writeFileAtomically(outputFile, out, error)) {
    adagp::reportError(kTool, error);
    return 1;
  }
  return 0;
}

static int emitAccelProgram(MLIRContext &context) {
  llvm::SourceMgr sourceMgr;
  std::string bytes, error;
  if (!adagp::readFile(inputFile, bytes, error)) {
    adagp::reportError(kTool, error);
    return 1;
  }
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(bytes, inputFile), llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  std::string out;
  if (failed(adagp::accel::emitAccelProgram(*module, out, asmText,
                                            programName)))
    return 1;
  if (!adagp::writeFileAtomically(outputFile, out, error)) {
    adagp::reportError(kTool, error);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "adagp-translate: translations between ONNX and MLIR\n\n"
      "  adagp-translate --import-onnx model.onnx --batch-size 64 -o "
      "model.mlir\n"
      "  adagp-translate --export-onnx model.mlir -o model.onnx\n");

  DialectRegistry registry;
  adagp::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  adagp::ToolDiagnosticHandler diagnostics(&context, kTool);

  switch (action) {
  case Action::ImportONNX:
    return importONNX(context);
  case Action::ExportONNX:
    return exportONNX(context);
  case Action::EmitAccelProgram:
    return emitAccelProgram(context);
  case Action::None:
    break;
  }
  adagp::reportError(kTool, "choose a translation: --import-onnx, "
                            "--export-onnx or --emit-accel-program (see "
                            "--help)");
  return 1;
}
