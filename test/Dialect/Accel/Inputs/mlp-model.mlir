// A two-layer perceptron (linear, ReLU, linear) for the tests of the
// matrix products' epilogue.
module {
  ml_program.global private mutable @fc1.weight(dense<0.5> : tensor<4x8xf32>) : tensor<4x8xf32>
  ml_program.global private mutable @fc1.bias(dense<0.1> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @fc2.weight(dense<0.25> : tensor<3x4xf32>) : tensor<3x4xf32>
  ml_program.global private mutable @fc2.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  func.func @forward(%x: tensor<2x8xf32> {onnx.name = "input"}) -> tensor<2x3xf32> {
    %w1 = ml_program.global_load @fc1.weight : tensor<4x8xf32>
    %b1 = ml_program.global_load @fc1.bias : tensor<4xf32>
    %w2 = ml_program.global_load @fc2.weight : tensor<3x4xf32>
    %b2 = ml_program.global_load @fc2.bias : tensor<3xf32>
    %h = nn.gemm %x, %w1, %b1 {trans_b = true} : tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>
    %r = nn.relu %h : tensor<2x4xf32>
    %y = nn.gemm %r, %w2, %b2 {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}
