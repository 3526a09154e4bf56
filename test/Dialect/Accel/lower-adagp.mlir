// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule=policy=gp --accel-plan-dram=functions=gp_step --accel-tile --accel-lower-steps | FileCheck %s
// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --adagp-insert-predictors --adagp-lower-schedule=policy=gp --adagp-accel-pipeline=mode=gp | FileCheck %s --check-prefix=PROGRAM
// RUN: adagp-opt %S/../ADAGP/Inputs/grouped-cnn.mlir --train-build-step --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" --adagp-lower-schedule --accel-plan-dram=functions=bp_step --accel-tile --accel-lower-steps | FileCheck %s --check-prefix=PAD
// RUN: adagp-opt %S/../ADAGP/Inputs/grouped-cnn.mlir --train-build-step --adagp-insert-predictors="pooled-size=2 predictor-width=4 predictor-depth=1 predictor-hidden=8" --adagp-lower-schedule --accel-plan-dram=functions=bp_step --accel-tile --accel-lower-steps | FileCheck %s --check-prefix=QUALITY

// The GP step of the two-layer model: the convolution's output
// [2, 2, 4, 4] is reorganised into two predictor samples [2, 1, 4, 4], the
// predictor predicts the filter gradient, and the filter is updated right
// away; the last layer keeps its exact gradient.

// ADA-GP's state is planned as the predictor's and is a parameter of the
// program (dumped and loaded by name).
// CHECK-DAG: ml_program.global private mutable @adagp.scale({{.*}}class = "predictor"{{.*}}accel.role = "parameter"
// CHECK-DAG: ml_program.global private mutable @adagp.predictor.baseline.fs9({{.*}}) : tensor<2x9xf32> {{.*}}class = "predictor"

// CHECK-LABEL: accel.program @gp_step
// The reorganisation: a column sum over the images of the channel-last
// tile gives the batch sums [4*4][2], adaptive average pooling to 4x4 runs
// once on them, and one strided pass scales the pooled sums [16][2] by 1/N
// and transposes them into the samples [2][16]; then the samples are
// divided by their RMS.
// CHECK: accel.load <dram = [[ACT:0x[0-9a-f]+]], chip = [[IN:0x[0-9a-f]+]], size = 64, {{.*}}tensor_class = activation, phase = reorg>
// CHECK-NEXT: accel.vec colsum <rows = 2, cols = 32, d = [[T:0x[0-9a-f]+]], d_cs = 1, a = [[IN]], a_rs = 32, a_cs = 1, phase = reorg>
// CHECK-NEXT: accel.pool adaptive_avg <n = 1, h = 4, w = 4, c = 2, oh = 4, ow = 4, in = [[T]], out = [[POOLED:0x[0-9a-f]+]], phase = reorg>
// CHECK-NEXT: accel.vec muli <rows = 16, cols = 2, d = 0x0, d_rs = 1, d_cs = 16, a = [[POOLED]], a_rs = 2, a_cs = 1, imm = 5.000000e-01, phase = reorg>
// CHECK-NEXT: accel.vec rowsumsq <rows = 1, cols = 32, d = [[S:0x[0-9a-f]+]], a_cs = 1, phase = reorg>
// CHECK-NEXT: accel.vec muli <rows = 1, cols = 1, d = [[S]], d_cs = 1, a = [[S]], a_cs = 1, imm = 3.125000e-02, phase = reorg>
// CHECK-NEXT: accel.vec addi <rows = 1, cols = 1, d = [[S]], d_cs = 1, a = [[S]], a_cs = 1, imm = 9.99999996E-13, phase = reorg>
// CHECK-NEXT: accel.vec rsqrt <rows = 1, cols = 1, d = [[S]], d_cs = 1, a = [[S]], a_cs = 1, phase = reorg>
// CHECK-NEXT: accel.vec mul <rows = 1, cols = 32, d = 0x0, d_cs = 1, a_cs = 1, b = [[S]], phase = reorg>
// CHECK: accel.store <dram = [[SAMPLES:0x[0-9a-f]+]], size = 32, {{.*}}tensor_class = predictor, phase = reorg>

