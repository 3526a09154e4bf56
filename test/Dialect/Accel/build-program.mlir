// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --accel-plan-dram --accel-tile --accel-lower-steps --accel-build-program | FileCheck %s
// RUN: not adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --accel-plan-dram --accel-tile --accel-lower-steps --accel-build-program=mode=gp -o /dev/null 2>&1 | FileCheck %s --check-prefix=GP
// The whole pipeline (with dependency tokens, without which the queues race)
// runs on the simulator.
// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --adagp-accel-pipeline | adagp-translate --emit-accel-program -o %t.agp
// RUN: adagp-sim %t.agp --steps 2 --train-images 4 --test-images 3 | FileCheck %s --check-prefix=SIM
// ADA-GP with predictor-every=2: a plain BP step besides the BP and GP
// steps, chosen by the host's step kind.
// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule="predictor-every=2" --adagp-accel-pipeline=mode=adagp | FileCheck %s --check-prefix=PLAIN
// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule="predictor-every=2" --adagp-accel-pipeline=mode=adagp | adagp-translate --emit-accel-program -o %t.plain.agp
// RUN: adagp-sim %t.plain.agp --steps 3 --train-images 6 --test-images 3 --warmup-steps 2 --bp-run 0 --gp-run 1 | FileCheck %s --check-prefix=PLAIN-SIM

// Only the accelerator program remains, with what the host needs to know.
// CHECK: module attributes {accel.batch_size = 2 : i64, accel.classes = 3 : i64
// CHECK-NOT: func.func
// CHECK-NOT: ml_program.global
// Named state: parameters, optimizer state, the step counter; initial
// values that are not zero as data.
// CHECK-DAG: accel.symbol "conv.weight" "parameter" : tensor<2x1x3x3xf32> at <offset = [[CW:[0-9]+]],
// CHECK-DAG: accel.data dense<5.000000e-01> : tensor<2x1x3x3xf32> at <offset = [[CW]],
// CHECK-DAG: accel.symbol "conv.weight.momentum" "state"
// CHECK-DAG: accel.symbol "train.step" "state" : tensor<i64>
// The host buffers.
// CHECK-DAG: accel.symbol "input" "input" : tensor<2x1x4x4xf32> at <offset = [[IN:[0-9]+]], bytes = 128, class = "input", layout = [0, 2, 3, 1]>
// CHECK-DAG: accel.symbol "labels" "labels" : tensor<2xi64> at <offset = [[LAB:[0-9]+]], bytes = 8,
// CHECK-DAG: accel.symbol "loss" "loss" : tensor<f32> at <offset = [[LOSS:[0-9]+]],
// CHECK-DAG: accel.symbol "logits" "logits" : tensor<2x3xf32> at <offset = [[LOGITS:[0-9]+]],

// The training loop of the host protocol.
// CHECK-LABEL: accel.program @main {
// CHECK-NEXT: accel.label @epoch
// CHECK-NEXT: accel.recv <rd = r1, stream = 2, phase = io>
// CHECK-NEXT: accel.br eq <rs1 = r1, target = @done, phase = control>
// CHECK-NEXT: accel.label @train
// CHECK-NEXT: accel.recv <rd = r2, in = {{.*}}, in_bytes = 128, labels = {{.*}}, label_bytes = 8, phase = io>
// CHECK-NEXT: accel.br eq <rs1 = r2, target = @evaluate, phase = control>
// CHECK-NEXT: accel.sopi add <rd = r3, phase = control>
// CHECK-NEXT: accel.send i64 <tag = 1, rs = r3, phase = io>
// CHECK-NEXT: accel.jump jal <rd = r31, target = @bp_step, phase = control>
// CHECK-NEXT: accel.send i64 <tag = 2, rs = r3, phase = io>
// CHECK-NEXT: accel.send dram.f32 <tag = 3, addr = {{.*}}, count = 1, phase = io>
// CHECK-NEXT: accel.jump j <target = @train, phase = control>
// CHECK-NEXT: accel.label @evaluate
// CHECK-NEXT: accel.recv <rd = r2, stream = 1, in = {{.*}}, in_bytes = 128, phase = io>
// CHECK-NEXT: accel.br eq <rs1 = r2, target = @epoch_end, phase = control>
// CHECK-NEXT: accel.sopi add <rd = r3, imm = 2, phase = control>
// CHECK: accel.jump jal <rd = r31, target = @eval_step, phase = control>
// CHECK: accel.send dram.f32 <tag = 4, addr = {{.*}}, count = 6, phase = io>
// CHECK: accel.label @epoch_end
// CHECK-NEXT: accel.send i64 <tag = 5, phase = io>
// CHECK-NEXT: accel.jump j <target = @epoch, phase = control>
// CHECK-NEXT: accel.label @done
// CHECK-NEXT: accel.finish <phase = control>
// The subroutines follow, each returning through r31.
// CHECK-NEXT: accel.label @bp_step
// CHECK: accel.jump jr <rs1 = r31, phase = control>
// CHECK-NEXT: accel.label @eval_step
// CHECK: accel.jump jr <rs1 = r31, phase = control>
// CHECK-NEXT: }

