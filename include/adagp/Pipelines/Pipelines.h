//===- Pipelines.h - adagp's named pass pipelines ---------------*- C++ -*-===//

#ifndef ADAGP_PIPELINES_PIPELINES_H
#define ADAGP_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace adagp {

struct CPUPipelineOptions
    : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<bool> kernels{*this, "kernels",
                       llvm::cl::desc("Call the runtime's kernels for "
                                      "convolutions and matrix products"),
                       llvm::cl::init(true)};
};

/// The CPU lowering as a textual pipeline: nn (and train, adagp) -> linalg
/// -> fused -> one-shot bufferization -> loops -> LLVM dialect.
std::string cpuPipeline(const CPUPipelineOptions &options);

/// Adds the CPU lowering to `pm`; fails (with a diagnostic) only if a pass
/// is not registered.
mlir::LogicalResult buildCPUPipeline(mlir::OpPassManager &pm,
                                     const CPUPipelineOptions &options);

/// Registers --adagp-cpu-pipeline.
void registerPipelines();

} // namespace adagp

#endif // ADAGP_PIPELINES_PIPELINES_H
