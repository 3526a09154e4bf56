// RUN: adagp-opt %s --canonicalize --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @reshape_chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[R:.*]] = nn.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<24xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_chain(%x: tensor<2x3x4xf32>) -> tensor<24xf32> {
  %0 = nn.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = nn.reshape %0 : tensor<6x4xf32> -> tensor<24xf32>
  return %1 : tensor<24xf32>
}

// -----

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = nn.reshape %x : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = nn.transpose %x {permutation = array<i64: 0, 1>} : tensor<2x3xf32>
  %2 = nn.broadcast_to %x : tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = nn.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 2, 3>, steps = array<i64: 1, 1>} : tensor<2x3xf32>
  return %0, %1, %2, %3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @flatten_is_reshape
// CHECK-NEXT: nn.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<2x12xf32>
// CHECK-NOT: nn.flatten
func.func @flatten_is_reshape(%x: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  %0 = nn.flatten %x {axis = 1 : i64} : tensor<2x3x4xf32>
  return %0 : tensor<2x12xf32>
}

// -----

// A transpose that moves dimensions is kept.
// CHECK-LABEL: func.func @real_transpose
// CHECK: nn.transpose
func.func @real_transpose(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = nn.transpose %x {permutation = array<i64: 1, 0>} : tensor<2x3xf32>
  return %0 : tensor<3x2xf32>
}
