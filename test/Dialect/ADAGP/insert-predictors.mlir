// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" | FileCheck %s
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" | FileCheck %s --check-prefix=NOPAD
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 batched-predictions=false" | FileCheck %s --check-prefix=PERLAYER
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 bias=predict baseline=none linear=freeze" | FileCheck %s --check-prefix=OPTS
// RUN: adagp-opt %S/Inputs/grouped-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 bias=predict" | FileCheck %s --check-prefix=GROUPS
// RUN: adagp-opt %S/Inputs/grouped-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 bias=predict batched-predictions=false" | FileCheck %s --check-prefix=GPERLAYER
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 gp-gradient=baseline" | FileCheck %s --check-prefix=ABLATE
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 gp-gradient=zero" | FileCheck %s --check-prefix=ZERO
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 bias=predict gp-gradient-scale=0.5" | FileCheck %s --check-prefix=GSCALE
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8 trunk-form=conv" | FileCheck %s --check-prefix=TRUNKCONV

// The shared predictor's parameters, its optimizer state and the ADA-GP
// state are globals. 2 predicted layers: conv (4 channels x 9 weights) and
// fc1 (8 channels x 64 weights). The head is as wide as the largest filter
// (64); each group of layers with the same filter size has its own running
// mean, as wide as its filter.
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.conv0.weight({{.*}}) : tensor<4x18xf32>
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.hidden.weight({{.*}}) : tensor<8x16xf32>
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.head.weight({{.*}}) : tensor<64x8xf32>
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.head.weight.adam_m(dense<0.000000e+00> : tensor<64x8xf32>)
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.baseline.fs9(dense<0.000000e+00> : tensor<4x9xf32>)
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.baseline.fs64(dense<0.000000e+00> : tensor<8x64xf32>)
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
// plane; targets: the filter gradients, one row per output channel, exactly
// as wide as the filter, over their RMS.
// CHECK: %[[S1:.*]] = adagp.reorganize %[[CONV]] {pooled_size = 2 : i64} : tensor<2x4x4x4xf32> -> tensor<4x1x2x2xf32>
// CHECK: nn.concat %[[S1]], %{{.*}} {axis = 1 : i64} : tensor<4x1x2x2xf32>, tensor<4x1x2x2xf32>
// CHECK: %[[RG1:.*]] = adagp.reorganize_gradient %[[DCONV]] : tensor<4x1x3x3xf32> -> tensor<4x9xf32>
// CHECK: %[[T1:.*]] = nn.div %[[RG1]], %{{.*}} : tensor<4x9xf32>, tensor<f32>
// CHECK: %[[S2:.*]] = adagp.reorganize %[[FC1]] {pooled_size = 2 : i64} : tensor<2x8xf32> -> tensor<8x1x2x2xf32>
// CHECK: %[[RG2:.*]] = adagp.reorganize_gradient %{{.*}} : tensor<8x64xf32> -> tensor<8x64xf32>
// CHECK: %[[T2:.*]] = nn.div %[[RG2]], %{{.*}} : tensor<8x64xf32>, tensor<f32>
// CHECK: %[[X:.*]] = nn.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<4x2x2x2xf32>, tensor<8x2x2x2xf32>
// The shared trunk: conv + relu, flatten, hidden gemm + relu, on all rows.
// The 3x3 convolution (trunk-form=auto: a matrix product at this pooled
// size): the filter [4, 2*9] times the 0/1 unfolding of the taps [9, 4*4]
// gives TM [2*4 (input channel, pixel), 4*4 (output channel, pixel)]; the
// samples [12, 2*4] times TM, plus the bias on each pixel.
// CHECK: %[[U:.*]] = arith.constant dense<"0x{{[0-9A-F]+}}"> : tensor<9x16xf32>
// CHECK: %[[XF:.*]] = nn.reshape %[[X]] : tensor<12x2x2x2xf32> -> tensor<12x8xf32>
// CHECK: %[[W3:.*]] = nn.reshape %adagp.predictor.conv0.weight : tensor<4x18xf32> -> tensor<4x2x9xf32>
// CHECK: %[[M:.*]] = nn.matmul %[[W3]], %[[U]] : tensor<4x2x9xf32>, tensor<9x16xf32>
// CHECK: %[[MR:.*]] = nn.reshape %[[M]] : tensor<4x2x16xf32> -> tensor<4x8x4xf32>
// CHECK: %[[MT:.*]] = nn.transpose %[[MR]] {permutation = array<i64: 1, 0, 2>}
// CHECK: %[[TM:.*]] = nn.reshape %[[MT]] : tensor<8x4x4xf32> -> tensor<8x16xf32>
// CHECK: %[[Y:.*]] = nn.gemm %[[XF]], %[[TM]], %{{.*}} : tensor<12x8xf32>, tensor<8x16xf32>, tensor<16xf32>
// CHECK: nn.relu %[[Y]] : tensor<12x16xf32>
// CHECK: nn.gemm %{{.*}}, %adagp.predictor.hidden.weight
// CHECK: %[[H:.*]] = nn.relu %{{.*}} : tensor<12x8xf32>
// The head per group: the conv's rows of the hidden features through the
// first 9 rows of the head's weight and bias, plus the group's running
// mean: [4, 9].
// CHECK: %[[H1:.*]] = nn.slice %[[H]] {sizes = array<i64: 4, 8>, starts = array<i64: 0, 0>
// CHECK: %[[W1:.*]] = nn.slice %adagp.predictor.head.weight {sizes = array<i64: 9, 8>, starts = array<i64: 0, 0>
// CHECK: %[[B1:.*]] = nn.slice %adagp.predictor.head.bias {sizes = array<i64: 9>, starts = array<i64: 0>
// CHECK: %[[N1:.*]] = nn.gemm %[[H1]], %[[W1]], %[[B1]] {trans_b = true} : tensor<4x8xf32>, tensor<9x8xf32>, tensor<9xf32>
// CHECK: %[[P1:.*]] = nn.add %[[N1]], %adagp.predictor.baseline.fs9 : tensor<4x9xf32>, tensor<4x9xf32>
// fc1's filter is the widest: all of the head.
// CHECK: %[[H2:.*]] = nn.slice %[[H]] {sizes = array<i64: 8, 8>, starts = array<i64: 4, 0>
// CHECK: %[[N2:.*]] = nn.gemm %[[H2]], %adagp.predictor.head.weight, %adagp.predictor.head.bias {trans_b = true} : tensor<8x8xf32>, tensor<64x8xf32>, tensor<64xf32>
// CHECK: %[[P2:.*]] = nn.add %[[N2]], %adagp.predictor.baseline.fs64 : tensor<8x64xf32>, tensor<8x64xf32>
// One loss over the 36 + 512 real entries: each group's MSE weighted by its
// share of them (36/548 and 512/548), no concatenation.
// CHECK-NOT: nn.concat
// CHECK: %[[M1:.*]] = train.mse_loss %[[P1]], %[[T1]] : tensor<4x9xf32> -> tensor<f32>
// CHECK: %[[SHARE1:.*]] = arith.constant dense<0.0656934306> : tensor<f32>
// CHECK: %[[L1:.*]] = nn.mul %[[SHARE1]], %[[M1]]
// CHECK: %[[M2:.*]] = train.mse_loss %[[P2]], %[[T2]] : tensor<8x64xf32> -> tensor<f32>
// CHECK: %[[SHARE2:.*]] = arith.constant dense<0.934306561> : tensor<f32>
// CHECK: %[[L2:.*]] = nn.mul %[[SHARE2]], %[[M2]]
// CHECK: %[[PLOSS:.*]] = nn.add %[[L1]], %[[L2]] : tensor<f32>, tensor<f32>
// Quality: per group the row sums of p*t, p*p and t*t stacked as [3, rows],
// then per layer the sums of its rows (conv: rows 0-3, fc1: rows 4-11),
// the cosine, the mean over the layers. No segment matrix.
// CHECK: nn.mul %[[P1]], %[[T1]] : tensor<4x9xf32>, tensor<4x9xf32>
// CHECK: nn.reduce_sum %{{.*}} {axes = array<i64: 1>, keepdims = false} : tensor<4x9xf32>
// CHECK: nn.concat %{{.*}}, %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>
// CHECK: nn.mul %[[P2]], %[[T2]] : tensor<8x64xf32>, tensor<8x64xf32>
// CHECK: %[[SUMS:.*]] = nn.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : tensor<3x4xf32>, tensor<3x8xf32>
// CHECK: %[[L1:.*]] = nn.slice %[[SUMS]] {sizes = array<i64: 3, 4>, starts = array<i64: 0, 0>
// CHECK: nn.reduce_sum %[[L1]] {axes = array<i64: 1>} : tensor<3x4xf32>
// CHECK: %[[L2:.*]] = nn.slice %[[SUMS]] {sizes = array<i64: 3, 8>, starts = array<i64: 0, 4>
// CHECK: nn.reduce_sum %[[L2]] {axes = array<i64: 1>} : tensor<3x8xf32>
// CHECK: %[[COS:.*]] = nn.div %{{.*}}, %{{.*}} : tensor<1x2xf32>, tensor<1x2xf32>
// CHECK: %[[QUALITY:.*]] = nn.reduce_mean %[[COS]] {axes = array<i64: 0, 1>, keepdims = false} : tensor<1x2xf32>
// Its own backward pass (no gradient into the model) and Adam updates: the
// head's weight gets the gradients of both groups, the conv group's padded
// to the head's 64 rows.
// CHECK: train.mse_loss_grad %[[P2]], %[[T2]], %{{.*}} : tensor<8x64xf32>
// CHECK: train.mse_loss_grad %[[P1]], %[[T1]], %{{.*}} : tensor<4x9xf32>
// CHECK-NOT: nn.conv2d_input_grad
// CHECK: nn.pad %{{.*}} {pads = array<i64: 0, 0, 55, 0>} : tensor<9x8xf32>
// The filter's gradient: samples^T x output gradient, folded back through
// the unfolding.
// CHECK: nn.gemm %[[XF]], %{{.*}} {trans_a = true} : tensor<12x8xf32>, tensor<12x16xf32>
// CHECK: nn.matmul %{{.*}}, %{{.*}} : tensor<4x2x16xf32>, tensor<16x9xf32>
// CHECK: train.adam_update %adagp.predictor.conv0.weight
// CHECK: train.adam_update %adagp.predictor.head.weight
// CHECK: train.adam_update %adagp.predictor.head.bias
// CHECK: ml_program.global_store @adagp.predictor.head.weight =
// CHECK: ml_program.global_store @adagp.predictor.step =
// CHECK: ml_program.global_store @adagp.scale =
// CHECK: ml_program.global_store @adagp.predictor.baseline.fs9 =
// CHECK: ml_program.global_store @adagp.predictor.baseline.fs64 =
// CHECK: ml_program.global_store @adagp.quality = %[[QUALITY]]
// CHECK: ml_program.global_store @adagp.predictor_loss = %[[PLOSS]]
// CHECK: return

