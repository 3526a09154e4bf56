// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" --adagp-lower-schedule="policy=adaptive warmup-epochs=2 gp-run=8 max-gp-run=64 growth=2 low-quality=0.1 high-quality=0.3 loss-margin=0.1" | FileCheck %s
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" --adagp-lower-schedule="policy=fixed unit=epoch warmup-epochs=1 bp-run=1 gp-run=3" | FileCheck %s --check-prefix=FIXED
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" --adagp-lower-schedule="policy=gp" | FileCheck %s --check-prefix=GP
// RUN: adagp-opt %S/Inputs/small-cnn.mlir --train-build-step --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" --adagp-lower-schedule="policy=fixed bp-run=1 gp-run=3 predictor-every=4" | FileCheck %s --check-prefix=EVERY

// The schedule's state is in globals, so that the same lowering serves a
// host loop on the CPU and scalar code on the accelerator.
// CHECK-DAG: ml_program.global private mutable @adagp.schedule.phase(dense<0> : tensor<i64>)
// CHECK-DAG: ml_program.global private mutable @adagp.schedule.remaining(
// CHECK-DAG: ml_program.global private mutable @adagp.schedule.gp_length(dense<8.000000e+00> : tensor<f32>)
// CHECK-DAG: ml_program.global private mutable @adagp.schedule.bp_loss(
// CHECK-DAG: ml_program.global private mutable @adagp.schedule.quality(
// CHECK-NOT: adagp.schedule {
// Every BP step trains the predictor: the plain BP step is gone.
// CHECK-NOT: func.func @bp_plain_step

// CHECK-LABEL: func.func @train() attributes {adagp.policy = "adaptive", adagp.predictor_every = 1 : i64}
// One batch per iteration from the host; a negative epoch ends training.
// CHECK: scf.while : () -> () {
// CHECK: %[[X:.*]], %[[Y:.*]], %[[EPOCH:.*]] = adagp.next_batch
// CHECK: %[[E:.*]] = tensor.extract %[[EPOCH]][]
// CHECK: %[[MORE:.*]] = arith.cmpi sge, %[[E]], %c0_i64
// CHECK: scf.if %[[MORE]] {
// CHECK: %[[PHASE:.*]] = tensor.extract %adagp.schedule.phase[]
// Warm-up: epochs below 2 are BP.
// CHECK: %[[WARM:.*]] = arith.cmpi slt, %[[E]], %c2_i64
// Run lengths grow by 2 (up to 64) at quality >= 0.3, shrink below 0.1.
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.minimumf
// CHECK: arith.divf
// CHECK: arith.cmpf oge, %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.cmpf olt,
// CHECK: %[[ISGP:.*]] = arith.cmpi eq, %{{.*}}, %c1_i64
// CHECK: scf.if %[[ISGP]] -> (tensor<f32>) {
// CHECK-NEXT: func.call @gp_step(%[[X]], %[[Y]])
// CHECK: } else {
// CHECK-NEXT: func.call @bp_step(%[[X]], %[[Y]])
// BP steps feed the quality and loss averages; a GP run whose loss rises
// above the BP level by 10% ends early.
// CHECK: ml_program.global_load @adagp.quality
// CHECK: arith.constant 1.100000e+00 : f32
// CHECK: arith.cmpf ogt
// CHECK: ml_program.global_store @adagp.schedule.phase =
// CHECK: ml_program.global_store @adagp.schedule.bp_count =
// The step's record: mode, loss, and predictor figures (NaN in GP steps).
// CHECK: arith.constant 0x7FC00000 : f32
// CHECK: adagp.report
// CHECK: scf.condition(%[[MORE]])
// CHECK: return

// Fixed epoch runs depend on the epoch alone: after one warm-up epoch, 1
// BP epoch then 3 GP epochs.
// FIXED-LABEL: func.func @train() attributes {adagp.policy = "fixed", adagp.predictor_every = 1 : i64}
// FIXED: adagp.next_batch
// FIXED: arith.cmpi slt, %{{.*}}, %c1_i64
// FIXED: arith.subi
// FIXED: arith.remsi %{{.*}}, %c4_i64
// FIXED: func.call @gp_step
// FIXED: func.call @bp_step
// FIXED: adagp.report

// policy=gp: every step is a GP step.
// GP-LABEL: func.func @train() attributes {adagp.policy = "gp", adagp.predictor_every = 1 : i64}
// GP: %[[T:.*]] = arith.constant true
// GP: scf.if %[[T]] -> (tensor<f32>)
// GP: func.call @gp_step

// predictor-every=4: the BP steps whose count (warm-up included) is a
// multiple of 4 call @bp_step and feed the quality average and the report;
// the others call @bp_plain_step, kept from before the predictor was added.
// EVERY: func.func @bp_plain_step(
// EVERY-NOT: adagp.reorganize
// EVERY: return
// EVERY-LABEL: func.func @train() attributes {adagp.policy = "fixed", adagp.predictor_every = 4 : i64}
// EVERY: %[[COUNT:.*]] = tensor.extract %adagp.schedule.bp_count[]
// EVERY: %[[REM:.*]] = arith.remsi %[[COUNT]], %c4_i64
// EVERY: %[[TRAINS:.*]] = arith.cmpi eq, %[[REM]], %c0_i64
// EVERY: scf.if %{{.*}} -> (tensor<f32>) {
// EVERY-NEXT: func.call @gp_step
// EVERY: } else {
// EVERY-NEXT: %[[BP:.*]] = scf.if %[[TRAINS]] -> (tensor<f32>) {
// EVERY-NEXT: func.call @bp_step
// EVERY: } else {
// EVERY-NEXT: func.call @bp_plain_step
// EVERY: %[[MEASURED:.*]] = arith.andi %{{.*}}, %[[TRAINS]]
// EVERY: arith.select %[[MEASURED]]
// EVERY: adagp.report
