// RUN: adagp-opt %s --convert-nn-to-linalg --split-input-file | FileCheck %s

// Batch statistics accumulate in f64 with the channel as the outer
// (parallel) loop; the normalisation is one pass with per-channel
// coefficients reshaped to broadcast over dimension 1.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d0, d2, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0)>
// CHECK-LABEL: func.func @batch_norm
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction", "reduction", "reduction"]} ins(%{{.*}} : tensor<2x3x4x4xf32>) outs(%{{.*}} : tensor<3xf64>)
// CHECK: arith.extf
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f64
// CHECK: math.sqrt
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [3, 1, 1] : tensor<3xf32> into tensor<3x1x1xf32>
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf
func.func @batch_norm(%x: tensor<2x3x4x4xf32>, %c: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  %y, %rm, %rv, %m, %v = nn.batch_norm_train %x, %c, %c, %c, %c {epsilon = 1.0e-5 : f64, momentum = 0.9 : f64} : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

// Max pooling pads with -inf, also for the window that ceil_mode adds.
// CHECK-LABEL: func.func @max_pool
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: tensor.pad %{{.*}} low[0, 0, 0, 0] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[NINF]]
// CHECK: linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x1x6x6xf32>, tensor<2x2xf32>) outs(%{{.*}} : tensor<1x1x3x3xf32>)
func.func @max_pool(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
  %0 = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<1x1x5x5xf32>
  return %0 : tensor<1x1x3x3xf32>
}

// -----

// Average pooling divides by each window's divisor, a constant: without
// count_include_pad, a corner window of a padded 4x4 input covers 4
// positions, an edge window 6 and an inner one 9.
// CHECK-LABEL: func.func @avg_pool
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[\[}}4.000000e+00, 6.000000e+00, 6.000000e+00, 4.000000e+00], [6.000000e+00, 9.000000e+00, 9.000000e+00, 6.000000e+00]
// CHECK-DAG: %[[S:.*]] = linalg.pooling_nchw_sum
// CHECK: linalg.generic {{.*}} ins(%[[S]], %[[D]] : tensor<1x1x4x4xf32>, tensor<4x4xf32>)
// CHECK: arith.divf
func.func @avg_pool(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %0 = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x1x4x4xf32>
  return %0 : tensor<1x1x4x4xf32>
}

// -----

// Pooling gradients call the runtime, or gather without kernels.
// CHECK-LABEL: func.func @pool_grads
// CHECK: cpu.kernel_call "max_pool2d_grad"(%{{.*}}, %{{.*}}) {params = array<i64: 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1>}
// CHECK: cpu.kernel_call "avg_pool2d_grad"
func.func @pool_grads(%dy: tensor<1x1x2x2xf32>, %x: tensor<1x1x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %0 = nn.max_pool2d_grad %dy, %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x1x2x2xf32>, tensor<1x1x4x4xf32>
  %1 = nn.avg_pool2d_grad %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x1x2x2xf32> -> tensor<1x1x4x4xf32>
  return %0, %1 : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}
