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
    "::adagp::cpu::CPUDialect"
  ];
}

#endif // ADAGP_CONVERSION_PASSES_TD
