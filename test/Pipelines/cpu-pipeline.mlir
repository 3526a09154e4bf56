// RUN: adagp-opt %s --adagp-cpu-pipeline | FileCheck %s

// The whole CPU lowering: model globals become LLVM globals that persist
// across calls, the result becomes an out-parameter, memrefs are passed as
// plain pointers (noalias), parallel loops run on OpenMP, and convolutions
// call the runtime with their buffers' addresses.
// CHECK-DAG: llvm.mlir.global external @w(dense<1.000000e+00> : tensor<2x1x3x3xf32>)
// CHECK-DAG: llvm.func @adagp_conv2d_forward(i64, i64, i64,
// CHECK-LABEL: llvm.func @forward(
// CHECK-SAME: %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias})
// CHECK: llvm.mlir.addressof @w
// CHECK: llvm.call @adagp_conv2d_forward
// CHECK: omp.parallel
// CHECK: omp.wsloop
// CHECK: llvm.intr.maximum
ml_program.global public mutable @w(dense<1.0> : tensor<2x1x3x3xf32>) : tensor<2x1x3x3xf32>
func.func @forward(%x: tensor<64x1x32x32xf32>) -> tensor<64x2x30x30xf32> {
  %w = ml_program.global_load @w : tensor<2x1x3x3xf32>
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<64x1x32x32xf32>, tensor<2x1x3x3xf32>
  %1 = nn.relu %0 : tensor<64x2x30x30xf32>
  return %1 : tensor<64x2x30x30xf32>
}