// @gp_step: the forward pass; the reorganized output of each predicted
// layer is kept (not its activations); one trunk call for all layers after
// the forward pass, then each group's head; each layer's rows mapped back
// onto its weight gradient and applied by the model's optimizer; no
// backward pass except the head's exact gradient from the loss.
// CHECK-LABEL: func.func @gp_step(
// CHECK: %[[GCONV:.*]] = nn.conv2d %arg0, %conv.weight, %conv.bias
// CHECK-NEXT: %[[GS1:.*]] = adagp.reorganize %[[GCONV]]
// CHECK: %[[GX1:.*]] = nn.concat %[[GS1]], %{{.*}} {axis = 1 : i64}
// CHECK: %[[GFC1:.*]] = nn.gemm %{{.*}}, %fc1.weight, %fc1.bias
// CHECK-NEXT: %[[GS2:.*]] = adagp.reorganize %[[GFC1]]
// CHECK: %[[GX2:.*]] = nn.concat %[[GS2]], %{{.*}} {axis = 1 : i64}
// CHECK: %[[LOGITS:.*]] = nn.gemm %{{.*}}, %fc2.weight, %fc2.bias
// CHECK: %[[GX:.*]] = nn.concat %[[GX1]], %[[GX2]] {axis = 0 : i64} : tensor<4x2x2x2xf32>, tensor<8x2x2x2xf32>
// CHECK: %[[GXF:.*]] = nn.reshape %[[GX]] : tensor<12x2x2x2xf32> -> tensor<12x8xf32>
// CHECK: nn.gemm %[[GXF]], %{{.*}}, %{{.*}} : tensor<12x8xf32>, tensor<8x16xf32>, tensor<16xf32>
// CHECK: %[[GH:.*]] = nn.relu %{{.*}} : tensor<12x8xf32>
// CHECK: %[[GH1:.*]] = nn.slice %[[GH]] {sizes = array<i64: 4, 8>, starts = array<i64: 0, 0>
// CHECK: %[[GW1:.*]] = nn.slice %adagp.predictor.head.weight {sizes = array<i64: 9, 8>
// CHECK: %[[GN1:.*]] = nn.gemm %[[GH1]], %[[GW1]], %{{.*}} {trans_b = true} : tensor<4x8xf32>, tensor<9x8xf32>, tensor<9xf32>
// CHECK: %[[R1:.*]] = nn.add %[[GN1]], %adagp.predictor.baseline.fs9 : tensor<4x9xf32>, tensor<4x9xf32>
// CHECK: %[[G1:.*]] = adagp.expand_prediction %[[R1]], %{{.*}} : tensor<4x9xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
// CHECK: train.sgd_update %conv.weight, %[[G1]], %conv.weight.momentum
// CHECK: %[[GH2:.*]] = nn.slice %[[GH]] {sizes = array<i64: 8, 8>, starts = array<i64: 4, 0>
// CHECK: %[[GN2:.*]] = nn.gemm %[[GH2]], %adagp.predictor.head.weight, %adagp.predictor.head.bias
// CHECK: %[[R2:.*]] = nn.add %[[GN2]], %adagp.predictor.baseline.fs64 : tensor<8x64xf32>, tensor<8x64xf32>
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

