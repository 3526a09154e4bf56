// RUN: adagp-opt %s --convert-nn-to-linalg --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @reshapes
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : tensor<2x3x4x5xf32> into tensor<2x60xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [2, 6, 10]
func.func @reshapes(%x: tensor<2x3x4x5xf32>) -> tensor<2x6x10xf32> {
  %0 = nn.flatten %x {axis = 1 : i64} : tensor<2x3x4x5xf32>
  %1 = nn.reshape %0 : tensor<2x60xf32> -> tensor<2x6x10xf32>
  return %1 : tensor<2x6x10xf32>
}

// -----

// CHECK-LABEL: func.func @concat_split_slice
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x7xf32>
// CHECK: %[[A:.*]] = tensor.insert_slice %{{.*}} into %[[E]][0, 0] [2, 3] [1, 1]
// CHECK: %[[B:.*]] = tensor.insert_slice %{{.*}} into %[[A]][0, 3] [2, 4] [1, 1]
// CHECK: tensor.extract_slice %[[B]][0, 2] [2, 5] [1, 1]
// CHECK: tensor.extract_slice %{{.*}}[1, 1] [1, 3] [1, 2]
func.func @concat_split_slice(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> (tensor<2x5xf32>, tensor<1x3xf32>) {
  %0 = nn.concat %a, %b {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x4xf32>
  %1:2 = nn.split %0 {axis = 1 : i64, sizes = array<i64: 2, 5>} : tensor<2x7xf32>
  %2 = nn.slice %0 {starts = array<i64: 1, 1>, sizes = array<i64: 1, 3>, steps = array<i64: 1, 2>} : tensor<2x7xf32>
  return %1#1, %2 : tensor<2x5xf32>, tensor<1x3xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_pad
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
// CHECK: tensor.pad %{{.*}} low[1, 0] high[0, 2]
func.func @transpose_pad(%x: tensor<2x3xf32>) -> tensor<4x4xf32> {
  %0 = nn.transpose %x {permutation = array<i64: 1, 0>} : tensor<2x3xf32>
  %1 = nn.pad %0 {pads = array<i64: 1, 0, 0, 2>, value = 0.5 : f64} : tensor<3x2xf32>
  return %1 : tensor<4x4xf32>
}

// -----

// Softmax subtracts the row maximum before exponentiating.
// CHECK-LABEL: func.func @softmax
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.subf
// CHECK-NEXT: math.exp
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.divf
func.func @softmax(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  %0 = nn.softmax %x {axis = 1 : i64} : tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}
