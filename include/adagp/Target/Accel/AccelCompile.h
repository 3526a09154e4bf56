//===- AccelCompile.h - A model to an accelerator program -------*- C++ -*-===//
//
// What `adagp-compile --target=accel` does, as a library function: build the
// training step if the module has none, run --adagp-accel-pipeline with the
// configuration, and write the program (binary .agp, or assembly text).
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TARGET_ACCEL_ACCELCOMPILE_H
#define ADAGP_TARGET_ACCEL_ACCELCOMPILE_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace adagp {

struct AccelCompileOptions {
  /// Accelerator configuration (JSON); empty: the built-in default.
  std::string configPath;
  /// bp (plain training; gp and adagp need the ADA-GP passes' steps).
  std::string mode = "bp";
  /// Options of --train-build-step, used when the module has no @bp_step.
  std::string trainOptions;
  /// gp and adagp: options of --adagp-insert-predictors and
  /// --adagp-lower-schedule, used when the module has no @gp_step.
  std::string predictorOptions, scheduleOptions;
  /// Recorded in the program's symbol table.
  std::string modelName;
  /// Write the assembler's text form instead of the binary program.
  bool asmText = false;
  /// Where to write (atomically); "-" is standard output.
  std::string outputPath;
};

/// Compiles `module` (@forward, or already with @bp_step/@eval_step) into an
/// accelerator program and writes it. Errors (a model that does not fit the
/// configuration, an unknown configuration key, an op with no accelerator
/// lowering) go to the context's diagnostics; nothing is written then.
llvm::LogicalResult compileForAccelerator(mlir::ModuleOp module,
                                          const AccelCompileOptions &options);

} // namespace adagp

#endif // ADAGP_TARGET_ACCEL_ACCELCOMPILE_H
