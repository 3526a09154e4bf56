// A channel concatenation of two activations, reshaped (as in ShuffleNet's
// channel shuffle), for --accel-plan-dram.
module {
  ml_program.global private mutable @conv.weight(dense<0.5> : tensor<2x1x3x3xf32>) : tensor<2x1x3x3xf32>
  ml_program.global private mutable @fc.weight(dense<0.25> : tensor<3x64xf32>) : tensor<3x64xf32>
  ml_program.global private mutable @fc.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  func.func @forward(%x: tensor<2x1x4x4xf32> {onnx.name = "input"}) -> tensor<2x3xf32> {
    %w = ml_program.global_load @conv.weight : tensor<2x1x3x3xf32>
    %fw = ml_program.global_load @fc.weight : tensor<3x64xf32>
    %fb = ml_program.global_load @fc.bias : tensor<3xf32>
    %c = nn.conv2d %x, %w {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x1x4x4xf32>, tensor<2x1x3x3xf32>
    %r = nn.relu %c : tensor<2x2x4x4xf32>
    %cat = nn.concat %c, %r {axis = 1 : i64} : tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>
    %f = nn.reshape %cat : tensor<2x4x4x4xf32> -> tensor<2x64xf32>
    %y = nn.gemm %f, %fw, %fb {trans_b = true} : tensor<2x64xf32>, tensor<3x64xf32>, tensor<3xf32>
    return %y : tensor<2x3xf32>
  }
}
