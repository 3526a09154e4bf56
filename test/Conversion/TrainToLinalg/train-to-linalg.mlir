// RUN: adagp-opt %s --convert-train-to-linalg | FileCheck %s
// RUN: adagp-opt %s --convert-train-to-linalg | FileCheck %s --check-prefix=NOTRAIN

// Every train operation is lowered; nothing of the dialect is left.
// NOTRAIN-NOT: train.

// Cross-entropy: a stable log-sum-exp per row (row maximum, then the sum of
// exp(x - max)), minus the label's logit, averaged over the batch.
// CHECK-LABEL: func.func @cross_entropy(
// CHECK-SAME: %[[LOGITS:[^:]*]]: tensor<4x10xf32>, %[[LABELS:[^:]*]]: tensor<4xi64>, %[[G:[^:]*]]: tensor<f32>)
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MAXINIT:.*]] = linalg.fill ins(%[[NINF]] : f32)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[LOGITS]] : tensor<4x10xf32>) outs(%[[MAXINIT]] : tensor<4xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[LOGITS]], %{{.*}} : tensor<4x10xf32>, tensor<4x1xf32>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[LABELS]] : tensor<4x1xf32>, tensor<4x1xf32>, tensor<4xi64>)
// CHECK: %[[ROW:.*]] = linalg.index 0 : index
// CHECK: %[[COL:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK: tensor.extract %[[LOGITS]][%[[ROW]], %[[COL]]] : tensor<4x10xf32>
// CHECK: math.log
// CHECK: arith.constant 4.000000e+00 : f32
// CHECK: arith.divf
// The gradient: (softmax - one_hot(label)) * g / N.
// CHECK: linalg.generic {{.*}} ins(%[[LOGITS]], %{{.*}}, %{{.*}}, %[[LABELS]], %[[G]] : tensor<4x10xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4xi64>, tensor<f32>) outs(%{{.*}} : tensor<4x10xf32>)
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: linalg.index 1 : index
// CHECK: arith.cmpi eq
// CHECK: arith.select
// CHECK: arith.subf
// CHECK: arith.constant 4.000000e+00 : f32
// CHECK: return
func.func @cross_entropy(%logits: tensor<4x10xf32>, %labels: tensor<4xi64>, %g: tensor<f32>) -> (tensor<f32>, tensor<4x10xf32>) {
  %0 = train.softmax_cross_entropy %logits, %labels : tensor<4x10xf32>, tensor<4xi64> -> tensor<f32>
  %1 = train.softmax_cross_entropy_grad %logits, %labels, %g : tensor<4x10xf32>, tensor<4xi64>, tensor<f32>
  return %0, %1 : tensor<f32>, tensor<4x10xf32>
}

// MSE in f64: the mean of squared differences over all 12 elements; the
// gradient is g * 2 / 12 * (p - t).
// CHECK-LABEL: func.func @mse(
// CHECK: arith.subf {{.*}} : f64
// CHECK: arith.mulf {{.*}} : f64
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.constant 1.200000e+01 : f64
// CHECK: arith.constant 0.16666666666666666 : f64
func.func @mse(%p: tensor<4x3xf64>, %t: tensor<4x3xf64>, %g: tensor<f64>) -> (tensor<f64>, tensor<4x3xf64>) {
  %0 = train.mse_loss %p, %t : tensor<4x3xf64> -> tensor<f64>
  %1 = train.mse_loss_grad %p, %t, %g : tensor<4x3xf64>, tensor<f64>
  return %0, %1 : tensor<f64>, tensor<4x3xf64>
}

// SGD with weight decay and Nesterov momentum: one elementwise generic per
// result (new parameter, new velocity), on the parameter, gradient,
// velocity and the scalar learning rate.
// CHECK-LABEL: func.func @sgd(
// CHECK-SAME: %[[P:[^:]*]]: tensor<8x3xf32>, %[[GR:[^:]*]]: tensor<8x3xf32>, %[[V:[^:]*]]: tensor<8x3xf32>, %[[LR:[^:]*]]: tensor<f32>)
// CHECK: %[[NEWP:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[GR]], %[[V]], %[[LR]] : tensor<8x3xf32>, tensor<8x3xf32>, tensor<8x3xf32>, tensor<f32>)
// CHECK-NEXT: ^bb0(%[[PE:[^:]*]]: f32, %[[GE:[^:]*]]: f32, %[[VE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32,
// CHECK-NEXT: %[[WD:.*]] = arith.constant 5.000000e-04 : f32
// CHECK-NEXT: %[[DECAY:.*]] = arith.mulf %[[PE]], %[[WD]]
// CHECK-NEXT: %[[GD:.*]] = arith.addf %[[GE]], %[[DECAY]]
// CHECK-NEXT: %[[MU:.*]] = arith.constant 0.899999976 : f32
// CHECK-NEXT: %[[MV:.*]] = arith.mulf %[[VE]], %[[MU]]
// CHECK-NEXT: %[[VNEW:.*]] = arith.addf %[[MV]], %[[GD]]
// CHECK-NEXT: %[[MU2:.*]] = arith.constant 0.899999976 : f32
// CHECK-NEXT: %[[LOOK:.*]] = arith.mulf %[[VNEW]], %[[MU2]]
// CHECK-NEXT: %[[DIR:.*]] = arith.addf %[[GD]], %[[LOOK]]
// CHECK-NEXT: %[[STEP:.*]] = arith.mulf %[[LRE]], %[[DIR]]
// CHECK-NEXT: %[[PNEW:.*]] = arith.subf %[[PE]], %[[STEP]]
// CHECK-NEXT: linalg.yield %[[PNEW]] : f32
// CHECK: %[[NEWV:.*]] = linalg.generic
// CHECK: linalg.yield %[[VNEW2:.*]] : f32
// CHECK: return %[[NEWP]], %[[NEWV]]
func.func @sgd(%p: tensor<8x3xf32>, %g: tensor<8x3xf32>, %v: tensor<8x3xf32>, %lr: tensor<f32>) -> (tensor<8x3xf32>, tensor<8x3xf32>) {
  %0, %1 = train.sgd_update %p, %g, %v, %lr {momentum = 0.9, weight_decay = 5.0e-4, nesterov = true} : tensor<8x3xf32>, tensor<f32>
  return %0, %1 : tensor<8x3xf32>, tensor<8x3xf32>
}

