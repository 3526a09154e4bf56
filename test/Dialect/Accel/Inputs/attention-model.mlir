// Single-head self-attention on [batch 2, 3 tokens, 4 features] with layer
// normalisation: the accelerator lowering tests of batched and broadcast
// nn.matmul, nn.transpose (on chip and as a gather), nn.softmax and
// nn.layer_norm with its gradient.
module {
  ml_program.global private mutable @ln.weight(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @ln.bias(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @q.weight(dense<0.5> : tensor<4x4xf32>) : tensor<4x4xf32>
  ml_program.global private mutable @fc.weight(dense<0.25> : tensor<3x12xf32>) : tensor<3x12xf32>
  func.func @forward(%x: tensor<2x3x4xf32> {onnx.name = "input"}) -> tensor<2x3xf32> {
    %g = ml_program.global_load @ln.weight : tensor<4xf32>
    %b = ml_program.global_load @ln.bias : tensor<4xf32>
    %wq = ml_program.global_load @q.weight : tensor<4x4xf32>
    %fw = ml_program.global_load @fc.weight : tensor<3x12xf32>
    %ln, %mean, %invstd = nn.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>
    %q = nn.matmul %ln, %wq : tensor<2x3x4xf32>, tensor<4x4xf32>
    %kt = nn.transpose %q {permutation = array<i64: 0, 2, 1>} : tensor<2x3x4xf32>
    %s = nn.matmul %q, %kt : tensor<2x3x4xf32>, tensor<2x4x3xf32>
    %p = nn.softmax %s {axis = 2 : i64} : tensor<2x3x3xf32>
    %o = nn.matmul %p, %q : tensor<2x3x3xf32>, tensor<2x3x4xf32>
    %t = nn.transpose %o {permutation = array<i64: 1, 0, 2>} : tensor<2x3x4xf32>
    %u = nn.transpose %t {permutation = array<i64: 1, 0, 2>} : tensor<3x2x4xf32>
    %f = nn.reshape %u : tensor<2x3x4xf32> -> tensor<2x12xf32>
    %y = nn.gemm %f, %fw {trans_b = true} : tensor<2x12xf32>, tensor<3x12xf32>
    return %y : tensor<2x3xf32>
  }
}
