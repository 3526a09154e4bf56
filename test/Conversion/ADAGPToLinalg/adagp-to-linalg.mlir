// RUN: adagp-opt %s -split-input-file --convert-adagp-to-linalg | FileCheck %s

// reorganize: batch mean, then average pooling of each channel's 4x4 map to
// 2x2, one sample per output channel.
// CHECK-DAG: #[[BATCH:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d0, d1, d2)>
// CHECK-LABEL: func.func @reorganize(
// The batch is the reduction dimension of the first generic (a sum; the
// 1/batch factor is folded into the pooling weights).
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[BATCH]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0 : tensor<2x4x4x4xf32>) outs({{.*}} : tensor<4x4x4xf32>)
// Separable pooling: rows weighted 1/2 (pool) x 1/2 (batch), columns 1/2.
// CHECK: %[[ROWS:.*]] = arith.constant dense<{{\[\[}}2.500000e-01, 2.500000e-01, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 2.500000e-01, 2.500000e-01]]> : tensor<2x4xf32>
// CHECK: %[[COLS:.*]] = arith.constant dense<{{\[\[}}5.000000e-01, 5.000000e-01, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 5.000000e-01, 5.000000e-01]]> : tensor<2x4xf32>
// CHECK: %[[POOLED:.*]] = linalg.generic {{.*}} ins(%[[SUM]], %[[ROWS]], %[[COLS]] :
// CHECK: %[[SAMPLES:.*]] = tensor.expand_shape %[[POOLED]] {{\[\[}}0], [1, 2], [3]] output_shape [4, 1, 2, 2]
// Normalised by the root mean square over the whole layer.
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%[[SAMPLES]] :
// CHECK: arith.constant 1.600000e+01 : f32
// CHECK: math.rsqrt
// CHECK-NOT: adagp.reorganize
func.func @reorganize(%a: tensor<2x4x4x4xf32>) -> tensor<4x1x2x2xf32> {
  %s = adagp.reorganize %a {pooled_size = 2 : i64} : tensor<2x4x4x4xf32> -> tensor<4x1x2x2xf32>
  return %s : tensor<4x1x2x2xf32>
}

// -----

// One row per output channel, zero-padded to the predictor's width.
// CHECK-LABEL: func.func @reorganize_gradient(
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0], [1, 2, 3]] : tensor<4x1x3x3xf32> into tensor<4x9xf32>
// CHECK: tensor.pad %[[ROWS]] low[0, 0] high[0, 7]
func.func @reorganize_gradient(%g: tensor<4x1x3x3xf32>) -> tensor<4x16xf32> {
  %r = adagp.reorganize_gradient %g : tensor<4x1x3x3xf32> -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// Rows exactly as wide as the filter (the predictor's targets): a reshape,
// no padding.
// CHECK-LABEL: func.func @reorganize_gradient_exact(
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0], [1, 2, 3]] : tensor<4x1x3x3xf32> into tensor<4x9xf32>
// CHECK-NOT: tensor.pad
// CHECK: return %[[ROWS]]
func.func @reorganize_gradient_exact(%g: tensor<4x1x3x3xf32>) -> tensor<4x9xf32> {
  %r = adagp.reorganize_gradient %g : tensor<4x1x3x3xf32> -> tensor<4x9xf32>
  return %r : tensor<4x9xf32>
}

// -----

// The first 9 columns, back to the filter's shape, times the layer's scale.
// CHECK-LABEL: func.func @expand_prediction(
// CHECK: %[[S:.*]] = tensor.extract_slice %arg0[0, 0] [4, 9] [1, 1]
// CHECK: %[[F:.*]] = tensor.expand_shape %[[S]] {{\[\[}}0], [1, 2, 3]] output_shape [4, 1, 3, 3]
// CHECK: linalg.generic {{.*}} ins(%[[F]], %arg1 : tensor<4x1x3x3xf32>, tensor<f32>)
// CHECK: arith.mulf
func.func @expand_prediction(%p: tensor<4x16xf32>, %scale: tensor<f32>) -> tensor<4x1x3x3xf32> {
  %g = adagp.expand_prediction %p, %scale : tensor<4x16xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
  return %g : tensor<4x1x3x3xf32>
}

// -----

// The host interface: runtime calls.
// CHECK-LABEL: func.func @host(
// CHECK: cpu.host_call "next_batch"() : () -> (tensor<2x1x4x4xf32>, tensor<2xi64>, tensor<i64>)
// CHECK: cpu.host_call "report"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (tensor<i64>, tensor<f32>, tensor<f32>, tensor<f32>) -> ()
func.func @host() {
  %x, %y, %e = adagp.next_batch : tensor<2x1x4x4xf32>, tensor<2xi64>, tensor<i64>
  %m = arith.constant dense<1> : tensor<i64>
  %l = arith.constant dense<0.5> : tensor<f32>
  adagp.report %m, %l, %l, %l : tensor<i64>, tensor<f32>, tensor<f32>, tensor<f32>
  return
}

// -----

// Rows exactly as wide as the filter (what the predictor produces): no
// slice.
// CHECK-LABEL: func.func @expand_prediction_exact(
// CHECK-NOT: tensor.extract_slice
// CHECK: %[[F:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2, 3]] output_shape [4, 1, 3, 3]
// CHECK: linalg.generic {{.*}} ins(%[[F]], %arg1 : tensor<4x1x3x3xf32>, tensor<f32>)
func.func @expand_prediction_exact(%p: tensor<4x9xf32>, %scale: tensor<f32>) -> tensor<4x1x3x3xf32> {
  %g = adagp.expand_prediction %p, %scale : tensor<4x9xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
  return %g : tensor<4x1x3x3xf32>
}
