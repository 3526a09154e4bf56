// RUN: adagp-opt %s -split-input-file --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" | FileCheck %s

// The structure of the training step built for a small CNN (conv, training
// batch norm, relu, max pooling, dropout, linear layer): the forward pass in
// training mode, the loss, the loss gradient seeded with 1, the backward
// pass in reverse order of the forward operations, an SGD update of every
// trained parameter, and the stores of parameters, optimizer state,
// batch-norm running statistics and the step counter at the end.

// Optimizer state next to each parameter; none for running statistics.
// CHECK-LABEL: ml_program.global private mutable @conv1.weight(
// CHECK-NEXT: ml_program.global private mutable @conv1.weight.momentum(dense<0.000000e+00> : tensor<4x1x3x3xf32>)
// CHECK-NOT: @bn1.running_mean.momentum
// CHECK-NOT: @bn1.running_var.momentum
// CHECK: ml_program.global private mutable @fc.bias.momentum(dense<0.000000e+00> : tensor<3xf32>)
// CHECK: ml_program.global private mutable @train.step(dense<0> : tensor<i64>) : tensor<i64>

// CHECK-LABEL: func.func @bp_step(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x1x4x4xf32>, %[[LABELS:[^:]*]]: tensor<2xi64> {onnx.name = "labels"}) -> tensor<f32>
// The step counter is dropout's random key.
// CHECK: %[[STEP:.*]] = ml_program.global_load @train.step : tensor<i64>
// CHECK: %[[KEY:.*]] = tensor.extract %[[STEP]][]
// CHECK-DAG: %[[W:.*]] = ml_program.global_load @conv1.weight
// CHECK-DAG: %[[G:.*]] = ml_program.global_load @bn1.weight
// CHECK-DAG: %[[B:.*]] = ml_program.global_load @bn1.bias
// CHECK-DAG: %[[FW:.*]] = ml_program.global_load @fc.weight
// CHECK-DAG: %[[FB:.*]] = ml_program.global_load @fc.bias
// Forward, training mode.
// CHECK: %[[CONV:.*]] = nn.conv2d %[[X]], %[[W]]
// CHECK: %[[BN:.*]], %[[RM:.*]], %[[RV:.*]], %[[BMEAN:.*]], %[[BVAR:.*]] = nn.batch_norm_train %[[CONV]], %[[G]], %[[B]]
// CHECK: %[[RELU:.*]] = nn.relu %[[BN]]
// CHECK: %[[POOL:.*]] = nn.max_pool2d %[[RELU]]
// CHECK: %[[FLAT:.*]] = nn.flatten %[[POOL]]
// CHECK: %[[DROP:.*]] = nn.dropout %[[FLAT]], %[[KEY]] {ratio = 5.000000e-01 : f64, seed = 3 : i64}
// CHECK: %[[LOGITS:.*]] = nn.gemm %[[DROP]], %[[FW]], %[[FB]] {trans_b = true}
// CHECK: %[[LOSS:.*]] = train.softmax_cross_entropy %[[LOGITS]], %[[LABELS]]
// The seed: dloss/dloss = 1.
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DLOGITS:.*]] = train.softmax_cross_entropy_grad %[[LOGITS]], %[[LABELS]], %[[ONE]]
// Backward, in reverse order: gemm (input, weight, bias), dropout with the
// same key and mask, flatten, max pooling, relu, batch norm, conv filter.
// CHECK: %[[DDROP:.*]] = nn.gemm %[[DLOGITS]], %[[FW]] :
// CHECK: %[[DFW:.*]] = nn.gemm %[[DLOGITS]], %[[DROP]] {trans_a = true}
// CHECK: %[[DFB:.*]] = nn.reduce_sum %[[DLOGITS]] {axes = array<i64: 0>, keepdims = false}
// CHECK: %[[DFLAT:.*]] = nn.dropout %[[DDROP]], %[[KEY]] {ratio = 5.000000e-01 : f64, seed = 3 : i64}
// CHECK: %[[DPOOL:.*]] = nn.reshape %[[DFLAT]] : tensor<2x16xf32> -> tensor<2x4x2x2xf32>
// CHECK: %[[DRELU:.*]] = nn.max_pool2d_grad %[[DPOOL]], %[[RELU]]
// The ReLU's mask comes from its output (the same as from its input).
// CHECK: %[[DBN:.*]] = nn.relu_grad %[[DRELU]], %[[RELU]]
// CHECK: %[[DCONV:.*]], %[[DG:.*]], %[[DB:.*]] = nn.batch_norm_grad %[[DBN]], %[[CONV]], %[[G]], %[[BMEAN]], %[[BVAR]]
// The input image needs no gradient: no transposed convolution.
// CHECK-NOT: nn.conv2d_input_grad
// CHECK: %[[DW:.*]] = nn.conv2d_filter_grad %[[DCONV]], %[[X]]
// CHECK-NOT: nn.conv2d_input_grad
// The optimizer.
// CHECK: %[[LR:.*]] = train.lr_schedule %[[STEP]] {base_lr = 1.000000e-02 : f64, kind = "constant"}
// CHECK: %[[VW:.*]] = ml_program.global_load @conv1.weight.momentum
// CHECK: %[[NW:.*]], %[[NVW:.*]] = train.sgd_update %[[W]], %[[DW]], %[[VW]], %[[LR]] {momentum = 9.000000e-01 : f64}
// CHECK: train.sgd_update %[[G]], %[[DG]],
// CHECK: train.sgd_update %[[B]], %[[DB]],
// CHECK: train.sgd_update %[[FW]], %[[DFW]],
// CHECK: train.sgd_update %[[FB]], %[[DFB]],
// CHECK: %[[NEXT:.*]] = arith.addi %[[STEP]],
// State is stored after every load of the step.
// CHECK-NOT: ml_program.global_load
// CHECK: ml_program.global_store @conv1.weight = %[[NW]]
// CHECK: ml_program.global_store @conv1.weight.momentum = %[[NVW]]
// CHECK: ml_program.global_store @fc.bias.momentum
// CHECK: ml_program.global_store @bn1.running_mean = %[[RM]]
// CHECK: ml_program.global_store @bn1.running_var = %[[RV]]
// CHECK: ml_program.global_store @train.step = %[[NEXT]]
// CHECK: return %[[LOSS]] : tensor<f32>

