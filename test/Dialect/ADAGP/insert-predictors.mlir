// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" | FileCheck %s
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 batched-predictions=false" | FileCheck %s --check-prefix=PERLAYER
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 bias=predict baseline=none linear=freeze" | FileCheck %s --check-prefix=OPTS

// The shared predictor's parameters, its optimizer state and the ADA-GP
// state are globals: 2 predicted layers (conv: 4 channels x 9 weights,
// fc1: 8 channels x 64 weights) stack to 12 rows of width 64.
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.conv0.weight({{.*}}) : tensor<4x2x3x3xf32>
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.hidden.weight({{.*}}) : tensor<8x16xf32>
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.head.weight({{.*}}) : tensor<64x8xf32>
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.head.weight.adam_m(dense<0.000000e+00> : tensor<64x8xf32>)
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.baseline(dense<0.000000e+00> : tensor<12x64xf32>)
// CHECK-DAG: ml_program.global private mutable @adagp.scale(dense<0.000000e+00> : tensor<2xf32>)
// CHECK-DAG: ml_program.global private mutable @adagp.quality(

// @bp_step keeps its backward pass and, after it, trains the predictor on
// the reorganized true gradients.
// CHECK-LABEL: func.func @bp_step(
// CHECK: %[[CONV:.*]] = nn.conv2d %arg0, %conv.weight, %conv.bias
// CHECK: %[[FC1:.*]] = nn.gemm %{{.*}}, %fc1.weight, %fc1.bias {trans_b = true}
// CHECK: %[[DCONV:.*]] = nn.conv2d_filter_grad
// CHECK: train.sgd_update %conv.weight, %[[DCONV]]
// Samples: the batch-averaged, pooled output channels plus a layer-code
// plane; targets: the filter gradients, one row per output channel, over
// their RMS.
// CHECK: %[[S1:.*]] = adagp.reorganize %[[CONV]] {pooled_size = 2 : i64} : tensor<2x4x4x4xf32> -> tensor<4x1x2x2xf32>
// CHECK: nn.concat %[[S1]], %{{.*}} {axis = 1 : i64} : tensor<4x1x2x2xf32>, tensor<4x1x2x2xf32>
// CHECK: adagp.reorganize_gradient %[[DCONV]] : tensor<4x1x3x3xf32> -> tensor<4x64xf32>
// CHECK: %[[S2:.*]] = adagp.reorganize %[[FC1]] {pooled_size = 2 : i64} : tensor<2x8xf32> -> tensor<8x1x2x2xf32>
// CHECK: adagp.reorganize_gradient %{{.*}} : tensor<8x64xf32> -> tensor<8x64xf32>
// CHECK: %[[X:.*]] = nn.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<4x2x2x2xf32>, tensor<8x2x2x2xf32>
// CHECK: %[[T:.*]] = nn.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<4x64xf32>, tensor<8x64xf32>
// The predictor: conv + relu, flatten, hidden gemm + relu, head gemm, plus
// the per-row running mean, masked to each layer's filter size.
// CHECK: nn.conv2d %[[X]], %adagp.predictor.conv0.weight
// CHECK: nn.gemm %{{.*}}, %adagp.predictor.hidden.weight
// CHECK: %[[NET:.*]] = nn.gemm %{{.*}}, %adagp.predictor.head.weight
// CHECK: %[[BASE:.*]] = ml_program.global_load @adagp.predictor.baseline
// CHECK: %[[SUM:.*]] = nn.add %[[NET]], %[[BASE]]
// CHECK: %[[PRED:.*]] = nn.mul %[[SUM]], %{{.*}} : tensor<12x64xf32>, tensor<12x64xf32>
// CHECK: %[[PLOSS:.*]] = train.mse_loss %[[PRED]], %[[T]]
// Its own backward pass (no gradient into the model) and Adam updates.
// CHECK: train.mse_loss_grad %[[PRED]], %[[T]]
// CHECK-NOT: nn.conv2d_input_grad
// CHECK: nn.conv2d_filter_grad %{{.*}}, %[[X]]
// CHECK: train.adam_update %adagp.predictor.conv0.weight
// CHECK: train.adam_update %adagp.predictor.head.bias
// CHECK: ml_program.global_store @adagp.predictor.head.weight =
// CHECK: ml_program.global_store @adagp.predictor.step =
// CHECK: ml_program.global_store @adagp.scale =
// CHECK: ml_program.global_store @adagp.predictor.baseline =
// CHECK: ml_program.global_store @adagp.quality =
// CHECK: ml_program.global_store @adagp.predictor_loss = %[[PLOSS]]
// CHECK: return

