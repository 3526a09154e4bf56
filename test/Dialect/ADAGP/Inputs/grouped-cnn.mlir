// A CNN whose predicted layers share filter sizes, for the grouping of
// --adagp-insert-predictors: conv1 (1 -> 4 channels, 3x3: 9 elements per
// filter), conv2 and conv3 (4 -> 4, 3x3: 36; conv2 without a bias), fc1
// (64 -> 9: 64), fc2 (9 -> 8: 9) and the head fc3 (8 -> 3). Groups by filter
// size, in the order of their first layer: 9 (conv1, fc2), 36 (conv2,
// conv3), 64 (fc1).
module {
  ml_program.global private mutable @conv1.weight(dense<0.5> : tensor<4x1x3x3xf32>) : tensor<4x1x3x3xf32>
  ml_program.global private mutable @conv1.bias(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @conv2.weight(dense<0.1> : tensor<4x4x3x3xf32>) : tensor<4x4x3x3xf32>
  ml_program.global private mutable @conv3.weight(dense<0.1> : tensor<4x4x3x3xf32>) : tensor<4x4x3x3xf32>
  ml_program.global private mutable @conv3.bias(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @fc1.weight(dense<0.25> : tensor<9x64xf32>) : tensor<9x64xf32>
  ml_program.global private mutable @fc1.bias(dense<0.0> : tensor<9xf32>) : tensor<9xf32>
  ml_program.global private mutable @fc2.weight(dense<0.25> : tensor<8x9xf32>) : tensor<8x9xf32>
  ml_program.global private mutable @fc2.bias(dense<0.0> : tensor<8xf32>) : tensor<8xf32>
  ml_program.global private mutable @fc3.weight(dense<0.125> : tensor<3x8xf32>) : tensor<3x8xf32>
  ml_program.global private mutable @fc3.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  func.func @forward(%x: tensor<2x1x4x4xf32> {onnx.name = "input"}) -> tensor<2x3xf32> {
    %w1 = ml_program.global_load @conv1.weight : tensor<4x1x3x3xf32>
    %b1 = ml_program.global_load @conv1.bias : tensor<4xf32>
    %w2 = ml_program.global_load @conv2.weight : tensor<4x4x3x3xf32>
    %w3 = ml_program.global_load @conv3.weight : tensor<4x4x3x3xf32>
    %b3 = ml_program.global_load @conv3.bias : tensor<4xf32>
    %w4 = ml_program.global_load @fc1.weight : tensor<9x64xf32>
    %b4 = ml_program.global_load @fc1.bias : tensor<9xf32>
    %w5 = ml_program.global_load @fc2.weight : tensor<8x9xf32>
    %b5 = ml_program.global_load @fc2.bias : tensor<8xf32>
    %w6 = ml_program.global_load @fc3.weight : tensor<3x8xf32>
    %b6 = ml_program.global_load @fc3.bias : tensor<3xf32>
    %c1 = nn.conv2d %x, %w1, %b1 {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x1x4x4xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>
    %r1 = nn.relu %c1 : tensor<2x4x4x4xf32>
    %c2 = nn.conv2d %r1, %w2 {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x4x4x4xf32>, tensor<4x4x3x3xf32>
    %r2 = nn.relu %c2 : tensor<2x4x4x4xf32>
    %c3 = nn.conv2d %r2, %w3, %b3 {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x4x4x4xf32>, tensor<4x4x3x3xf32>, tensor<4xf32>
    %r3 = nn.relu %c3 : tensor<2x4x4x4xf32>
    %f = nn.flatten %r3 {axis = 1 : i64} : tensor<2x4x4x4xf32>
    %h1 = nn.gemm %f, %w4, %b4 {trans_b = true} : tensor<2x64xf32>, tensor<9x64xf32>, tensor<9xf32>
    %hr1 = nn.relu %h1 : tensor<2x9xf32>
    %h2 = nn.gemm %hr1, %w5, %b5 {trans_b = true} : tensor<2x9xf32>, tensor<8x9xf32>, tensor<8xf32>
    %hr2 = nn.relu %h2 : tensor<2x8xf32>
    %y = nn.gemm %hr2, %w6, %b6 {trans_b = true} : tensor<2x8xf32>, tensor<3x8xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}
