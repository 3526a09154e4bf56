// Two convolutions concatenated along the channels, then a linear layer:
// the accelerator lowering tests of nn.concat and (in the backward pass)
// nn.slice on channel-last activations.
module {
  ml_program.global private mutable @a.weight(dense<0.5> : tensor<2x1x3x3xf32>) : tensor<2x1x3x3xf32>
  ml_program.global private mutable @b.weight(dense<0.25> : tensor<3x1x1x1xf32>) : tensor<3x1x1x1xf32>
  ml_program.global private mutable @fc.weight(dense<0.125> : tensor<3x80xf32>) : tensor<3x80xf32>
  func.func @forward(%x: tensor<2x1x4x4xf32> {onnx.name = "input"}) -> tensor<2x3xf32> {
    %wa = ml_program.global_load @a.weight : tensor<2x1x3x3xf32>
    %wb = ml_program.global_load @b.weight : tensor<3x1x1x1xf32>
    %fw = ml_program.global_load @fc.weight : tensor<3x80xf32>
    %a = nn.conv2d %x, %wa {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x1x4x4xf32>, tensor<2x1x3x3xf32>
    %b = nn.conv2d %x, %wb {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : tensor<2x1x4x4xf32>, tensor<3x1x1x1xf32>
    %c = nn.concat %a, %b {axis = 1 : i64} : tensor<2x2x4x4xf32>, tensor<2x3x4x4xf32>
    %r = nn.relu %c : tensor<2x5x4x4xf32>
    %f = nn.flatten %r {axis = 1 : i64} : tensor<2x5x4x4xf32>
    %y = nn.gemm %f, %fw {trans_b = true} : tensor<2x80xf32>, tensor<3x80xf32>
    return %y : tensor<2x3xf32>
  }
}
