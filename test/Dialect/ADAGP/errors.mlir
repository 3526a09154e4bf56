// Bad options and inputs: a clear error naming the option, non-zero exit.
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="predictor-width=1000" -o /dev/null 2>&1 | FileCheck %s --check-prefix=WIDTH
// WIDTH: error: --adagp-insert-predictors: option 'predictor-width' must be in [1, 256], got 1000
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="pooled-size=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=POOL
// POOL: error: --adagp-insert-predictors: option 'pooled-size' must be in [1, 32], got 0
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="predictor-lr=-0.1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=LR
// LR: error: --adagp-insert-predictors: option 'predictor-lr' must be in (0, 1], got -1.000000e-01
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="layers=nope" -o /dev/null 2>&1 | FileCheck %s --check-prefix=LAYERS
// LAYERS: error: --adagp-insert-predictors: option 'layers' names 'nope', which is not the weight of a trainable convolution or linear layer
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="baseline=median" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BASE
// BASE: error: --adagp-insert-predictors: option 'baseline' must be mean or none, got 'median'
// Only the head is trainable in a one-layer model: nothing to predict.
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="gp-gradient=random" -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPGRAD
// GPGRAD: error: --adagp-insert-predictors: option 'gp-gradient' must be predicted, baseline or zero, got 'random'
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="gp-gradient-scale=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPSCALE
// GPSCALE: error: --adagp-insert-predictors: option 'gp-gradient-scale' must be in (0, 4], got 0.000000e+00
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="trunk-form=fft" -o /dev/null 2>&1 | FileCheck %s --check-prefix=TRUNKFORM
// TRUNKFORM: error: --adagp-insert-predictors: option 'trunk-form' must be auto, conv or gemm, got 'fft'
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="gp-gradient=baseline baseline=none" -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPGRADB
// GPGRADB: error: --adagp-insert-predictors: option 'gp-gradient' 'baseline' needs baseline=mean and batched-predictions
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="layers=fc2.weight" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NONE
// NONE: error: --adagp-insert-predictors: no layer is left to predict
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --adagp-insert-predictors -o /dev/null 2>&1 | FileCheck %s --check-prefix=ORDER
// ORDER: error: --adagp-insert-predictors: the module needs @forward and @bp_step (run --train-build-step first)

// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule="gp-run=-1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPLEN
// GPLEN-NOT: error: --adagp-insert-predictors
// GPLEN: error: 'adagp.schedule' op gp_run must be at least 1, got -1
// GPLEN: error: --adagp-lower-schedule: invalid policy; each attribute above is the pass option
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule="policy=sometimes" -o /dev/null 2>&1 | FileCheck %s --check-prefix=POLICY
// POLICY: error: 'adagp.schedule' op policy must be bp, gp, fixed or adaptive, got 'sometimes'
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule="low-quality=0.5 high-quality=0.2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=QUALITY
// QUALITY: error: 'adagp.schedule' op needs -1 <= min_quality <= low_quality <= high_quality <= 1
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule="predictor-every=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=EVERY
// EVERY: error: 'adagp.schedule' op predictor_every must be at least 1, got 0
// RUN: not adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-lower-schedule -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOSCHED
// NOSCHED: error: --adagp-lower-schedule: expected one adagp.schedule, found 0 (run --adagp-insert-predictors first)
