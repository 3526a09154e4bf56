// A small CNN for the ADA-GP pass tests: a 3x3 convolution with bias, ReLU,
// a hidden linear layer and the linear head. --adagp-insert-predictors
// predicts the convolution and the hidden layer and computes the head's
// gradient exactly.
module {
  ml_program.global private mutable @conv.weight(dense<0.5> : tensor<4x1x3x3xf32>) : tensor<4x1x3x3xf32>
  ml_program.global private mutable @conv.bias(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @fc1.weight(dense<0.25> : tensor<8x64xf32>) : tensor<8x64xf32>
  ml_program.global private mutable @fc1.bias(dense<0.0> : tensor<8xf32>) : tensor<8xf32>
  ml_program.global private mutable @fc2.weight(dense<0.125> : tensor<3x8xf32>) : tensor<3x8xf32>
  ml_program.global private mutable @fc2.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  func.func @forward(%x: tensor<2x1x4x4xf32> {onnx.name = "input"}) -> tensor<2x3xf32> {
    %w = ml_program.global_load @conv.weight : tensor<4x1x3x3xf32>
    %b = ml_program.global_load @conv.bias : tensor<4xf32>
    %w1 = ml_program.global_load @fc1.weight : tensor<8x64xf32>
    %b1 = ml_program.global_load @fc1.bias : tensor<8xf32>
    %w2 = ml_program.global_load @fc2.weight : tensor<3x8xf32>
    %b2 = ml_program.global_load @fc2.bias : tensor<3xf32>
    %c = nn.conv2d %x, %w, %b {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x1x4x4xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>
    %r = nn.relu %c : tensor<2x4x4x4xf32>
    %f = nn.flatten %r {axis = 1 : i64} : tensor<2x4x4x4xf32>
    %h = nn.gemm %f, %w1, %b1 {trans_b = true} : tensor<2x64xf32>, tensor<8x64xf32>, tensor<8xf32>
    %hr = nn.relu %h : tensor<2x8xf32>
    %y = nn.gemm %hr, %w2, %b2 {trans_b = true} : tensor<2x8xf32>, tensor<3x8xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}
