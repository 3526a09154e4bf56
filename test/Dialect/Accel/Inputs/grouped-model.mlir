// A grouped convolution (2 groups of 4 input and 4 output channels) and a
// depthwise one (8 groups of 1), then a linear layer: the accelerator
// lowering tests of grouped convolutions and their gradients.
module {
  ml_program.global private mutable @conv.weight(dense<0.5> : tensor<8x1x3x3xf32>) : tensor<8x1x3x3xf32>
  ml_program.global private mutable @grouped.weight(dense<0.25> : tensor<8x4x3x3xf32>) : tensor<8x4x3x3xf32>
  ml_program.global private mutable @dw.weight(dense<0.125> : tensor<8x1x3x3xf32>) : tensor<8x1x3x3xf32>
  ml_program.global private mutable @fc.weight(dense<0.0625> : tensor<3x32xf32>) : tensor<3x32xf32>
  func.func @forward(%x: tensor<2x1x4x4xf32> {onnx.name = "input"}) -> tensor<2x3xf32> {
    %w0 = ml_program.global_load @conv.weight : tensor<8x1x3x3xf32>
    %w1 = ml_program.global_load @grouped.weight : tensor<8x4x3x3xf32>
    %w2 = ml_program.global_load @dw.weight : tensor<8x1x3x3xf32>
    %fw = ml_program.global_load @fc.weight : tensor<3x32xf32>
    %a = nn.conv2d %x, %w0 {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x1x4x4xf32>, tensor<8x1x3x3xf32>
    %b = nn.conv2d %a, %w1 {dilations = array<i64: 1, 1>, groups = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<2x8x4x4xf32>, tensor<8x4x3x3xf32>
    %c = nn.conv2d %b, %w2 {dilations = array<i64: 1, 1>, groups = 8 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<2x8x4x4xf32>, tensor<8x1x3x3xf32>
    %f = nn.flatten %c {axis = 1 : i64} : tensor<2x8x2x2xf32>
    %y = nn.gemm %f, %fw {trans_b = true} : tensor<2x32xf32>, tensor<3x32xf32>
    return %y : tensor<2x3xf32>
  }
}
