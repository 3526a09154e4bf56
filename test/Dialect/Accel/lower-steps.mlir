// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step="optimizer=sgd lr=0.1 momentum=0.9" --accel-plan-dram --accel-tile --accel-lower-steps | FileCheck %s

// Each step function becomes a subroutine of straight-line instructions on
// the DRAM plan's addresses; the functions themselves are gone.
// CHECK-NOT: func.func @bp_step

// The BP step: the step counter on the scalar core, the loss and its
// gradient in one xent (scale 1/batch), the optimizer updates.
// CHECK-LABEL: accel.program @bp_step
// CHECK-SAME: accel.step = "bp", kind = "subroutine"
// CHECK: accel.sld dram.i64 <r = r4, addr = [[STEP:0x[0-9a-f]+]], phase = control>
// CHECK: accel.gemm {{.*}}phase = forward>
// CHECK: accel.xent <b = 2, k = 3, {{.*}}scale = 5.000000e-01, phase = loss>
// CHECK-NOT: accel.xent
// CHECK: accel.gemm {{.*}}phase = backward>
// CHECK: accel.opt momentum <n = 18, {{.*}}phase = update>
// CHECK: accel.opt momentum <n = 96, {{.*}}phase = update>
// CHECK: accel.opt momentum <n = 3, {{.*}}phase = update>
// CHECK: accel.sop add <rd = r6, rs1 = r4, rs2 = r5, phase = control>
// CHECK: accel.sst dram.i64 <r = r6, addr = [[STEP]], phase = control>

// The evaluation step, op by op.
// CHECK-LABEL: accel.program @eval_step
// CHECK-SAME: accel.step = "eval"
// The 3x3 convolution: one DMA per filter tap builds the im2col tile (9
// columns, lda = 9), the padding comes from start/extent: tap (0, 0) reads
// rows and columns from -1.
// CHECK: accel.dmacfg load.d12 <size_a = 4, start_a = -1, extent_a = 4, dstride_a = 1, cstride_a = 9, size_b = 4, start_b = -1, extent_b = 4, dstride_b = 4, cstride_b = 36, phase = eval>
// CHECK-NEXT: accel.dmacfg load.d34 <size_a = 2, dstride_a = 16, cstride_a = 144, phase = eval>
// CHECK-NEXT: accel.load <dram = [[X:0x[0-9a-f]+]], size = 1, dstride = 1, cstride = 1, tensor_class = input, phase = eval>
// CHECK-COUNT-8: accel.load <dram = [[X]], chip = 0x{{[1-8]}}, size = 1
// The filter [KH][KW][I][O] is the GEMM's B, 9 x 2.
// CHECK: accel.load <chip = 0x240, size = 2, {{.*}}tensor_class = weight
// CHECK-NEXT: accel.gemm <a = 0x0, lda = 9, b = 0x240, ldb = 2, c = 0x800000, ldc = 2, m = 32, k = 9, n = 2, phase = eval>
// The ReLU, the convolution's only user, is its epilogue: applied to the
// accumulator tile, which goes back channel-last as the ReLU's result; the
// convolution's own result is never stored.
// CHECK-NEXT: accel.vec relu <rows = 32, cols = 2, d = 0x800000, d_rs = 2, d_cs = 1, a = 0x800000, a_rs = 2, a_cs = 1, phase = eval>
// CHECK: accel.store <dram = [[RELU:0x[0-9a-f]+]], chip = 0x800000, size = 2, {{.*}}tensor_class = activation
// CHECK-NOT: accel.vec relu
// Flattening channel-last data into NCHW order: a strided store.
// CHECK: accel.load <dram = [[RELU]], size = 64,
// CHECK: accel.dmacfg store.d12 <size_a = 2, dstride_a = 16, cstride_a = 1, size_b = 2, dstride_b = 32, cstride_b = 32, phase = eval>
// CHECK: accel.store <dram = [[FLAT:0x[0-9a-f]+]], size = 16, dstride = 1, cstride = 2,
// The linear layer reads W [3 x 32] transposed (tb), 16 columns per GEMM,
// accumulating; the bias is an axpy on the accumulator tile.
// CHECK: accel.load <dram = [[FLAT]], size = 64,
// CHECK: accel.gemm <tb, a = 0x0, lda = 32, b = 0x80, ldb = 32, c = 0x800000, ldc = 3, m = 2, k = 16, n = 3, phase = eval>
// CHECK-NEXT: accel.gemm <tb, acc, a = 0x10, lda = 32, b = 0x90, ldb = 32, c = 0x800000, ldc = 3, m = 2, k = 16, n = 3, phase = eval>
// CHECK: accel.vec axpy <rows = 2, cols = 3, d = 0x800000, d_rs = 3, d_cs = 1, a = 0x140, a_cs = 1, b = 0x800000, b_rs = 3, b_cs = 1, imm = 1.000000e+00, phase = eval>
// CHECK: accel.store <dram = {{0x[0-9a-f]+}}, chip = 0x800000, size = 6,
// CHECK-NEXT: }
