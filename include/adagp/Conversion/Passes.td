//===- Passes.td - Conversion passes -----------------------*- tablegen -*-===//

#ifndef ADAGP_CONVERSION_PASSES_TD
#define ADAGP_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNNToLinalg : Pass<"convert-nn-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower the nn dialect to linalg, tensor, arith and math";
  let description = [{
    Lowers every `nn` operation on tensors:
    - elementwise arithmetic and activations (and their gradients) to
      `linalg.generic` with broadcasting indexing maps;
    - reductions, softmax, batch and layer normalisation to reduction
      `linalg.generic`s followed by elementwise ones;
    - pooling to `linalg.pooling_nchw_max` / `linalg.pooling_nchw_sum` on a
      `tensor.pad`ded input, divided by per-window divisors;
    - shape operations to `tensor.collapse_shape` / `expand_shape`,
      `linalg.transpose`, `tensor.extract_slice` / `insert_slice`,
      `tensor.pad`;
    - convolutions, their gradients and matrix products either to
      `cpu.kernel_call` (`kernels=true`, the default: im2col + GEMM kernels of
      the runtime) or to `linalg.conv_2d_*`, `linalg.matmul` and
      `linalg.generic` (`kernels=false`), as are the pooling gradients.

    Example:
    ```mlir
    %y = nn.relu %x : tensor<64x16xf32>
    ```
    becomes
    ```mlir
    %e = tensor.empty() : tensor<64x16xf32>
    %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x : tensor<64x16xf32>) outs(%e : tensor<64x16xf32>) {
    ^bb0(%a: f32, %o: f32):
      %z = arith.constant 0.0 : f32
      %m = arith.maximumf %a, %z : f32
      linalg.yield %m : f32
    } -> tensor<64x16xf32>
    ```
  }];
  let options = [
    Option<"useKernels", "kernels", "bool", /*default=*/"true",
           "Lower convolutions, matrix products and pooling gradients of f32 "
           "tensors to calls of the CPU kernel library">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::adagp::cpu::CPUDialect", "::mlir::bufferization::BufferizationDialect"
  ];
}

def ConvertTrainToLinalg : Pass<"convert-train-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower losses, optimizer updates and schedules to linalg";
  let description = [{
    - `train.softmax_cross_entropy`: row maximum and sum of exponentials
      (two reductions), then `logsumexp - logit[label]` per row and its mean;
    - `train.softmax_cross_entropy_grad`: one generic computing
      `(softmax - onehot) * grad / N`;
    - `train.sgd_update` / `train.adam_update`: one elementwise generic per
      parameter whose results are the new parameter and the new state
      (Adam's bias corrections are 0-d generics on the step counter);
    - `train.lr_schedule`: a 0-d generic on the step counter.

    Example:
    ```mlir
    %p1, %v1 = train.sgd_update %p, %g, %v, %lr {momentum = 9.0e-01} : tensor<10xf32>, tensor<f32>
    ```
    becomes
    ```mlir
    %p1, %v1 = linalg.generic {indexing_maps = [#id, #id, #id, #scalar, #id, #id], ...}
        ins(%p, %g, %v, %lr : ...) outs(%e0, %e1 : ...) {
    ^bb0(%p: f32, %g: f32, %v: f32, %lr: f32, %o0: f32, %o1: f32):
      %mv = arith.mulf %v, %c0.9 : f32
      %v1 = arith.addf %mv, %g : f32
      %s = arith.mulf %lr, %v1 : f32
      %p1 = arith.subf %p, %s : f32
      linalg.yield %p1, %v1 : f32, f32
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::bufferization::BufferizationDialect"
  ];
}

def ConvertADAGPToLinalg : Pass<"convert-adagp-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower ADA-GP's reorganization and host I/O for the CPU";
  let description = [{
    - `adagp.reorganize`: the batch mean (a reduction generic), the adaptive
      average pooling as one generic that contracts the spatial dimensions
      with two constant pooling matrices, and the normalisation by the root
      mean square (a 0-d reduction and a scaling generic);
    - `adagp.reorganize_gradient`: reshape to rows and `tensor.pad` with zeros;
    - `adagp.expand_prediction`: `tensor.extract_slice` of the filter
      columns, reshape, and an elementwise product with the scale;
    - `adagp.next_batch` / `adagp.report`: `cpu.host_call "next_batch"` /
      `"report"`, which bufferize to calls of the runtime's host interface.

    Example:
    ```mlir
    %dw = adagp.expand_prediction %rows, %s
        : tensor<16x160xf32>, tensor<f32> -> tensor<16x8x3x3xf32>
    ```
    becomes
    ```mlir
    %cols = tensor.extract_slice %rows[0, 0] [16, 72] [1, 1]
        : tensor<16x160xf32> to tensor<16x72xf32>
    %w = tensor.expand_shape ... : tensor<16x8x3x3xf32>
    %dw = linalg.generic {...} ins(%w, %s : ...) outs(...) { arith.mulf }
    ```
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::adagp::cpu::CPUDialect"
  ];
}

#endif // ADAGP_CONVERSION_PASSES_TD