// AdamW: the bias corrections 1 - beta^(step + 1) in f64 on the step
// counter, then one generic per result with the decoupled decay
// p * (1 - lr * wd).
// CHECK-LABEL: func.func @adamw(
// CHECK-SAME: %[[STEPC:[^:]*]]: tensor<i64>)
// CHECK: %[[BC1:.*]] = linalg.generic {{.*}} ins(%[[STEPC]] : tensor<i64>) outs(%{{.*}} : tensor<f64>)
// CHECK: arith.addi
// CHECK: arith.sitofp
// CHECK: arith.constant 9.000000e-01 : f64
// CHECK: math.powf
// CHECK: %[[BC2:.*]] = linalg.generic {{.*}} ins(%[[STEPC]] : tensor<i64>) outs(%{{.*}} : tensor<f64>)
// CHECK: arith.constant 0.99899999999999999 : f64
// CHECK: math.powf
// CHECK: linalg.generic {{.*}} ins({{.*}}, %[[BC1]], %[[BC2]] : {{.*}}, tensor<f64>, tensor<f64>) outs(%{{.*}} : tensor<5xf32>)
// CHECK: math.sqrt
// CHECK: arith.constant 0.00999999977 : f32
// CHECK: arith.subf
// CHECK: linalg.yield
// CHECK-COUNT-2: linalg.generic
// CHECK: return
func.func @adamw(%p: tensor<5xf32>, %g: tensor<5xf32>, %m: tensor<5xf32>, %v: tensor<5xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) {
  %0, %1, %2 = train.adam_update %p, %g, %m, %v, %lr, %step {beta1 = 0.9, beta2 = 0.999, epsilon = 1.0e-8, weight_decay = 0.01, decoupled = true} : tensor<5xf32>, tensor<f32>, tensor<i64>
  return %0, %1, %2 : tensor<5xf32>, tensor<5xf32>, tensor<5xf32>
}

// Learning-rate schedules: 0-d generics on the step counter, computed in
// f64 and truncated to the parameters' type.
// CHECK-LABEL: func.func @schedules(
// CHECK: linalg.generic
// CHECK: arith.constant 1.000000e-01 : f64
// CHECK: arith.truncf
// Step: base_lr * gamma^(step / step_size).
// CHECK: linalg.generic
// CHECK: arith.constant 10 : i64
// CHECK: arith.divsi
// CHECK: arith.constant 5.000000e-01 : f64
// CHECK: math.powf
// CHECK: arith.truncf
// Cosine: min_lr + (base_lr - min_lr) (1 + cos(pi min(step, T) / T)) / 2.
// CHECK: linalg.generic
// CHECK: arith.constant 100 : i64
// CHECK: arith.minsi
// CHECK: arith.constant 3.1415926535897931 : f64
// CHECK: math.cos
// CHECK: arith.constant 9.900000e-02 : f64
// CHECK: arith.constant 1.000000e-03 : f64
// CHECK: arith.truncf
func.func @schedules(%step: tensor<i64>) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %0 = train.lr_schedule %step {kind = "constant", base_lr = 0.1} : tensor<i64> -> tensor<f32>
  %1 = train.lr_schedule %step {kind = "step", base_lr = 0.1, gamma = 0.5, step_size = 10} : tensor<i64> -> tensor<f32>
  %2 = train.lr_schedule %step {kind = "cosine", base_lr = 0.1, min_lr = 0.001, total_steps = 100} : tensor<i64> -> tensor<f32>
  return %0, %1, %2 : tensor<f32>, tensor<f32>, tensor<f32>
}
