//===- CPUTarget.h - Compile and run models on the CPU ----------*- C++ -*-===//
//
// From a module in the nn (train, adagp) dialects to native code:
//   prepareForCPU      globals become public and prefixed, and (for the JIT)
//                      lose their embedded initial values, which the engine
//                      copies in after loading;
//   lowerToLLVMDialect the --adagp-cpu-pipeline;
//   CPUEngine          JIT compilation with mlir::ExecutionEngine, function
//                      lookup and access to the globals' memory.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TARGET_CPU_CPUTARGET_H
#define ADAGP_TARGET_CPU_CPUTARGET_H

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace adagp {

/// The symbol prefix of model globals in compiled code.
inline constexpr const char *kGlobalSymbolPrefix = "adagp.global.";

/// What a compiled model's global holds.
struct GlobalInfo {
  std::string name; // as in the IR (the ONNX initializer name)
  std::vector<int64_t> shape;
  std::string dtype; // "f4", "f8", "i8"
  int64_t bytes = 0;
  /// The initial value (empty when the global has none).
  std::vector<char> initialValue;
};

struct CPUCompileOptions {
  /// Call the runtime's kernels for convolutions and matrix products.
  bool kernels = true;
  /// Keep the initial values in the compiled code (AOT) instead of copying
  /// them in at load time (JIT).
  bool embedInitialValues = false;
  /// LLVM optimisation level (0-3).
  unsigned optLevel = 3;
};

/// Renames and publishes the globals; returns their descriptions.
mlir::FailureOr<std::vector<GlobalInfo>>
prepareForCPU(mlir::ModuleOp module, const CPUCompileOptions &options);

/// Runs the CPU pipeline: the module ends up in the LLVM dialect.
mlir::LogicalResult lowerToLLVMDialect(mlir::ModuleOp module,
                                       const CPUCompileOptions &options);

class CPUEngine {
public:
  /// JIT-compiles a module (in the nn, train or adagp dialects) for the
  /// host. Errors are reported to the module's diagnostics.
  static mlir::FailureOr<std::unique_ptr<CPUEngine>>
  create(mlir::ModuleOp module, const CPUCompileOptions &options = {});

  /// Calls function `name` with plain pointers to its (static) memref
  /// arguments and out-parameters.
  mlir::LogicalResult call(llvm::StringRef name,
                           llvm::ArrayRef<void *> pointers, std::string &error);

  const std::vector<GlobalInfo> &globals() const { return globalInfo; }
  /// The memory of global `name`, or null.
  void *globalData(llvm::StringRef name) const;
  /// Copies every global's initial value into its memory.
  void resetGlobals();

private:
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::vector<GlobalInfo> globalInfo;
  std::map<std::string, void *> globalAddress;
};

/// Initialises LLVM's native target (idempotent).
void initializeNativeTarget();

} // namespace adagp

#endif // ADAGP_TARGET_CPU_CPUTARGET_H
