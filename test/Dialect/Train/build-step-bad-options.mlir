// Bad options of --train-build-step: a clear error naming the option and
// the value, exit status 1, nothing built.

// RUN: not adagp-opt %s --train-build-step="optimizer=rmsprop" 2>&1 | FileCheck %s --check-prefix=OPTIMIZER
// OPTIMIZER: error: --train-build-step: option 'optimizer' must be sgd, adam or adamw, got 'rmsprop'
// RUN: not adagp-opt %s --train-build-step="loss=hinge" 2>&1 | FileCheck %s --check-prefix=LOSS
// LOSS: error: --train-build-step: option 'loss' must be cross-entropy or mse, got 'hinge'
// RUN: not adagp-opt %s --train-build-step="lr=-0.1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE-LR
// NEGATIVE-LR: error: --train-build-step: option 'lr' must be positive, got -1.000000e-01
// RUN: not adagp-opt %s --train-build-step="lr=0" 2>&1 | FileCheck %s --check-prefix=ZERO-LR
// ZERO-LR: error: --train-build-step: option 'lr' must be positive, got 0.000000e+00
// RUN: not adagp-opt %s --train-build-step="lr=abc" 2>&1 | FileCheck %s --check-prefix=NOT-A-NUMBER
// NOT-A-NUMBER: 'abc' value invalid for floating point argument
// RUN: not adagp-opt %s --train-build-step="momentum=1.5" 2>&1 | FileCheck %s --check-prefix=MOMENTUM
// MOMENTUM: error: --train-build-step: option 'momentum' must be in [0, 1], got 1.500000e+00
// RUN: not adagp-opt %s --train-build-step="nesterov=true" 2>&1 | FileCheck %s --check-prefix=NESTEROV
// NESTEROV: error: --train-build-step: option 'nesterov' needs a non-zero 'momentum'
// RUN: not adagp-opt %s --train-build-step="weight-decay=-1e-4" 2>&1 | FileCheck %s --check-prefix=DECAY
// DECAY: error: --train-build-step: option 'weight-decay' must be non-negative, got -1.000000e-04
// RUN: not adagp-opt %s --train-build-step="optimizer=adam beta2=1" 2>&1 | FileCheck %s --check-prefix=BETA
// BETA: error: --train-build-step: options 'beta1' and 'beta2' must be in [0, 1)
// RUN: not adagp-opt %s --train-build-step="optimizer=adam epsilon=0" 2>&1 | FileCheck %s --check-prefix=EPSILON
// EPSILON: error: --train-build-step: option 'epsilon' must be positive
// RUN: not adagp-opt %s --train-build-step="lr-schedule=linear" 2>&1 | FileCheck %s --check-prefix=SCHEDULE
// SCHEDULE: error: --train-build-step: option 'lr-schedule' must be constant, step or cosine, got 'linear'
// RUN: not adagp-opt %s --train-build-step="lr-schedule=step lr-step-size=0" 2>&1 | FileCheck %s --check-prefix=STEP-SIZE
// STEP-SIZE: error: --train-build-step: options 'lr-step-size' and 'lr-total-steps' must be positive
// RUN: not adagp-opt %s --train-build-step="function=main" 2>&1 | FileCheck %s --check-prefix=FUNCTION
// FUNCTION: error: --train-build-step: no function @main to train
// RUN: not adagp-opt %s --train-build-step="learning-rate=0.1" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: no such option learning-rate

// No training function is built.
// RUN: not adagp-opt %s --train-build-step="optimizer=rmsprop" --mlir-print-ir-after-failure 2>&1 | FileCheck %s --check-prefix=UNCHANGED
// UNCHANGED: IR Dump After TrainBuildStep Failed
// UNCHANGED-NOT: @bp_step

ml_program.global private mutable @w(dense<0.1> : tensor<3x4xf32>) : tensor<3x4xf32>
func.func @forward(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = ml_program.global_load @w : tensor<3x4xf32>
  %0 = nn.gemm %x, %w {trans_b = true} : tensor<2x4xf32>, tensor<3x4xf32>
  return %0 : tensor<2x3xf32>
}
