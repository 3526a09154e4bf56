//===- AccelCompile.cpp - A model to an accelerator program ---------------===//

#include "adagp/Target/Accel/AccelCompile.h"
#include "adagp/Dialect/Accel/Passes.h"
#include "adagp/Sim/Config.h"
#include "adagp/Support/FileUtils.h"
#include "adagp/Target/Accel/AccelEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace mlir;

namespace adagp {

LogicalResult compileForAccelerator(ModuleOp module,
                                    const AccelCompileOptions &options) {
  MLIRContext *ctx = module.getContext();
  // The errors name the file, node and shortfall; the whole module printed
  // after each of them would bury that.
  bool printOp = ctx->shouldPrintOpOnDiagnostic();
  ctx->printOpOnDiagnostic(false);
  auto restore = llvm::make_scope_exit(
      [&] { ctx->printOpOnDiagnostic(printOp); });
  // The configuration first: an unknown key or a bad value is reported
  // before any work, naming the file.
  sim::Config config;
  if (failed(accel::loadAccelConfig(module, options.configPath, config)))
    return failure();
  if (options.mode != "bp" && options.mode != "gp" &&
      options.mode != "adagp")
    return module.emitError("unknown mode '")
           << options.mode << "' (bp, gp or adagp)";

  PassManager pm(ctx);
  std::string pipeline;
  if (!module.lookupSymbol<func::FuncOp>("bp_step"))
    pipeline = "train-build-step{" + options.trainOptions + "},";
  if (options.mode != "bp" && !module.lookupSymbol<func::FuncOp>("gp_step")) {
    pipeline += "adagp-insert-predictors{" + options.predictorOptions + "},";
    // gp: every step after the warm-up is a GP step.
    std::string schedule = options.scheduleOptions;
    if (options.mode == "gp")
      schedule = "policy=gp " + schedule;
    pipeline += "adagp-lower-schedule{" + schedule + "},";
  }
  pipeline += "adagp-accel-pipeline{mode=" + options.mode;
  if (!options.configPath.empty())
    pipeline += " config=" + options.configPath;
  pipeline += "}";
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    return module.emitError("pipeline: ") << error;
  if (failed(pm.run(module)))
    return failure();

  Builder b(ctx);
  module->setAttr("accel.model", b.getStringAttr(options.modelName));
  module->setAttr("accel.config", b.getStringAttr(config.name));
  std::string out;
  if (failed(accel::emitAccelProgram(module, out, options.asmText)))
    return failure();
  if (!writeFileAtomically(options.outputPath, out, error))
    return module.emitError(error);
  return success();
}

} // namespace adagp
