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

def SequentializeInnerDims : Pass<"adagp-sequentialize-inner-dims"> {
  let summary = "Run only the leading dimensions of an scf.parallel loop in "
                "parallel, the rest as nested scf.for loops";
  let description = [{
    `convert-scf-to-openmp` collapses every dimension of an scf.parallel
    loop into one OpenMP loop, and the collapsed index is split back with
    divisions and masks: LLVM then cannot tell that the innermost dimension
    walks memory contiguously, nor that a per-channel operand is invariant
    in it, and vectorises nothing. This pass keeps the fewest leading
    dimensions whose trip counts multiply to at least `min-parallel` in the
    scf.parallel and moves the others into nested scf.for loops in the same
    order, so the innermost loop is a plain unit-stride loop. Loops with
    reductions or dynamic trip counts are left alone.

    Before:
    ```mlir
    scf.parallel (%n, %c, %h, %w) = (%c0, %c0, %c0, %c0)
        to (%c64, %c16, %c32, %c32) step (%c1, %c1, %c1, %c1) {
      ... body ...
    }
    ```
    After (`min-parallel=64`):
    ```mlir
    scf.parallel (%n) = (%c0) to (%c64) step (%c1) {
      scf.for %c = %c0 to %c16 step %c1 {
        scf.for %h = %c0 to %c32 step %c1 {
          scf.for %w = %c0 to %c32 step %c1 {
            ... body ...
          }
        }
      }
    }
    ```
  }];
  let options = [
    Option<"minParallel", "min-parallel", "int64_t", /*default=*/"64",
           "Least product of the trip counts of the dimensions kept "
           "parallel (enough chunks for the threads)">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def PromoteLoopAccumulators : Pass<"adagp-promote-loop-accumulators"> {
  let summary = "Carry reduction accumulators of scf.for loops in iter_args "
                "instead of memory";
  let description = [{
    A reduction lowered from linalg to loops loads and stores its
    accumulator on every iteration. After outlining into OpenMP functions
    LLVM cannot prove the accumulator distinct from the other buffers the
    loop reads, so it keeps the store in the loop and does not vectorise
    it. Where a loop body loads an element at loop-invariant indices and
    later stores the same element, and no other access in the loop touches
    that buffer (buffers are told apart by their allocation, global or
    function argument; anything else, or an operation with unknown memory
    effects, leaves the loop alone), the load moves before the loop, the
    value is carried in an iter_arg and stored after it. Inner loops are
    done first, so an accumulator climbs out of a whole loop nest.

    Before:
    ```mlir
    scf.for %w = %c0 to %c32 step %c1 {
      %x = memref.load %in[%c, %w] : memref<16x32xf32>
      %acc = memref.load %sum[%c] : memref<16xf64>
      %e = arith.extf %x : f32 to f64
      %s = arith.addf %acc, %e : f64
      memref.store %s, %sum[%c] : memref<16xf64>
    }
    ```
    After:
    ```mlir
    %init = memref.load %sum[%c] : memref<16xf64>
    %r = scf.for %w = %c0 to %c32 step %c1 iter_args(%acc = %init) -> (f64) {
      %x = memref.load %in[%c, %w] : memref<16x32xf32>
      %e = arith.extf %x : f32 to f64
      %s = arith.addf %acc, %e : f64
      scf.yield %s : f64
    }
    memref.store %r, %sum[%c] : memref<16xf64>
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // ADAGP_TRANSFORMS_PASSES_TD