// Nothing is padded to the widest filter any more: no [12, 64] mask or
// running mean, no [2, 12] segment matrix, no target wider than its filter.
// NOPAD-NOT: tensor<12x64xf32>
// NOPAD-NOT: tensor<2x12xf32>
// NOPAD-NOT: tensor<4x64xf32>
// NOPAD-NOT: @adagp.predictor.baseline(

// With bias=predict the biases have a head of their own (after the other
// parameters); without a baseline there is no running mean; with
// linear=freeze only the convolution is predicted, so the head is just as
// wide as its filter.
// OPTS-NOT: @adagp.predictor.baseline
// OPTS: ml_program.global private mutable @adagp.predictor.head.weight({{.*}}) : tensor<9x8xf32>
// OPTS-NEXT: ml_program.global private mutable @adagp.predictor.head.bias({{.*}}) : tensor<9xf32>
// OPTS-NEXT: ml_program.global private mutable @adagp.predictor.bias_head.weight({{.*}}) : tensor<1x8xf32>
// OPTS-NEXT: ml_program.global private mutable @adagp.predictor.bias_head.bias({{.*}}) : tensor<1xf32>
// OPTS: ml_program.global private mutable @adagp.bias_scale(
// OPTS-LABEL: func.func @bp_step(
// The loss over the 36 weight and 4 bias entries.
// OPTS: train.mse_loss %{{.*}}, %{{.*}} : tensor<4x9xf32>
// OPTS: arith.constant dense<0.899999976> : tensor<f32>
// OPTS: train.mse_loss %{{.*}}, %{{.*}} : tensor<4xf32>
// OPTS: arith.constant dense<1.000000e-01> : tensor<f32>
// OPTS: train.adam_update %adagp.predictor.bias_head.weight
// OPTS: train.adam_update %adagp.predictor.bias_head.bias
// OPTS-LABEL: func.func @gp_step(
// OPTS: %[[OH:.*]] = nn.relu %{{.*}} : tensor<4x8xf32>
// OPTS: %[[OB:.*]] = nn.gemm %[[OH]], %adagp.predictor.bias_head.weight, %adagp.predictor.bias_head.bias {trans_b = true} : tensor<4x8xf32>, tensor<1x8xf32>, tensor<1xf32>
// OPTS: %[[ON:.*]] = nn.gemm %[[OH]], %adagp.predictor.head.weight, %adagp.predictor.head.bias
// OPTS: nn.reshape %[[OB]] : tensor<4x1xf32> -> tensor<4xf32>
// OPTS: adagp.expand_prediction %[[ON]], %{{.*}} : tensor<4x9xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
// OPTS: train.sgd_update %conv.bias,
// OPTS-NOT: adagp.expand_prediction
// OPTS: return