// The predictor's input: the samples and a constant layer-position map,
// concatenated along the channels. Only the trunk's reshape reads it, so it
// is stored in its logical order [2][2][4][4] (not channel-last): each
// operand is one run of 16 elements per row, and the reshape to [2, 32]
// copies nothing (the trunk's first product reads the concatenation).
// CHECK: accel.load <dram = [[SAMPLES]], size = 32, {{.*}}phase = predictor>
// CHECK-NEXT: accel.dmacfg store.d12 <size_a = 2, dstride_a = 32, cstride_a = 16, phase = predictor>
// CHECK: accel.store <dram = 0x[[#%x,CAT:]], size = 16, dstride = 1, {{.*}}tensor_class = predictor, phase = predictor>
// CHECK: accel.dmacfg store.d12 <size_a = 2, dstride_a = 32, cstride_a = 16, phase = predictor>
// CHECK: accel.store <dram = 0x[[#%x,CAT+64]], chip = {{.*}}, size = 16, {{.*}}tensor_class = predictor, phase = predictor>
// CHECK: accel.load <dram = 0x[[#%x,CAT]], size = 64, {{.*}}phase = predictor>
// The predictor is ordinary convolutions and matrix products on the array.
// CHECK: accel.gemm {{.*}}phase = predictor>
// Its output [2, 9] (the head is only as wide as the filter) plus the
// group's running mean, also [2, 9]: the head's epilogue adds its bias, then
// the running mean (a [2, 9] box) on the accumulator tile and stores the
// sum; the head's own output is never stored.
// CHECK: accel.vec axpy <rows = 2, cols = 9, d = [[HEAD:0x[0-9a-f]+]], {{.*}}phase = predictor>
// CHECK-NEXT: accel.dmacfg load.d12 <size_a = 2, dstride_a = 9, cstride_a = 9, phase = predictor>
// CHECK-NEXT: accel.dmacfg load.d34
// CHECK-NEXT: accel.load <dram = {{0x[0-9a-f]+}}, chip = [[MEAN:0x[0-9a-f]+]], size = 9, {{.*}}tensor_class = predictor, phase = predictor>
// CHECK-NEXT: accel.vec axpy <rows = 2, cols = 9, d = [[HEAD]], d_rs = 9, d_cs = 1, a = [[MEAN]], a_rs = 9, a_cs = 1, b = [[HEAD]], b_rs = 9, b_cs = 1, imm = 1.000000e+00, phase = predictor>
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.store <dram = [[PRED:0x[0-9a-f]+]], chip = [[HEAD]], size = 18, {{.*}}tensor_class = predictor, phase = predictor>
// CHECK-NOT: accel.vec add <rows = 1, cols = 18,

// The predicted filter gradient, applied by the update itself (the
// expansion is fused into it): the hyper-parameters and the layer's scale,
// then the layer's rows of the predictor output (9 of each row) times the
// scale, transposed per filter tap into the filter's [KH][KW][I][O] order
// on chip; the filter and its momentum in that order; `opt`. The expanded
// gradient is never stored.
// CHECK-NOT: tensor_class = gradient, phase = predictor
// CHECK: accel.load <dram = {{0x[0-9a-f]+}}, chip = [[HP:0x[0-9a-f]+]], size = 9, {{.*}}tensor_class = other, phase = update>
// CHECK: accel.load <dram = {{0x[0-9a-f]+}}, chip = [[SCALE:0x[0-9a-f]+]], size = 1, {{.*}}tensor_class = predictor, phase = update>
// CHECK: accel.load <dram = [[PRED]], size = 18, {{.*}}phase = update>
// CHECK-NEXT: accel.vec mul <rows = 2, cols = 1, d = [[G:0x[0-9a-f]+]], d_rs = 1, d_cs = 2, a_rs = 9, a_cs = 9, b = [[SCALE]], phase = update>
// CHECK-COUNT-8: accel.vec mul <rows = 2, cols = 1, {{.*}}, a_rs = 9, a_cs = 9, b = [[SCALE]], phase = update>
// CHECK-NEXT: accel.dmacfg load.d12 <size_b = 9, dstride_b = 2, cstride_b = 2, phase = update>
// CHECK: accel.load <chip = [[W:0x[0-9a-f]+]], size = 2, {{.*}}tensor_class = weight, phase = update>
// CHECK: accel.load <dram = {{0x[0-9a-f]+}}, chip = [[M:0x[0-9a-f]+]], size = 2, {{.*}}tensor_class = optimizer_state, phase = update>
// CHECK-NEXT: accel.opt momentum <n = 18, param = [[W]], grad = [[G]], m = [[M]], hp = [[HP]], phase = update>

