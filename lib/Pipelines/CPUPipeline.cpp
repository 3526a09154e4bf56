//===- CPUPipeline.cpp - The --adagp-cpu-pipeline -------------------------===//
//
// The pipeline is spelled as text so that the IR after each step can be
// reproduced with adagp-opt and the upstream pass names it lists.
//
//===----------------------------------------------------------------------===//

#include "adagp/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string adagp::cpuPipeline(const CPUPipelineOptions &options) {
  std::string kernels = options.kernels ? "1" : "0";
  return "builtin.module("
         // Model operations to linalg; fuse producers into consumers.
         "convert-nn-to-linalg{kernels=" + kernels + "},"
         "convert-train-to-linalg,"
         "convert-adagp-to-linalg,"
         "func.func(convert-elementwise-to-linalg),"
         "canonicalize,cse,"
         "adagp-fuse-elementwise,"
         "canonicalize,cse,"
         // Tensors to buffers; globals become memref.globals that persist
         // across calls; results become caller-provided out-parameters.
         // The ADA-GP @train loop may carry tensors (canonicalization moves
         // its step into the while's "after" region), so loops may yield
         // fresh buffers.
         "one-shot-bufferize{bufferize-function-boundaries "
         "allow-return-allocs-from-loops "
         "function-boundary-type-conversion=identity-layout-map},"
         "buffer-results-to-out-params{hoist-static-allocs modify-public-functions},"
         "buffer-deallocation-pipeline,"
         // Parallel dimensions become scf.parallel, run by OpenMP threads.
         "func.func(convert-linalg-to-parallel-loops),"
         "canonicalize,cse,adagp-sequentialize-small-loops,"
         "adagp-sequentialize-inner-dims,adagp-promote-loop-accumulators,"
         "convert-scf-to-openmp,canonicalize,"
         // To the LLVM dialect, with plain pointers for memref arguments.
         "expand-strided-metadata,lower-affine,"
         "convert-math-to-llvm,convert-math-to-libm,"
         "convert-scf-to-cf,convert-cf-to-llvm,convert-arith-to-llvm,"
         "finalize-memref-to-llvm{use-generic-functions},"
         "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
         "convert-openmp-to-llvm,"
         "convert-index-to-llvm,reconcile-unrealized-casts,"
         "adagp-annotate-noalias)";
}

LogicalResult adagp::buildCPUPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options) {
  std::string error;
  llvm::raw_string_ostream os(error);
  // The text starts with builtin.module(...), the pass manager's own
  // anchor, so parse its contents into `pm`.
  std::string text = cpuPipeline(options);
  text = text.substr(std::string("builtin.module(").size());
  text.pop_back();
  if (failed(parsePassPipeline(text, pm, os))) {
    llvm::errs() << "internal error: cannot build the CPU pipeline: " << error
                 << "\n";
    return failure();
  }
  return success();
}

void adagp::registerPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "adagp-cpu-pipeline",
      "Lower a model (nn, train, adagp dialects) to the LLVM dialect for the "
      "CPU: linalg, fusion, one-shot bufferization, loops, LLVM",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        (void)buildCPUPipeline(pm, options);
      });
}