// batched-predictions=false: each predicted layer is updated right after it
// ran, with a predictor call of its own: the trunk on its samples, the head
// of its filter size, its rows of the group's running mean.
// PERLAYER-LABEL: func.func @gp_step(
// PERLAYER: %[[C:.*]] = nn.conv2d %arg0, %conv.weight, %conv.bias
// PERLAYER-NEXT: adagp.reorganize %[[C]]
// PERLAYER: nn.gemm %{{.*}}, %adagp.predictor.hidden.weight{{[_0-9]*}}, {{.*}} : tensor<4x16xf32>
// PERLAYER: nn.slice %adagp.predictor.head.weight{{[_0-9]*}} {sizes = array<i64: 9, 8>
// PERLAYER: nn.add %{{.*}}, %adagp.predictor.baseline.fs9{{[_0-9]*}} : tensor<4x9xf32>, tensor<4x9xf32>
// PERLAYER: adagp.expand_prediction %{{.*}} : tensor<4x9xf32>, tensor<f32> -> tensor<4x1x3x3xf32>
// PERLAYER: train.sgd_update %conv.weight,
// PERLAYER: %[[F:.*]] = nn.gemm %{{.*}}, %fc1.weight, %fc1.bias
// PERLAYER-NEXT: adagp.reorganize %[[F]]
// PERLAYER: nn.gemm %{{.*}}, %adagp.predictor.hidden.weight{{[_0-9]*}}, {{.*}} : tensor<8x16xf32>
// PERLAYER: nn.gemm %{{.*}}, %adagp.predictor.head.weight{{[_0-9]*}}, %adagp.predictor.head.bias
// PERLAYER: nn.add %{{.*}}, %adagp.predictor.baseline.fs64{{[_0-9]*}} : tensor<8x64xf32>, tensor<8x64xf32>
// PERLAYER: train.sgd_update %fc1.weight,
// PERLAYER: nn.gemm %{{.*}}, %fc2.weight, %fc2.bias

