// RUN: adagp-opt %s -split-input-file -verify-diagnostics --train-build-step -o /dev/null

// An operation without a gradient rule on a path from a parameter to the
// loss is an error naming it.
ml_program.global private mutable @w(dense<0.1> : tensor<3x4xf32>) : tensor<3x4xf32>
func.func @forward(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = ml_program.global_load @w : tensor<3x4xf32>
  %0 = nn.gemm %x, %w {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>
  // expected-error @+1 {{'arith.addf' has no gradient rule, but the loss depends on it through a trained parameter}}
  %1 = arith.addf %0, %0 : tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// The same for an nn operation without a rule (a backward operation).
ml_program.global private mutable @w(dense<0.1> : tensor<3x4xf32>) : tensor<3x4xf32>
func.func @forward(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = ml_program.global_load @w : tensor<3x4xf32>
  %0 = nn.gemm %x, %w {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>
  // expected-error @+1 {{'nn.relu_grad' has no gradient rule, but the loss depends on it through a trained parameter}}
  %1 = nn.relu_grad %0, %0 : tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// Cross-entropy needs [batch, classes] logits.
ml_program.global private mutable @w(dense<0.1> : tensor<2x1x3x3xf32>) : tensor<2x1x3x3xf32>
// expected-error @+1 {{the model's output has type 'tensor<2x2x2x2xf32>'; cross-entropy needs one row of class logits per example ([batch, classes])}}
func.func @forward(%x: tensor<2x1x4x4xf32>) -> tensor<2x2x2x2xf32> {
  %w = ml_program.global_load @w : tensor<2x1x3x3xf32>
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x1x4x4xf32>, tensor<2x1x3x3xf32>
  return %0 : tensor<2x2x2x2xf32>
}

// -----

ml_program.global private mutable @w(dense<0.1> : tensor<3x4xf32>) : tensor<3x4xf32>
// expected-error @+1 {{the model has 2 outputs; training needs exactly one (the logits)}}
func.func @forward(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %w = ml_program.global_load @w : tensor<3x4xf32>
  %0 = nn.gemm %x, %w {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>
  %1 = nn.relu %0 : tensor<2x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// expected-error @+1 {{the model has no trainable parameter}}
func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.relu %x : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// A rule that cannot handle an attribute says so.
ml_program.global private mutable @w(dense<0.1> : tensor<6x4xf32>) : tensor<6x4xf32>
func.func @forward(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = ml_program.global_load @w : tensor<6x4xf32>
  %0 = nn.gemm %x, %w {trans_b = true} : tensor<2x4xf32>, tensor<6x4xf32>
  // expected-error @+1 {{the gradient of a strided slice (step 2) is not supported}}
  %1 = nn.slice %0 {starts = array<i64: 0, 0>, sizes = array<i64: 2, 3>, steps = array<i64: 1, 2>} : tensor<2x6xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// The batch statistics of a training-mode batch norm are not part of the
// differentiated function.
ml_program.global private mutable @g(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
ml_program.global private mutable @b(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
ml_program.global private mutable @rm(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
ml_program.global private mutable @rv(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
func.func @forward(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %g = ml_program.global_load @g : tensor<3xf32>
  %b = ml_program.global_load @b : tensor<3xf32>
  %rm = ml_program.global_load @rm : tensor<3xf32>
  %rv = ml_program.global_load @rv : tensor<3xf32>
  // expected-error @+1 {{the batch statistics of a training-mode batch norm cannot be differentiated}}
  %y, %m, %v, %bm, %bv = nn.batch_norm_train %x, %g, %b, %rm, %rv : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %0 = nn.add %y, %bm : tensor<2x3xf32>, tensor<3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// An existing @eval_step is not overwritten (a module-level error).
// expected-error @+1 {{the module already has a function @eval_step}}
module {
  ml_program.global private mutable @w(dense<0.1> : tensor<3x4xf32>) : tensor<3x4xf32>
  func.func @forward(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
    %w = ml_program.global_load @w : tensor<3x4xf32>
    %0 = nn.gemm %x, %w {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>
    return %0 : tensor<2x3xf32>
  }
  func.func @eval_step(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    return %x : tensor<2x4xf32>
  }
}