// @gp_step: the forward pass; the reorganized output of each predicted
// layer is kept (not its activations); one predictor call for all layers
// after the forward pass; each layer's rows mapped back onto its weight
// gradient and applied by the model's optimizer; no backward pass except the
// head's exact gradient from the loss.
// CHECK-LABEL: func.func @gp_step(
// CHECK: %[[GCONV:.*]] = nn.conv2d %arg0, %conv.weight, %conv.bias
// CHECK-NEXT: %[[GS1:.*]] = adagp.reorganize %[[GCONV]]
// CHECK: %[[GX1:.*]] = nn.concat %[[GS1]], %{{.*}} {axis = 1 : i64}
// CHECK: %[[GFC1:.*]] = nn.gemm %{{.*}}, %fc1.weight, %fc1.bias
// CHECK-NEXT: %[[GS2:.*]] = adagp.reorganize %[[GFC1]]
// CHECK: %[[GX2:.*]] = nn.concat %[[GS2]], %{{.*}} {axis = 1 : i64}
// CHECK: %[[LOGITS:.*]] = nn.gemm %{{.*}}, %fc2.weight, %fc2.bias
// CHECK: %[[GX:.*]] = nn.concat %[[GX1]], %[[GX2]] {axis = 0 : i64} : tensor<4x2x2x2xf32>, tensor<8x2x2x2xf32>
// CHECK: nn.conv2d %[[GX]], %adagp.predictor.conv0.weight
// CHECK: %[[GNET:.*]] = nn.gemm %{{.*}}, %adagp.predictor.head.weight
// CHECK: %[[GROWS:.*]] = nn.add %[[GNET]], %adagp.predictor.baseline{{.*}} : tensor<12x64xf32>, tensor<12x64xf32>
// CHECK: %[[R1:.*]] = nn.slice %[[GROWS]] {sizes = array<i64: 4, 64>, starts = array<i64: 0, 0>
// CHECK: %[[G1:.*]] = adagp.expand_prediction %[[R1]], %{{.*}} : tensor<4x64xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
// CHECK: train.sgd_update %conv.weight, %[[G1]], %conv.weight.momentum
// CHECK: %[[R2:.*]] = nn.slice %[[GROWS]] {sizes = array<i64: 8, 64>, starts = array<i64: 4, 0>
// CHECK: %[[G2:.*]] = adagp.expand_prediction %[[R2]], %{{.*}} : tensor<8x64xf32>, tensor<f32> -> tensor<8x64xf32>
// CHECK: train.sgd_update %fc1.weight, %[[G2]], %fc1.weight.momentum
// CHECK: %[[LOSS:.*]] = train.softmax_cross_entropy %[[LOGITS]], %arg1
// CHECK: train.softmax_cross_entropy_grad
// CHECK-NOT: nn.conv2d_filter_grad
// CHECK-NOT: nn.conv2d_input_grad
// CHECK: train.sgd_update %fc2.weight,
// CHECK: train.sgd_update %fc2.bias,
// Biases of predicted layers are frozen by default.
// CHECK-NOT: global_store @conv.bias
// CHECK: ml_program.global_store @conv.weight =
// CHECK-NOT: global_store @conv.bias
// CHECK: ml_program.global_store @train.step =
// CHECK: return %[[LOSS]]
// The schedule that --adagp-lower-schedule lowers.
// CHECK: adagp.schedule {{{.*}}bp_step = @bp_step, {{.*}}gp_step = @gp_step, {{.*}}policy = "adaptive", quality = @adagp.quality, unit = "batch", warmup_epochs = 1 : i64}

// With bias=predict the predictor has one more output column; without a
// baseline there is no running mean; with linear=freeze only the
// convolution is predicted.
// OPTS-NOT: @adagp.predictor.baseline
// OPTS: ml_program.global private mutable @adagp.predictor.head.weight({{.*}}) : tensor<10x8xf32>
// OPTS: ml_program.global private mutable @adagp.bias_scale(
// OPTS-LABEL: func.func @gp_step(
// OPTS: adagp.expand_prediction %{{.*}}, %{{.*}} : tensor<4x9xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
// OPTS: train.sgd_update %conv.bias,
// OPTS-NOT: adagp.expand_prediction
// OPTS: return

// batched-predictions=false: each predicted layer is updated right after it
// ran, with a predictor call of its own.
// PERLAYER-LABEL: func.func @gp_step(
// PERLAYER: %[[C:.*]] = nn.conv2d %arg0, %conv.weight, %conv.bias
// PERLAYER-NEXT: adagp.reorganize %[[C]]
// PERLAYER: nn.gemm %{{.*}}, %adagp.predictor.head.weight
// PERLAYER: nn.slice %adagp.predictor.baseline{{.*}} {sizes = array<i64: 4, 64>, starts = array<i64: 0, 0>
// PERLAYER: adagp.expand_prediction %{{.*}} : tensor<4x64xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
// PERLAYER: train.sgd_update %conv.weight,
// PERLAYER: %[[F:.*]] = nn.gemm %{{.*}}, %fc1.weight, %fc1.bias
// PERLAYER-NEXT: adagp.reorganize %[[F]]
// PERLAYER: nn.gemm %{{.*}}, %adagp.predictor.head.weight
// PERLAYER: nn.slice %adagp.predictor.baseline{{.*}} {sizes = array<i64: 8, 64>, starts = array<i64: 4, 0>
// PERLAYER: train.sgd_update %fc1.weight,
// PERLAYER: nn.gemm %{{.*}}, %fc2.weight, %fc2.bias