// Layers with the same filter size share a head slice: groups in the order
// of their first layer, 9 (conv1: rows 0-3, fc2: rows 4-11), 36 (conv2:
// rows 12-15, conv3: rows 16-19), 64 (fc1: rows 20-28). The samples are
// stacked group by group. conv2 has no bias: 25 bias entries are predicted.
// GROUPS: @adagp.predictor.head.weight({{.*}}) : tensor<64x8xf32>
// GROUPS: @adagp.predictor.bias_head.weight({{.*}}) : tensor<1x8xf32>
// GROUPS: @adagp.predictor.baseline.fs9(dense<0.000000e+00> : tensor<12x9xf32>)
// GROUPS-NEXT: @adagp.predictor.baseline.fs36(dense<0.000000e+00> : tensor<8x36xf32>)
// GROUPS-NEXT: @adagp.predictor.baseline.fs64(dense<0.000000e+00> : tensor<9x64xf32>)
// GROUPS-NEXT: @adagp.predictor.baseline.bias(dense<0.000000e+00> : tensor<25xf32>)
// GROUPS-LABEL: func.func @bp_step(
// GROUPS: %[[X:.*]] = nn.concat %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<4x2x2x2xf32>, tensor<8x2x2x2xf32>, tensor<4x2x2x2xf32>, tensor<4x2x2x2xf32>, tensor<9x2x2x2xf32>
// GROUPS: %[[H:.*]] = nn.relu %{{.*}} : tensor<29x8xf32>
// GROUPS: nn.slice %[[H]] {sizes = array<i64: 12, 8>, starts = array<i64: 0, 0>
// GROUPS: nn.slice %adagp.predictor.head.weight {sizes = array<i64: 9, 8>
// GROUPS: nn.gemm {{.*}} : tensor<12x8xf32>, tensor<9x8xf32>, tensor<9xf32>
// GROUPS: nn.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<4x9xf32>, tensor<8x9xf32>
// GROUPS: nn.slice %[[H]] {sizes = array<i64: 8, 8>, starts = array<i64: 12, 0>
// GROUPS: nn.slice %adagp.predictor.head.weight {sizes = array<i64: 36, 8>
// GROUPS: nn.gemm {{.*}} : tensor<8x8xf32>, tensor<36x8xf32>, tensor<36xf32>
// GROUPS: nn.slice %[[H]] {sizes = array<i64: 9, 8>, starts = array<i64: 20, 0>
// GROUPS: nn.gemm {{.*}} : tensor<9x8xf32>, tensor<64x8xf32>, tensor<64xf32>
// The bias head over all rows; the rows of layers with a bias (0-11 and
// 16-28) are the predicted bias entries.
// GROUPS: %[[BH:.*]] = nn.gemm %[[H]], %adagp.predictor.bias_head.weight, %adagp.predictor.bias_head.bias {trans_b = true} : tensor<29x8xf32>, tensor<1x8xf32>, tensor<1xf32>
// GROUPS: nn.slice %[[BH]] {sizes = array<i64: 12, 1>, starts = array<i64: 0, 0>
// GROUPS: nn.slice %[[BH]] {sizes = array<i64: 13, 1>, starts = array<i64: 16, 0>
// GROUPS: nn.add %{{.*}}, %adagp.predictor.baseline.bias : tensor<25xf32>, tensor<25xf32>
// The loss over 108 + 288 + 576 weight and 25 bias entries (997).
// GROUPS: train.mse_loss %{{.*}}, %{{.*}} : tensor<12x9xf32>
// GROUPS: arith.constant dense<0.108324975> : tensor<f32>
// GROUPS: train.mse_loss %{{.*}}, %{{.*}} : tensor<8x36xf32>
// GROUPS: train.mse_loss %{{.*}}, %{{.*}} : tensor<9x64xf32>
// GROUPS: train.mse_loss %{{.*}}, %{{.*}} : tensor<25xf32>
// GROUPS: arith.constant dense<0.0250752252> : tensor<f32>
// GROUPS-LABEL: func.func @gp_step(
// GROUPS: %[[GH:.*]] = nn.relu %{{.*}} : tensor<29x8xf32>
// GROUPS: %[[GBH:.*]] = nn.gemm %[[GH]], %adagp.predictor.bias_head.weight
// GROUPS: nn.gemm {{.*}} : tensor<12x8xf32>, tensor<9x8xf32>, tensor<9xf32>
// GROUPS: %[[G9:.*]] = nn.add %{{.*}}, %adagp.predictor.baseline.fs9 : tensor<12x9xf32>, tensor<12x9xf32>
// GROUPS: nn.slice %[[G9]] {sizes = array<i64: 4, 9>, starts = array<i64: 0, 0>
// GROUPS: train.sgd_update %conv1.weight,
// GROUPS: train.sgd_update %conv1.bias,
// GROUPS: nn.slice %[[GBH]] {sizes = array<i64: 8, 1>, starts = array<i64: 4, 0>
// GROUPS: nn.slice %[[G9]] {sizes = array<i64: 8, 9>, starts = array<i64: 4, 0>
// GROUPS: adagp.expand_prediction %{{.*}} : tensor<8x9xf32>, tensor<f32> -> tensor<8x9xf32>
// GROUPS: train.sgd_update %fc2.weight,
// GROUPS: train.sgd_update %fc2.bias,
// GROUPS: %[[G36:.*]] = nn.add %{{.*}}, %adagp.predictor.baseline.fs36 : tensor<8x36xf32>, tensor<8x36xf32>
// GROUPS: nn.slice %[[G36]] {sizes = array<i64: 4, 36>, starts = array<i64: 0, 0>
// GROUPS: train.sgd_update %conv2.weight,
// GROUPS-NOT: conv2.bias
// GROUPS: nn.slice %[[GBH]] {sizes = array<i64: 4, 1>, starts = array<i64: 16, 0>
// GROUPS: nn.slice %adagp.predictor.baseline.bias{{.*}} {sizes = array<i64: 4>, starts = array<i64: 12>
// GROUPS: nn.slice %[[G36]] {sizes = array<i64: 4, 36>, starts = array<i64: 4, 0>
// GROUPS: train.sgd_update %conv3.weight,
// GROUPS: train.sgd_update %conv3.bias,
// GROUPS: nn.add %{{.*}}, %adagp.predictor.baseline.fs64 : tensor<9x64xf32>, tensor<9x64xf32>
// GROUPS: train.sgd_update %fc1.weight,
// GROUPS: train.sgd_update %fc1.bias,