// GP: error: mode 'gp' needs the ADA-GP step (@gp_step, from --adagp-insert-predictors, lowered by --accel-lower-steps)

// The program trains on synthetic data of the model's 4x4 size: two steps
// (the four training images), then it evaluates the three test images in
// two batches (the last one padded).
// SIM: status: finished
// SIM: bp step: 2 steps
// SIM: eval step: 2 steps
// SIM: epoch 1: 2 steps, train loss {{[0-9.]+}}, test loss {{[0-9.]+}}, test accuracy

// The program records that it has a plain BP step and the schedule's N
// (from @train's adagp.predictor_every) for the host.
// PLAIN: module attributes {accel.batch_size = 2 : i64, accel.bp_plain_step, accel.classes = 3 : i64, {{.*}}accel.mode = "adagp", accel.predictor_every = 2 : i64}
// PLAIN-LABEL: accel.program @main {
// PLAIN: accel.recv <rd = r3, stream = 3, phase = io>
// PLAIN-NEXT: accel.sopi add <rd = r30, rs1 = r3, imm = -1, phase = control>
// PLAIN-NEXT: accel.br eq <rs1 = r30, target = @gp, phase = control>
// PLAIN-NEXT: accel.sopi add <rd = r30, rs1 = r3, imm = -3, phase = control>
// PLAIN-NEXT: accel.br eq <rs1 = r30, target = @bp_plain, phase = control>
// PLAIN-NEXT: accel.send i64 <tag = 1, rs = r3, phase = io>
// PLAIN-NEXT: accel.jump jal <rd = r31, target = @bp_step, phase = control>
// PLAIN-NEXT: accel.send i64 <tag = 2, rs = r3, phase = io>
// Here the steps leave their losses in different places (the DRAM plans
// differ): each branch sends its own.
// PLAIN-NEXT: accel.send dram.f32 <tag = 3, addr = [[LBP:0x[0-9a-f]+]], count = 1, phase = io>
// PLAIN-NEXT: accel.jump j <target = @stepped, phase = control>
// PLAIN-NEXT: accel.label @bp_plain
// PLAIN-NEXT: accel.send i64 <tag = 1, rs = r3, phase = io>
// PLAIN-NEXT: accel.jump jal <rd = r31, target = @bp_plain_step, phase = control>
// PLAIN-NEXT: accel.send i64 <tag = 2, rs = r3, phase = io>
// PLAIN-NEXT: accel.send dram.f32 <tag = 3, addr = {{0x[0-9a-f]+}}, count = 1, phase = io>
// PLAIN-NEXT: accel.jump j <target = @stepped, phase = control>
// PLAIN-NEXT: accel.label @gp
// PLAIN-NEXT: accel.send i64 <tag = 1, rs = r3, phase = io>
// PLAIN-NEXT: accel.jump jal <rd = r31, target = @gp_step, phase = control>
// PLAIN-NEXT: accel.send i64 <tag = 2, rs = r3, phase = io>
// PLAIN-NEXT: accel.send dram.f32 <tag = 3, addr = {{0x[0-9a-f]+}}, count = 1, phase = io>
// PLAIN-NEXT: accel.label @stepped
// PLAIN-NOT: accel.send dram.f32 <tag = 3
// PLAIN: accel.label @evaluate
// PLAIN: accel.label @bp_step
// PLAIN: phase = predictor
// PLAIN: accel.label @bp_plain_step
// PLAIN-NOT: phase = predictor
// PLAIN-NOT: phase = reorg
// PLAIN: accel.label @gp_step

// Two warm-up BP steps: number 0 trains the predictor, number 1 is plain;
// then a GP step.
// PLAIN-SIM: status: finished
// PLAIN-SIM: bp step: 1 steps
// PLAIN-SIM-NEXT: bp_plain step: 1 steps
// PLAIN-SIM-NEXT: gp step: 1 steps
// PLAIN-SIM: epoch 1: 3 steps, train loss {{[0-9.]+}}, test loss {{[0-9.]+}}, test accuracy
