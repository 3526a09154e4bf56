//===- AOTCompile.h - Ahead-of-time compilation for the CPU -----*- C++ -*-===//
//
// `adagp-compile --target=cpu`: from a module in the nn (train, adagp)
// dialects to a shared library with a C interface and the C header that
// documents it. The route:
//   describeEntryPoints   the public functions' tensor signatures, before
//                         lowering turns them into plain pointers;
//   prepareForCPU, lowerToLLVMDialect (CPUTarget.h), with the globals'
//                         initial values kept in the module;
//   flattenGlobalInitializers
//                         one flat array per global, so that translation
//                         builds one LLVM constant per weight tensor;
//   translation to LLVM IR, addCInterface, optimisation for the host CPU,
//   an object file, and `cc -shared` with the runtime's static archive.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TARGET_CPU_AOTCOMPILE_H
#define ADAGP_TARGET_CPU_AOTCOMPILE_H

#include "adagp/Target/CPU/CPUTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace adagp {

/// One argument or result of an entry point.
struct AOTTensor {
  std::string name; // a C identifier
  std::vector<int64_t> shape;
  std::string dtype; // NumPy type string: "f4", "f8", "i4", "i8"
  int64_t numElements = 1;
};

/// A public function of the module and the C function that wraps it.
struct AOTEntryPoint {
  std::string function; // the MLIR function
  std::string symbol;   // <prefix>_<function>
  std::string description;
  std::vector<AOTTensor> inputs;
  std::vector<AOTTensor> outputs; // out-parameters, after the inputs
};

/// Everything the generated C interface exposes.
struct AOTInterface {
  std::string prefix;
  std::vector<AOTEntryPoint> entryPoints;
  std::vector<GlobalInfo> globals; // without their initial values
};

enum class AOTOutputKind { SharedLibrary, Object, LLVMIR, MLIR };

struct AOTCompileOptions {
  /// Kernels and optimisation level; the initial values are always embedded.
  CPUCompileOptions cpu;
  /// The C symbol prefix (a C identifier).
  std::string prefix;
  AOTOutputKind emit = AOTOutputKind::SharedLibrary;
  /// The output file; "-" is standard output (text outputs only).
  std::string outputPath;
  /// The C header to write; empty for none.
  std::string headerPath;
  /// For the header's comments: where the model came from and the batch
  /// size it was imported with (unknown for MLIR input).
  std::string modelName;
  std::optional<int64_t> batchSize;
};

/// Compiles `module` for the host CPU and writes the outputs atomically:
/// on failure no output (nor header) is left behind. Errors are reported
/// to the context's diagnostics, naming the file concerned.
mlir::LogicalResult compileAOTForCPU(mlir::ModuleOp module,
                                     const AOTCompileOptions &options);

//===----------------------------------------------------------------------===//
// The steps, for the tool and for tests.
//===----------------------------------------------------------------------===//

/// Describes the public functions of `module` (func.func on static tensors)
/// as entry points named `<prefix>_<function>`.
mlir::FailureOr<std::vector<AOTEntryPoint>>
describeEntryPoints(mlir::ModuleOp module, llvm::StringRef prefix);

/// Rewrites every global of an LLVM-dialect module whose initial value is
/// an elements attribute of rank > 1 into a flat array with the same bytes.
/// Translation builds one LLVM constant per innermost row, which for the
/// 3x3 filters of a ResNet means millions of constants; a flat array is one.
/// Uses are unaffected: addresses are opaque pointers and every
/// getelementptr names its own element type.
void flattenGlobalInitializers(mlir::ModuleOp module);

/// Adds the C interface of `interface` to a translated module, and gives
/// every other definition internal linkage so that the object exports the
/// interface only. Returns false and sets `error` on a symbol clash.
bool addCInterface(llvm::Module &module, const AOTInterface &interface,
                   std::string &error);

/// The C header documenting the interface.
std::string generateCHeader(const AOTInterface &interface,
                            const AOTCompileOptions &options,
                            llvm::StringRef libraryName,
                            llvm::StringRef cpuName);

/// The host's TargetMachine for position-independent code.
std::unique_ptr<llvm::TargetMachine>
createHostTargetMachine(unsigned optLevel, std::string &error);

/// Links `objectPath` with the runtime into the shared library `outputPath`
/// with the C compiler driver `cc` found on PATH.
bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &outputPath, llvm::StringRef soname,
                       std::string &error);

/// Whether `text` is a C identifier (and not a keyword).
bool isCIdentifier(llvm::StringRef text);

/// A C identifier made from `text`: other characters become '_', and a
/// leading digit (or nothing) gets a letter in front.
std::string sanitizeCIdentifier(llvm::StringRef text);

/// The default prefix for a model file: its name without directory and
/// extension, sanitised ("models/resnet-20.onnx" -> "resnet_20").
std::string defaultPrefix(llvm::StringRef modelPath);

} // namespace adagp

#endif // ADAGP_TARGET_CPU_AOTCOMPILE_H
