//===- Passes.td - Code-generation passes of the pipelines -*- tablegen -*-===//

#ifndef ADAGP_TRANSFORMS_PASSES_TD
#define ADAGP_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseElementwise : Pass<"adagp-fuse-elementwise"> {
  let summary = "Fuse elementwise linalg.generic producers into consumers "
                "that read them element for element";
  let description = [{
    Upstream's elementwise fusion, restricted to producers that the consumer
    reads through a permutation: a producer that the consumer broadcasts (a
    per-channel scale computed from batch statistics, read once per element
    of a 64x96x16x16 tensor) stays a separate, small loop instead of being
    recomputed for every element.

    Example: `y = relu(x * s[c] + b[c])` fuses the multiply-add and the relu
    into one loop, while `s = g / sqrt(var + eps)` stays per channel.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def AnnotateNoAlias : Pass<"adagp-annotate-noalias", "::mlir::ModuleOp"> {
  let summary = "Tell LLVM that buffers do not alias";
  let description = [{
    On the LLVM dialect: marks the results of the buffer allocation functions
    (`malloc`, `_mlir_memref_to_llvm_alloc`, ...) and the pointer arguments
    of public functions (a model's inputs, outputs and out-parameters, which
    the calling convention requires to be distinct buffers) `llvm.noalias`,
    so that loops over them can keep accumulators in registers and be
    vectorised.
  }];
}

def SequentializeSmallLoops : Pass<"adagp-sequentialize-small-loops"> {
  let summary = "Turn scf.parallel loops with little work into scf.for";
  let description = [{
    A parallel loop costs a fork and a join of the OpenMP team; below
    `min-work` innermost iterations (the product of all enclosed static trip
    counts) it runs faster on one thread.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"32768",
           "Least number of innermost iterations worth a parallel loop">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

#endif // ADAGP_TRANSFORMS_PASSES_TD
