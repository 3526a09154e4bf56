// RUN: adagp-opt %s --convert-nn-to-linalg --split-input-file | FileCheck %s

// Broadcasting reads the smaller operand through a map with constant 0
// for its stretched dimensions.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[BC:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
// CHECK-LABEL: func.func @add_broadcast
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3x4x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BC]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<2x3x4x4xf32>, tensor<3x1x1xf32>) outs(%[[E]] : tensor<2x3x4x4xf32>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK-NEXT: linalg.yield %[[S]]
func.func @add_broadcast(%x: tensor<2x3x4x4xf32>, %b: tensor<3x1x1xf32>) -> tensor<2x3x4x4xf32> {
  %0 = nn.add %x, %b : tensor<2x3x4x4xf32>, tensor<3x1x1xf32>
  return %0 : tensor<2x3x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @activations
// CHECK: linalg.generic
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: linalg.generic
// CHECK: %[[LO:.*]] = arith.maximumf
// CHECK: arith.minimumf %[[LO]]
// CHECK: linalg.generic
// CHECK: %[[N:.*]] = arith.negf
// CHECK-NEXT: %[[E:.*]] = math.exp %[[N]]
// CHECK: arith.divf
// CHECK: linalg.generic
// CHECK: arith.cmpf ogt
// CHECK-NEXT: arith.select
func.func @activations(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = nn.relu %x : tensor<8xf32>
  %1 = nn.clip %0 {min = 0.0 : f64, max = 6.0 : f64} : tensor<8xf32>
  %2 = nn.sigmoid %1 : tensor<8xf32>
  %3 = nn.relu_grad %2, %x : tensor<8xf32>
  return %3 : tensor<8xf32>
}

// -----

// Dropout hashes (seed, key, linear index) with SplitMix64 and keeps an
// element when the 24-bit uniform is at least the ratio.
// CHECK-LABEL: func.func @dropout
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.muli %{{.*}}, %c-4658895280553007687_i64
// CHECK: arith.shrui %{{.*}}, %c30_i64
// CHECK: arith.shrui %{{.*}}, %c40_i64
// CHECK: arith.uitofp
// CHECK: arith.cmpf oge, %{{.*}}, %cst
// CHECK: arith.select
func.func @dropout(%x: tensor<4x8xf32>, %key: i64) -> tensor<4x8xf32> {
  %0 = nn.dropout %x, %key {ratio = 0.25 : f64} : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
