//===- Passes.h - Compiling training onto the accelerator -------*- C++ -*-===//

#ifndef ADAGP_DIALECT_ACCEL_PASSES_H
#define ADAGP_DIALECT_ACCEL_PASSES_H

#include "adagp/Dialect/Accel/AccelDialect.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace adagp::sim {
struct Config;
} // namespace adagp::sim

namespace adagp::accel {

#define GEN_PASS_DECL
#include "adagp/Dialect/Accel/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "adagp/Dialect/Accel/Passes.h.inc"

/// Options of --adagp-accel-pipeline.
struct AccelPipelineOptions
    : public mlir::PassPipelineOptions<AccelPipelineOptions> {
  Option<std::string> config{*this, "config",
                             llvm::cl::desc("Accelerator configuration "
                                            "(JSON); default: the built-in "
                                            "default configuration"),
                             llvm::cl::init("")};
  Option<std::string> mode{*this, "mode",
                           llvm::cl::desc("Training loop: bp, gp or adagp"),
                           llvm::cl::init("bp")};
};

/// plan-dram, tile, lower-steps, build-program, insert-tokens,
/// elide-dmacfg, canonical order.
void buildAccelPipeline(mlir::OpPassManager &pm,
                        const AccelPipelineOptions &options);
/// Registers --adagp-accel-pipeline.
void registerAccelPipeline();

/// Loads the configuration a pass option names (the built-in default when
/// empty). On failure emits an error at `op` naming the file and the problem.
llvm::LogicalResult loadAccelConfig(mlir::Operation *op,
                                    llvm::StringRef path, sim::Config &config);

} // namespace adagp::accel

#endif // ADAGP_DIALECT_ACCEL_PASSES_H