// Per layer, conv3 takes the second half of its group's running mean and
// its entries of the biases' one.
// GPERLAYER-LABEL: func.func @gp_step(
// GPERLAYER: nn.conv2d %{{.*}}, %conv3.weight, %conv3.bias
// GPERLAYER: nn.gemm %{{.*}}, %adagp.predictor.hidden.weight{{[_0-9]*}}, {{.*}} : tensor<4x16xf32>
// GPERLAYER: nn.slice %adagp.predictor.head.weight{{[_0-9]*}} {sizes = array<i64: 36, 8>
// GPERLAYER: nn.slice %adagp.predictor.baseline.fs36{{.*}} {sizes = array<i64: 4, 36>, starts = array<i64: 4, 0>
// GPERLAYER: nn.gemm %{{.*}}, %adagp.predictor.bias_head.weight{{[_0-9]*}}, {{.*}} : tensor<4x8xf32>, tensor<1x8xf32>, tensor<1xf32>
// GPERLAYER: nn.slice %adagp.predictor.baseline.bias{{.*}} {sizes = array<i64: 4>, starts = array<i64: 12>
// GPERLAYER: train.sgd_update %conv3.weight,
// GPERLAYER: train.sgd_update %conv3.bias,

// The ablation gp-gradient=baseline: GP steps apply each layer's running
// mean gradient, not the network's output.
// ABLATE-LABEL: func.func @gp_step(
// ABLATE: adagp.expand_prediction %adagp.predictor.baseline.fs9,
// ABLATE: train.sgd_update %conv.weight,
// ABLATE: adagp.expand_prediction %adagp.predictor.baseline.fs64,
// ABLATE: train.sgd_update %fc1.weight,