// The GP-only training program calls the GP step; there is no BP step.
// PROGRAM: module attributes {{.*}}accel.mode = "gp"
// PROGRAM-LABEL: accel.program @main
// PROGRAM: accel.sopi add <rd = r3, imm = 1, phase = control>
// PROGRAM-NEXT: accel.send i64 <tag = 1, rs = r3, phase = io>
// PROGRAM-NEXT: accel.jump jal <rd = r31, target = @gp_step, phase = control>
// PROGRAM-NOT: @bp_step
// PROGRAM: accel.label @gp_step

// The predictor's training in a BP step with groups of layers (filter sizes
// 9, 36 and 64; head.weight [64, 8]): the gradient of a group's slice of the
// head's weight is padded back to its 64 rows by one load whose window
// covers the group's rows (here 9 rows of 8: 72 elements of 512; the rest
// reads as zero) and a contiguous store. (The groups' slices of the hidden
// features [29, 8] partition its rows: their gradients are concatenated,
// not padded and added.)
// PAD-LABEL: accel.program @bp_step
// PAD-NOT: size = 232, start = -160
// PAD: accel.load <dram = {{0x[0-9a-f]+}}, size = 512, extent = 72, dstride = 1, cstride = 1, tensor_class = predictor, phase = predictor>
// PAD-NEXT: accel.dmacfg store.d12
// PAD-NEXT: accel.dmacfg store.d34
// PAD-NEXT: accel.store <dram = {{0x[0-9a-f]+}}, size = 512, dstride = 1, cstride = 1, tensor_class = predictor, phase = predictor>

// The predictor's quality in the BP step: per row of the 3x3 group [12, 9]
// the sums of p*t, p*p and t*t. Each reduction loads its operands' chunks
// (a square its one operand once), multiplies them on chip and sums the
// rows: the product [12, 9] is never stored to DRAM, only the 12 sums.
// QUALITY-LABEL: accel.program @bp_step
// QUALITY: accel.vec mul <rows = 12, cols = 9, d = 0x0, d_rs = 9, d_cs = 1, a_rs = 9, a_cs = 1, b = {{0x[0-9a-f]+}}, b_rs = 9, b_cs = 1, phase = predictor>
// QUALITY-NEXT: accel.vec rowsum <rows = 12, cols = 9, d = [[R:0x[0-9a-f]+]], d_rs = 1, a_rs = 9, a_cs = 1, phase = predictor>
// QUALITY-NEXT: accel.dmacfg store.d12
// QUALITY-NEXT: accel.dmacfg store.d34
// QUALITY-NEXT: accel.store <dram = {{0x[0-9a-f]+}}, chip = [[R]], size = 12,
// QUALITY-NEXT: accel.dmacfg load.d12
// QUALITY-NEXT: accel.dmacfg load.d34
// QUALITY-NEXT: accel.load <dram = {{0x[0-9a-f]+}}, size = 108,
// QUALITY-NEXT: accel.vec mul <rows = 12, cols = 9, d = 0x0, d_rs = 9, d_cs = 1, a_rs = 9, a_cs = 1, b_rs = 9, b_cs = 1, phase = predictor>
// QUALITY-NEXT: accel.vec rowsum <rows = 12, cols = 9, d = [[R]],
