// The options of --train-build-step and the train operations they produce.

// RUN: adagp-opt %s --train-build-step="optimizer=adam lr=0.001 weight-decay=0.01" | FileCheck %s --check-prefix=ADAM
// RUN: adagp-opt %s --train-build-step="optimizer=adamw lr=0.002 weight-decay=0.05 beta1=0.8 beta2=0.99 epsilon=1e-6" | FileCheck %s --check-prefix=ADAMW
// RUN: adagp-opt %s --train-build-step="optimizer=sgd lr=0.1 momentum=0.9 nesterov=true weight-decay=5e-4 lr-schedule=step lr-step-size=30 lr-gamma=0.5" | FileCheck %s --check-prefix=NESTEROV
// RUN: adagp-opt %s --train-build-step="lr=0.1 lr-schedule=cosine lr-total-steps=100 lr-min=0.001" | FileCheck %s --check-prefix=COSINE
// RUN: adagp-opt %s --train-build-step="loss=mse" | FileCheck %s --check-prefix=MSE
// RUN: adagp-opt %s --train-build-step="dropout=false gradients-function=true" | FileCheck %s --check-prefix=GRADS

// Adam: two moment globals per parameter, the step counter for the bias
// correction, L2 weight decay (not decoupled).
// ADAM-DAG: ml_program.global private mutable @fc.weight.adam_m(dense<0.000000e+00> : tensor<3x4xf32>)
// ADAM-DAG: ml_program.global private mutable @fc.weight.adam_v(dense<0.000000e+00> : tensor<3x4xf32>)
// ADAM-DAG: ml_program.global private mutable @fc.bias.adam_m(dense<0.000000e+00> : tensor<3xf32>)
// ADAM-DAG: ml_program.global private mutable @fc.bias.adam_v(dense<0.000000e+00> : tensor<3xf32>)
// ADAM-NOT: momentum
// ADAM-LABEL: func.func @bp_step
// ADAM: %[[STEP:.*]] = ml_program.global_load @train.step
// ADAM: %[[LR:.*]] = train.lr_schedule %[[STEP]] {base_lr = 1.000000e-03 : f64, kind = "constant"}
// ADAM-DAG: %[[M:.*]] = ml_program.global_load @fc.weight.adam_m
// ADAM-DAG: %[[V:.*]] = ml_program.global_load @fc.weight.adam_v
// ADAM: %[[P:.*]], %[[NM:.*]], %[[NV:.*]] = train.adam_update %fc.weight, %{{.*}}, %[[M]], %[[V]], %[[LR]], %[[STEP]] {weight_decay = 1.000000e-02 : f64}
// ADAM: train.adam_update %fc.bias,
// ADAM: ml_program.global_store @fc.weight = %[[P]]
// ADAM: ml_program.global_store @fc.weight.adam_m = %[[NM]]
// ADAM: ml_program.global_store @fc.weight.adam_v = %[[NV]]
// ADAM-NOT: train.sgd_update

// AdamW: the same update with decoupled weight decay.
// ADAMW-LABEL: func.func @bp_step
// ADAMW: train.adam_update %fc.weight, {{.*}} {beta1 = 8.000000e-01 : f64, beta2 = 0.98999999999999999 : f64, decoupled = true, epsilon = 9.9999999999999995E-7 : f64, weight_decay = 5.000000e-02 : f64}
// ADAMW: train.adam_update %fc.bias, {{.*}} decoupled = true

// SGD with Nesterov momentum, weight decay and a step schedule.
// NESTEROV-DAG: ml_program.global private mutable @fc.weight.momentum(
// NESTEROV-DAG: ml_program.global private mutable @fc.bias.momentum(
// NESTEROV-LABEL: func.func @bp_step
// NESTEROV: %[[LR:.*]] = train.lr_schedule %{{.*}} {base_lr = 1.000000e-01 : f64, gamma = 5.000000e-01 : f64, kind = "step", step_size = 30 : i64}
// NESTEROV: train.sgd_update %fc.weight, %{{.*}}, %fc.weight.momentum, %[[LR]] {momentum = 9.000000e-01 : f64, nesterov = true, weight_decay = 5.000000e-04 : f64}
// NESTEROV: train.sgd_update %fc.bias, %{{.*}}, %fc.bias.momentum, %[[LR]] {momentum = 9.000000e-01 : f64, nesterov = true, weight_decay = 5.000000e-04 : f64}

// COSINE-LABEL: func.func @bp_step
// COSINE: train.lr_schedule %{{.*}} {base_lr = 1.000000e-01 : f64, kind = "cosine", min_lr = 1.000000e-03 : f64, total_steps = 100 : i64}

// loss=mse: float targets of the output's shape instead of integer labels.
// MSE-LABEL: func.func @bp_step(
// MSE-SAME: %{{.*}}: tensor<2x4xf32>, %[[T:.*]]: tensor<2x3xf32> {onnx.name = "labels"}) -> tensor<f32>
// MSE: %[[Y:.*]] = nn.dropout
// MSE: %[[LOSS:.*]] = train.mse_loss %[[Y]], %[[T]] : tensor<2x3xf32> -> tensor<f32>
// MSE: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// MSE: train.mse_loss_grad %[[Y]], %[[T]], %[[ONE]]
// MSE: return %[[LOSS]]

// dropout=false removes the dropout (here it produces the model's output);
// @gradients returns the loss and each parameter's gradient, names the
// parameters, and changes no state.
// GRADS-LABEL: func.func @bp_step
// GRADS-NOT: nn.dropout
// GRADS: %[[Y:.*]] = nn.gemm
// GRADS: train.softmax_cross_entropy %[[Y]],
// GRADS-LABEL: func.func @eval_step
// GRADS-LABEL: func.func @gradients(
// GRADS-SAME: -> (tensor<f32>, tensor<3x4xf32>, tensor<3xf32>) attributes {train.parameters = ["fc.weight", "fc.bias"]}
// GRADS-NOT: nn.dropout
// GRADS: %[[LOSS:.*]] = train.softmax_cross_entropy
// GRADS: %[[DY:.*]] = train.softmax_cross_entropy_grad
// GRADS: %[[DW:.*]] = nn.gemm %[[DY]], %{{.*}} {trans_a = true}
// GRADS: %[[DB:.*]] = nn.reduce_sum %[[DY]]
// GRADS-NOT: ml_program.global_store
// GRADS: return %[[LOSS]], %[[DW]], %[[DB]]

ml_program.global private mutable @fc.weight(dense<0.1> : tensor<3x4xf32>) : tensor<3x4xf32>
ml_program.global private mutable @fc.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
func.func @forward(%x: tensor<2x4xf32> {onnx.name = "input"}) -> (tensor<2x3xf32> {onnx.name = "logits"}) {
  %w = ml_program.global_load @fc.weight : tensor<3x4xf32>
  %b = ml_program.global_load @fc.bias : tensor<3xf32>
  %0 = nn.gemm %x, %w, %b {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>
  %k = arith.constant 0 : i64
  %1 = nn.dropout %0, %k {ratio = 0.25 : f64} : tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