// The ablation gp-gradient=zero: each predicted layer's scale is multiplied
// by zero, so its update is the optimizer's state alone.
// ZERO-LABEL: func.func @gp_step(
// ZERO: %[[Z1:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// ZERO-NEXT: %[[S1:.*]] = nn.mul %{{.*}}, %[[Z1]]
// ZERO-NEXT: %[[G1:.*]] = adagp.expand_prediction %{{.*}}, %[[S1]]
// ZERO: train.sgd_update %conv.weight, %[[G1]],
// ZERO: %[[Z2:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// ZERO-NEXT: %[[S2:.*]] = nn.mul %{{.*}}, %[[Z2]]
// ZERO-NEXT: %[[G2:.*]] = adagp.expand_prediction %{{.*}}, %[[S2]]
// ZERO: train.sgd_update %fc1.weight, %[[G2]],

// gp-gradient-scale=0.5: each predicted layer's scale (and its bias scale)
// is halved before it maps the prediction onto the gradient.
// GSCALE-LABEL: func.func @gp_step(
// GSCALE: %[[H1:.*]] = arith.constant dense<5.000000e-01> : tensor<f32>
// GSCALE-NEXT: %[[S1:.*]] = nn.mul %{{.*}}, %[[H1]]
// GSCALE-NEXT: %[[G1:.*]] = adagp.expand_prediction %{{.*}}, %[[S1]]
// GSCALE: train.sgd_update %conv.weight, %[[G1]],
// GSCALE: %[[HB:.*]] = arith.constant dense<5.000000e-01> : tensor<f32>
// GSCALE-NEXT: %[[SB:.*]] = nn.mul %{{.*}}, %[[HB]]
// GSCALE-NEXT: %[[GB:.*]] = nn.mul %{{.*}}, %[[SB]]
// GSCALE: train.sgd_update %conv.bias, %[[GB]],

// trunk-form=conv: the trunk's convolution is an nn.conv2d on the samples'
// maps, its filter 4-D; its gradient a filter gradient.
// TRUNKCONV: ml_program.global private mutable @adagp.predictor.conv0.weight({{.*}}) : tensor<4x2x3x3xf32>
// TRUNKCONV-LABEL: func.func @bp_step(
// TRUNKCONV-NOT: nn.matmul
// TRUNKCONV: %[[CX:.*]] = nn.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : tensor<4x2x2x2xf32>, tensor<8x2x2x2xf32>
// TRUNKCONV: nn.conv2d %[[CX]], %adagp.predictor.conv0.weight
// TRUNKCONV: nn.conv2d_filter_grad %{{.*}}, %[[CX]]
// TRUNKCONV-LABEL: func.func @gp_step(
// TRUNKCONV: nn.conv2d %{{.*}}, %adagp.predictor.conv0.weight
