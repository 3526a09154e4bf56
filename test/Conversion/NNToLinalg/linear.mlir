// RUN: adagp-opt %s --convert-nn-to-linalg --split-input-file | FileCheck %s --check-prefix=KERNELS
// RUN: adagp-opt %s --convert-nn-to-linalg=kernels=false --split-input-file | FileCheck %s --check-prefix=LINALG

// With kernels, a convolution is a call of the runtime with its geometry
// (N C H W K R S OH OW SH SW PT PL PB PR DH DW G); without, a padded
// linalg convolution.
// KERNELS-LABEL: func.func @conv
// KERNELS: cpu.kernel_call "conv2d_forward_bias"(%{{.*}}, %{{.*}}, %{{.*}}) {params = array<i64: 2, 4, 8, 8, 6, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1>} : (tensor<2x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
// LINALG-LABEL: func.func @conv
// The padded input is cropped to the rows and columns the strided windows
// read (9 of 10).
// LINALG: %[[P:.*]] = tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// LINALG: %[[C:.*]] = tensor.extract_slice %[[P]][0, 0, 0, 0] [2, 4, 9, 9] [1, 1, 1, 1]
// LINALG: %[[Y:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[C]], %{{.*}} : tensor<2x4x9x9xf32>, tensor<6x4x3x3xf32>)
// LINALG: linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<2x6x4x4xf32>, tensor<6x1x1xf32>)
func.func @conv(%x: tensor<2x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<6xf32>) -> tensor<2x6x4x4xf32> {
  %0 = nn.conv2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<6xf32>
  return %0 : tensor<2x6x4x4xf32>
}

// -----

// Grouped convolutions use the ngchw_gfchw form; gradients become a
// filter-gradient linalg.generic and a transposed convolution.
// KERNELS-LABEL: func.func @grouped
// KERNELS: cpu.kernel_call "conv2d_forward"
// KERNELS: cpu.kernel_call "conv2d_input_grad"
// KERNELS: cpu.kernel_call "conv2d_filter_grad"
// LINALG-LABEL: func.func @grouped
// LINALG: linalg.conv_2d_ngchw_gfchw
// LINALG-SAME: tensor<2x2x2x6x6xf32>, tensor<2x2x2x3x3xf32>
// LINALG: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 2, 2] [2, 4, 4, 4] [1, 1, 1, 1]
// LINALG: linalg.generic {{.*}}ins(%{{.*}} : tensor<4x2x3x3xf32>)
// LINALG: linalg.conv_2d_ngchw_gfchw
// LINALG: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
func.func @grouped(%x: tensor<2x4x6x6xf32>, %w: tensor<4x2x3x3xf32>, %dy: tensor<2x4x4x4xf32>) -> (tensor<2x4x4x4xf32>, tensor<2x4x6x6xf32>, tensor<4x2x3x3xf32>) {
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : tensor<2x4x6x6xf32>, tensor<4x2x3x3xf32>
  %1 = nn.conv2d_input_grad %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : tensor<2x4x4x4xf32>, tensor<4x2x3x3xf32> -> tensor<2x4x6x6xf32>
  %2 = nn.conv2d_filter_grad %dy, %x {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : tensor<2x4x4x4xf32>, tensor<2x4x6x6xf32> -> tensor<4x2x3x3xf32>
  return %0, %1, %2 : tensor<2x4x4x4xf32>, tensor<2x4x6x6xf32>, tensor<4x2x3x3xf32>
}

// -----

// Gemm: alpha goes to the kernel, beta * C is added by a generic.
// KERNELS-LABEL: func.func @gemm
// KERNELS: %[[Y:.*]] = cpu.kernel_call "matmul"(%{{.*}}, %{{.*}}) {fparams = array<f64: 5.000000e-01>, params = array<i64: 3, 5, 4, 0, 1>}
// KERNELS: linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<3x5xf32>, tensor<5xf32>)
// LINALG-LABEL: func.func @gemm
// LINALG: %[[T:.*]] = linalg.transpose ins(%{{.*}} : tensor<5x4xf32>) outs(%{{.*}} : tensor<4x5xf32>) permutation = [1, 0]
// LINALG: linalg.matmul ins(%{{.*}}, %[[T]] : tensor<3x4xf32>, tensor<4x5xf32>)
func.func @gemm(%a: tensor<3x4xf32>, %b: tensor<5x4xf32>, %c: tensor<5xf32>) -> tensor<3x5xf32> {
  %0 = nn.gemm %a, %b, %c {alpha = 0.5 : f64, trans_b = true} : tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// A batched product with a shared matrix is one matrix product over the
// flattened rows; a broadcast batch is a batch_matmul.
// KERNELS-LABEL: func.func @matmuls
// KERNELS: cpu.kernel_call "matmul"(%{{.*}}, %{{.*}}) {fparams = array<f64: 1.000000e+00>, params = array<i64: 6, 5, 4, 0, 0>} : (tensor<6x4xf32>, tensor<4x5xf32>) -> tensor<6x5xf32>
// KERNELS: cpu.kernel_call "batch_matmul"(%{{.*}}, %{{.*}}) {params = array<i64: 2, 3, 3, 4, 12, 12, 0, 0>}
// LINALG-LABEL: func.func @matmuls
// LINALG: linalg.matmul
// LINALG: linalg.batch_matmul
func.func @matmuls(%a: tensor<2x3x4xf32>, %w: tensor<4x5xf32>, %b: tensor<2x4x3xf32>) -> (tensor<2x3x5xf32>, tensor<2x3x3xf32>) {
  %0 = nn.matmul %a, %w : tensor<2x3x4xf32>, tensor<4x5xf32>
  %1 = nn.matmul %a, %b : tensor<2x3x4xf32>, tensor<2x4x3xf32>
  return %0, %1 : tensor<2x3x5xf32>, tensor<2x3x3xf32>
}

// -----

// f64 always goes through linalg (the kernels are f32).
// KERNELS-LABEL: func.func @conv_f64
// KERNELS-NOT: cpu.kernel_call
// KERNELS: linalg.conv_2d_nchw_fchw
func.func @conv_f64(%x: tensor<1x1x4x4xf64>, %w: tensor<1x1x3x3xf64>) -> tensor<1x1x2x2xf64> {
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x1x4x4xf64>, tensor<1x1x3x3xf64>
  return %0 : tensor<1x1x2x2xf64>
}