// Inference: running statistics, no dropout, no state change.
// CHECK-LABEL: func.func @eval_step(
// CHECK-SAME: {onnx.name = "input"}) -> tensor<2x3xf32>
// CHECK-NOT: nn.batch_norm_train
// CHECK-NOT: nn.dropout
// CHECK: %[[ECONV:.*]] = nn.conv2d
// CHECK: nn.batch_norm_inference %[[ECONV]], %{{.*}}, %{{.*}}, %bn1.running_mean, %bn1.running_var
// CHECK-NOT: nn.dropout
// CHECK: nn.gemm
// CHECK-NOT: ml_program.global_store
// CHECK: return
module {
  ml_program.global private mutable @conv1.weight(dense<0.1> : tensor<4x1x3x3xf32>) : tensor<4x1x3x3xf32>
  ml_program.global private mutable @bn1.weight(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @bn1.bias(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @bn1.running_mean(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @bn1.running_var(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @fc.weight(dense<0.1> : tensor<3x16xf32>) : tensor<3x16xf32>
  ml_program.global private mutable @fc.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  func.func @forward(%x: tensor<2x1x4x4xf32> {onnx.name = "input"}) -> (tensor<2x3xf32> {onnx.name = "logits"}) {
    %w = ml_program.global_load @conv1.weight : tensor<4x1x3x3xf32>
    %g = ml_program.global_load @bn1.weight : tensor<4xf32>
    %b = ml_program.global_load @bn1.bias : tensor<4xf32>
    %rm = ml_program.global_load @bn1.running_mean : tensor<4xf32>
    %rv = ml_program.global_load @bn1.running_var : tensor<4xf32>
    %fw = ml_program.global_load @fc.weight : tensor<3x16xf32>
    %fb = ml_program.global_load @fc.bias : tensor<3xf32>
    %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x1x4x4xf32>, tensor<4x1x3x3xf32>
    %y, %m, %v, %bm, %bv = nn.batch_norm_train %0, %g, %b, %rm, %rv {epsilon = 1.0e-5 : f64, momentum = 0.9 : f64} : tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
    %1 = nn.relu %y : tensor<2x4x4x4xf32>
    %2 = nn.max_pool2d %1 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<2x4x4x4xf32>
    %3 = nn.flatten %2 {axis = 1 : i64} : tensor<2x4x2x2xf32>
    %k = arith.constant 0 : i64
    %4 = nn.dropout %3, %k {ratio = 0.5 : f64, seed = 3 : i64} : tensor<2x16xf32>
    %5 = nn.gemm %4, %fw, %fb {trans_b = true} : tensor<2x16xf32>, tensor<3x16xf32>, tensor<3xf32>
    return %5 : tensor<2x3xf32>
  }
}

// -----

// Fan-in: the relu output feeds the second convolution and the residual
// add, so its gradient is the sum of both; a global loaded twice gets one
// update with the sum of both uses' gradients. Inactive values: the input
// path (nn.relu_grad has no gradient rule, but only the image flows through
// it) and a parameter the loss does not depend on get no gradient code and
// no update.

// CHECK-NOT: @unused.momentum
// CHECK-LABEL: func.func @bp_step(
// CHECK-DAG: %[[W1:.*]] = ml_program.global_load @w1
// CHECK-DAG: %[[W2:.*]] = ml_program.global_load @w2
// CHECK-DAG: %[[S1:.*]] = ml_program.global_load @shared
// CHECK-DAG: %[[S2:.*]] = ml_program.global_load @shared
// CHECK: %[[XIN:.*]] = nn.relu_grad
// CHECK: %[[C1:.*]] = nn.conv2d %[[XIN]], %[[W1]]
// CHECK: %[[R:.*]] = nn.relu %[[C1]]
// CHECK: %[[C2:.*]] = nn.conv2d %[[R]], %[[W2]]
// CHECK: %[[SUM:.*]] = nn.add %[[C2]], %[[R]]
// CHECK: %[[MUL:.*]] = nn.mul %[[SUM]], %[[S1]]
// CHECK: train.softmax_cross_entropy_grad
// The gradient of the broadcast operands is summed over the broadcast axes.
// CHECK: %[[DS2SUM:.*]] = nn.reduce_sum %[[DADD:.*]] {axes = array<i64: 0, 2, 3>, keepdims = false}
// CHECK: %[[DS2:.*]] = nn.reshape %[[DS2SUM]] : tensor<2xf32> -> tensor<2x1x1xf32>
// CHECK: %[[DSUM:.*]] = nn.mul %[[DADD]], %[[S1]]
// CHECK: %[[DS1SUM:.*]] = nn.reduce_sum %{{.*}} {axes = array<i64: 0, 2, 3>, keepdims = false}
// CHECK: %[[DS1:.*]] = nn.reshape %[[DS1SUM]]
// CHECK: %[[DR:.*]] = nn.conv2d_input_grad %[[DSUM]], %[[W2]]
// CHECK: %[[DW2:.*]] = nn.conv2d_filter_grad %[[DSUM]], %[[R]]
// CHECK: %[[DRTOTAL:.*]] = nn.add %[[DSUM]], %[[DR]]
// CHECK: %[[DC1:.*]] = nn.relu_grad %[[DRTOTAL]], %[[R]]
// CHECK: %[[DW1:.*]] = nn.conv2d_filter_grad %[[DC1]], %[[XIN]]
// CHECK: %[[DSHARED:.*]] = nn.add %[[DS1]], %[[DS2]]
// CHECK-NOT: nn.conv2d_input_grad
// CHECK-NOT: %unused
// CHECK: train.sgd_update %[[W1]], %[[DW1]]
// CHECK: train.sgd_update %[[W2]], %[[DW2]]
// CHECK: train.sgd_update %[[S1]], %[[DSHARED]]
// CHECK-NOT: train.sgd_update
// CHECK-NOT: ml_program.global_store @unused
// CHECK: return
ml_program.global private mutable @w1(dense<0.1> : tensor<2x2x3x3xf32>) : tensor<2x2x3x3xf32>
ml_program.global private mutable @w2(dense<0.2> : tensor<2x2x3x3xf32>) : tensor<2x2x3x3xf32>
ml_program.global private mutable @shared(dense<0.5> : tensor<2x1x1xf32>) : tensor<2x1x1xf32>
ml_program.global private mutable @unused(dense<0.5> : tensor<3xf32>) : tensor<3xf32>
func.func @forward(%x: tensor<2x2x4x4xf32>) -> tensor<2x2xf32> {
  %w1 = ml_program.global_load @w1 : tensor<2x2x3x3xf32>
  %w2 = ml_program.global_load @w2 : tensor<2x2x3x3xf32>
  %s1 = ml_program.global_load @shared : tensor<2x1x1xf32>
  %s2 = ml_program.global_load @shared : tensor<2x1x1xf32>
  %u = ml_program.global_load @unused : tensor<3xf32>
  %dead = nn.relu %u : tensor<3xf32>
  %xin = nn.relu_grad %x, %x : tensor<2x2x4x4xf32>
  %0 = nn.conv2d %xin, %w1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x2x4x4xf32>, tensor<2x2x3x3xf32>
  %1 = nn.relu %0 : tensor<2x2x4x4xf32>
  %2 = nn.conv2d %1, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x2x4x4xf32>, tensor<2x2x3x3xf32>
  %3 = nn.add %2, %1 : tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>
  %4 = nn.mul %3, %s1 : tensor<2x2x4x4xf32>, tensor<2x1x1xf32>
  %5 = nn.add %4, %s2 : tensor<2x2x4x4xf32>, tensor<2x1x1xf32>
  %6 = nn.global_avg_pool %5 : tensor<2x2x4x4xf32>
  %7 = nn.reshape %6 : tensor<2x2x1x1xf32> -> tensor<2x2xf32>
  return %7 : tensor<2x2xf32>
}

// -----

// Gradients of slices: slices of @h along one axis that do not overlap get
// one nn.concat of their gradients, the rows no slice reads filled with
// zeros, instead of full-size zero-padded tensors added one by one; other
// contributions (the product with @h itself) are added to it. Slices that
// overlap (of @w) are padded and added.
// CHECK-LABEL: func.func @bp_step
// CHECK: %[[DH0:.*]] = nn.gemm %arg0, %{{.*}} {trans_a = true} : tensor<2x6xf32>, tensor<2x4xf32>
// CHECK-NEXT: %[[PB:.*]] = nn.pad %{{.*}} {pads = array<i64: 1, 0, 0, 0>} : tensor<2x4xf32>
// CHECK-NEXT: %[[PA:.*]] = nn.pad %{{.*}} {pads = array<i64: 0, 0, 1, 0>} : tensor<2x4xf32>
// CHECK-NEXT: %[[DW:.*]] = nn.add %[[PB]], %[[PA]] : tensor<3x4xf32>, tensor<3x4xf32>
// CHECK-NEXT: %[[GAP:.*]] = arith.constant dense<0.000000e+00> : tensor<1x4xf32>
// CHECK-NEXT: %[[CAT:.*]] = nn.concat %{{.*}}, %[[GAP]], %{{.*}} {axis = 0 : i64} : tensor<3x4xf32>, tensor<1x4xf32>, tensor<2x4xf32>
// CHECK-NEXT: %[[DH:.*]] = nn.add %[[CAT]], %[[DH0]] : tensor<6x4xf32>, tensor<6x4xf32>
// CHECK-NOT: nn.pad
// CHECK: train.sgd_update %h, %[[DH]]
// CHECK: train.sgd_update %w, %[[DW]]
ml_program.global private mutable @h(dense<0.1> : tensor<6x4xf32>) : tensor<6x4xf32>
ml_program.global private mutable @w(dense<0.2> : tensor<3x4xf32>) : tensor<3x4xf32>
func.func @forward(%x: tensor<2x6xf32>) -> tensor<2x9xf32> {
  %h = ml_program.global_load @h : tensor<6x4xf32>
  %w = ml_program.global_load @w : tensor<3x4xf32>
  %a = nn.slice %h {sizes = array<i64: 2, 4>, starts = array<i64: 4, 0>, steps = array<i64: 1, 1>} : tensor<6x4xf32>
  %b = nn.slice %h {sizes = array<i64: 3, 4>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<6x4xf32>
  %wa = nn.slice %w {sizes = array<i64: 2, 4>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<3x4xf32>
  %wb = nn.slice %w {sizes = array<i64: 2, 4>, starts = array<i64: 1, 0>, steps = array<i64: 1, 1>} : tensor<3x4xf32>
  %p = nn.gemm %x, %h : tensor<2x6xf32>, tensor<6x4xf32>
  %s = nn.gemm %p, %a {trans_b = true} : tensor<2x4xf32>, tensor<2x4xf32>
  %t = nn.gemm %p, %b {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>
  %q = nn.gemm %p, %wa {trans_b = true} : tensor<2x4xf32>, tensor<2x4xf32>
  %r = nn.gemm %p, %wb {trans_b = true} : tensor<2x4xf32>, tensor<2x4xf32>
  %o = nn.concat %s, %t, %q, %r {axis = 1 : i64} : tensor<2x2xf32>, tensor<2x3xf32>, tensor<2x2xf32>, tensor<2x2xf32>
  return %o : tensor<2x9xf32>
}
