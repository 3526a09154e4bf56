// RUN: adagp-opt %s | FileCheck %s
// RUN: adagp-opt %s | adagp-opt | FileCheck %s
// RUN: adagp-opt %s --mlir-print-op-generic | adagp-opt | FileCheck %s

// Every nn operation parses, verifies, infers its result type and prints
// back in its custom form.

// CHECK-LABEL: func.func @forward_ops
func.func @forward_ops(%x: tensor<2x4x8x8xf32>, %w: tensor<6x4x3x3xf32>,
                       %b: tensor<6xf32>, %c: tensor<4xf32>, %m: tensor<2x8xf32>, %g: tensor<8xf32>,
                       %k: i64) -> () {
  // CHECK: nn.conv2d %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 0, 1, 2>, strides = array<i64: 2, 1>} : tensor<2x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<6xf32>
  %0 = nn.conv2d %x, %w, %b {strides = array<i64: 2, 1>, pads = array<i64: 1, 0, 1, 2>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<6xf32>
  // CHECK: nn.conv2d_input_grad {{.*}} : tensor<2x6x4x8xf32>, tensor<6x4x3x3xf32> -> tensor<2x4x8x8xf32>
  %1 = nn.conv2d_input_grad %0, %w {strides = array<i64: 2, 1>, pads = array<i64: 1, 0, 1, 2>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x6x4x8xf32>, tensor<6x4x3x3xf32> -> tensor<2x4x8x8xf32>
  // CHECK: nn.conv2d_filter_grad {{.*}} -> tensor<6x4x3x3xf32>
  %2 = nn.conv2d_filter_grad %0, %x {strides = array<i64: 2, 1>, pads = array<i64: 1, 0, 1, 2>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x6x4x8xf32>, tensor<2x4x8x8xf32> -> tensor<6x4x3x3xf32>
  // CHECK: nn.add %{{.*}}, %{{.*}} : tensor<2x4x8x8xf32>, tensor<4x1x1xf32>
  %bias = nn.reshape %c : tensor<4xf32> -> tensor<4x1x1xf32>
  %3 = nn.add %x, %bias : tensor<2x4x8x8xf32>, tensor<4x1x1xf32>
  %4 = nn.sub %3, %x : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
  %5 = nn.mul %4, %bias : tensor<2x4x8x8xf32>, tensor<4x1x1xf32>
  %6 = nn.div %5, %bias : tensor<2x4x8x8xf32>, tensor<4x1x1xf32>
  %7 = nn.pow %6, %bias : tensor<2x4x8x8xf32>, tensor<4x1x1xf32>
  %8 = nn.max %7, %6 : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
  %9 = nn.min %8, %6 : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
  // CHECK: nn.broadcast_to %{{.*}} : tensor<4x1x1xf32> -> tensor<2x4x8x8xf32>
  %10 = nn.broadcast_to %bias : tensor<4x1x1xf32> -> tensor<2x4x8x8xf32>
  // CHECK: nn.relu
  %11 = nn.relu %9 : tensor<2x4x8x8xf32>
  %12 = nn.sigmoid %11 : tensor<2x4x8x8xf32>
  %13 = nn.tanh %12 : tensor<2x4x8x8xf32>
  %14 = nn.exp %13 : tensor<2x4x8x8xf32>
  %15 = nn.log %14 : tensor<2x4x8x8xf32>
  %16 = nn.sqrt %15 : tensor<2x4x8x8xf32>
  %17 = nn.erf %16 : tensor<2x4x8x8xf32>
  %18 = nn.neg %17 : tensor<2x4x8x8xf32>
  %19 = nn.abs %18 : tensor<2x4x8x8xf32>
  %20 = nn.reciprocal %19 : tensor<2x4x8x8xf32>
  %21 = nn.hard_swish %20 : tensor<2x4x8x8xf32>
  // CHECK: nn.leaky_relu %{{.*}} {alpha = 1.000000e-02 : f64}
  %22 = nn.leaky_relu %21 {alpha = 0.01 : f64} : tensor<2x4x8x8xf32>
  // CHECK: nn.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %23 = nn.clip %22 {min = 0.0 : f64, max = 6.0 : f64} : tensor<2x4x8x8xf32>
  %24 = nn.hard_sigmoid %23 {alpha = 0.2 : f64, beta = 0.5 : f64} : tensor<2x4x8x8xf32>
  %25 = nn.scale %24 {factor = 0.5 : f64} : tensor<2x4x8x8xf32>
  // CHECK: nn.relu_grad
  %26 = nn.relu_grad %25, %x : tensor<2x4x8x8xf32>
  %27 = nn.leaky_relu_grad %26, %x {alpha = 0.01 : f64} : tensor<2x4x8x8xf32>
  %28 = nn.clip_grad %27, %x {min = 0.0 : f64, max = 6.0 : f64} : tensor<2x4x8x8xf32>
  %29 = nn.hard_sigmoid_grad %28, %x {alpha = 0.2 : f64, beta = 0.5 : f64} : tensor<2x4x8x8xf32>
  %30 = nn.hard_swish_grad %29, %x : tensor<2x4x8x8xf32>
  %31 = nn.sigmoid_grad %30, %12 : tensor<2x4x8x8xf32>
  %32 = nn.tanh_grad %31, %13 : tensor<2x4x8x8xf32>
  // CHECK: nn.max_pool2d %{{.*}} {ceil_mode = true, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<2x4x8x8xf32>
  %33 = nn.max_pool2d %32 {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<2x4x8x8xf32>
  // CHECK: nn.max_pool2d_grad {{.*}} : tensor<2x4x5x5xf32>, tensor<2x4x8x8xf32>
  %34 = nn.max_pool2d_grad %33, %32 {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<2x4x5x5xf32>, tensor<2x4x8x8xf32>
  // CHECK: nn.avg_pool2d %{{.*}} {count_include_pad = true, kernel = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<2x4x8x8xf32>
  %35 = nn.avg_pool2d %34 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad = true} : tensor<2x4x8x8xf32>
  // CHECK: nn.avg_pool2d_grad {{.*}} : tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  %36 = nn.avg_pool2d_grad %35 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad = true} : tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  // CHECK: nn.global_avg_pool %{{.*}} : tensor<2x4x8x8xf32>
  %37 = nn.global_avg_pool %36 : tensor<2x4x8x8xf32>
  // CHECK: nn.batch_norm_train
  %y, %rm, %rv, %bm, %bv = nn.batch_norm_train %36, %c, %c, %c, %c {epsilon = 1.0e-5 : f64, momentum = 0.9 : f64} : tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  // CHECK: nn.batch_norm_inference
  %38 = nn.batch_norm_inference %y, %c, %c, %rm, %rv {epsilon = 1.0e-5 : f64} : tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  // CHECK: nn.batch_norm_grad
  %dx, %dg, %db = nn.batch_norm_grad %38, %36, %c, %bm, %bv {epsilon = 1.0e-5 : f64} : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  // CHECK: nn.layer_norm
  %ln, %mean, %istd = nn.layer_norm %m, %g, %g {axis = 1 : i64, epsilon = 1.0e-5 : f64} : tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: nn.layer_norm_grad
  %ldx, %ldg, %ldb = nn.layer_norm_grad %ln, %m, %g, %mean, %istd {axis = 1 : i64} : tensor<2x8xf32>, tensor<2x8xf32>, tensor<8xf32>, tensor<2x1xf32>, tensor<2x1xf32>
  // CHECK: nn.dropout %{{.*}}, %{{.*}} {ratio = 2.000000e-01 : f64, seed = 3 : i64} : tensor<2x8xf32>
  %39 = nn.dropout %ln, %k {ratio = 0.2 : f64, seed = 3 : i64} : tensor<2x8xf32>
  return
}

// CHECK-LABEL: func.func @matrix_and_shape_ops
func.func @matrix_and_shape_ops(%a: tensor<3x4xf32>, %b: tensor<5x4xf32>,
                                %c: tensor<5xf32>, %t: tensor<2x3x4xf32>,
                                %u: tensor<4x6xf32>) -> () {
  // CHECK: nn.gemm %{{.*}}, %{{.*}}, %{{.*}} {alpha = 2.000000e+00 : f64, trans_b = true} : tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>
  %0 = nn.gemm %a, %b, %c {alpha = 2.0 : f64, trans_b = true} : tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>
  // CHECK: nn.matmul %{{.*}}, %{{.*}} : tensor<2x3x4xf32>, tensor<4x6xf32>
  %1 = nn.matmul %t, %u : tensor<2x3x4xf32>, tensor<4x6xf32>
  // CHECK: nn.flatten %{{.*}} {axis = 1 : i64} : tensor<2x3x6xf32>
  %2 = nn.flatten %1 {axis = 1 : i64} : tensor<2x3x6xf32>
  // CHECK: nn.transpose %{{.*}} {permutation = array<i64: 2, 0, 1>} : tensor<2x3x6xf32>
  %3 = nn.transpose %1 {permutation = array<i64: 2, 0, 1>} : tensor<2x3x6xf32>
  // CHECK: nn.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<6x2x3xf32>, tensor<6x2x3xf32>
  %4 = nn.concat %3, %3 {axis = 0 : i64} : tensor<6x2x3xf32>, tensor<6x2x3xf32>
  // CHECK: nn.split %{{.*}} {axis = 0 : i64, sizes = array<i64: 5, 7>} : tensor<12x2x3xf32>
  %5:2 = nn.split %4 {axis = 0 : i64, sizes = array<i64: 5, 7>} : tensor<12x2x3xf32>
  // CHECK: nn.slice %{{.*}} {sizes = array<i64: 3, 1, 2>, starts = array<i64: 1, 1, 0>, steps = array<i64: 2, 1, 2>} : tensor<7x2x3xf32>
  %6 = nn.slice %5#1 {starts = array<i64: 1, 1, 0>, sizes = array<i64: 3, 1, 2>, steps = array<i64: 2, 1, 2>} : tensor<7x2x3xf32>
  // CHECK: nn.pad %{{.*}} {pads = array<i64: 0, 1, 0, 0, 1, 2>, value = 1.000000e+00 : f64} : tensor<3x1x2xf32>
  %7 = nn.pad %6 {pads = array<i64: 0, 1, 0, 0, 1, 2>, value = 1.0 : f64} : tensor<3x1x2xf32>
  // CHECK: nn.reduce_sum %{{.*}} {axes = array<i64: 0, 2>, keepdims = false} : tensor<3x3x4xf32>
  %8 = nn.reduce_sum %7 {axes = array<i64: 0, 2>, keepdims = false} : tensor<3x3x4xf32>
  %9 = nn.reduce_mean %7 {axes = array<i64: 1>} : tensor<3x3x4xf32>
  %10 = nn.reduce_max %7 {axes = array<i64: 2>} : tensor<3x3x4xf32>
  // CHECK: nn.softmax %{{.*}} {axis = 1 : i64} : tensor<3x5xf32>
  %11 = nn.softmax %0 {axis = 1 : i64} : tensor<3x5xf32>
  %12 = nn.log_softmax %0 {axis = 1 : i64} : tensor<3x5xf32>
  return
}
