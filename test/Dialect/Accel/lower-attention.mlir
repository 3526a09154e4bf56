// RUN: adagp-opt %S/Inputs/attention-model.mlir --train-build-step --accel-plan-dram=functions=bp_step --accel-tile | FileCheck %s --check-prefix=TILE
// RUN: adagp-opt %S/Inputs/attention-model.mlir --train-build-step --accel-plan-dram=functions=bp_step --accel-tile --accel-lower-steps | FileCheck %s

// A product with one right matrix for the whole batch folds the batch into
// the rows (m = 2 x 3); a batched one is tiled per batch element.
// TILE-LABEL: func.func @bp_step
// TILE: nn.matmul {{.*}}accel.tile = {k = 4 : i64, m = 6 : i64, n = 4 : i64, swap = false}} : tensor<2x3x4xf32>, tensor<4x4xf32>
// TILE: nn.matmul {{.*}}accel.tile = {k = 4 : i64, m = 3 : i64, n = 3 : i64, swap = false}} : tensor<2x3x4xf32>, tensor<2x4x3xf32>

// CHECK-LABEL: accel.program @bp_step

// Layer normalisation over the 4 features of 6 rows: row sums, the per-row
// mean broadcast along each row (b_rs = 1, b_cs = 0), the mean of the
// centred squares, rsqrt, then scale and bias as one `affine`.
// CHECK: accel.vec rowsum <rows = 6, cols = 4, d = [[MEAN:0x[0-9a-f]+]], d_rs = 1, a_rs = 4, a_cs = 1, phase = forward>
// CHECK-NEXT: accel.vec muli <rows = 6, cols = 1, d = [[MEAN]], d_rs = 1, a = [[MEAN]], a_rs = 1, imm = 2.500000e-01, phase = forward>
// CHECK-NEXT: accel.vec sub <rows = 6, cols = 4, d = 0x0, d_rs = 4, d_cs = 1, a_rs = 4, a_cs = 1, b = [[MEAN]], b_rs = 1, phase = forward>
// CHECK-NEXT: accel.vec rowsumsq <rows = 6, cols = 4, d = [[INV:0x[0-9a-f]+]], d_rs = 1
// CHECK-NEXT: accel.vec muli <rows = 6, cols = 1, d = [[INV]], {{.*}}imm = 2.500000e-01
// CHECK-NEXT: accel.vec addi <rows = 6, cols = 1, d = [[INV]], {{.*}}imm = 9.99999974E-6
// CHECK-NEXT: accel.vec rsqrt <rows = 6, cols = 1, d = [[INV]]
// CHECK-NEXT: accel.vec mul <rows = 6, cols = 4, d = 0x0, d_rs = 4, d_cs = 1, a_rs = 4, a_cs = 1, b = [[INV]], b_rs = 1, phase = forward>
// CHECK-NEXT: accel.vec affine <rows = 6, cols = 4, d = 0x0, d_rs = 4, d_cs = 1, a_rs = 4, a_cs = 1, b = {{0x[0-9a-f]+}}, b_rs = 4, b_cs = 1, phase = forward>

// x [2, 3, 4] times one 4 x 4 matrix: a single GEMM of 6 rows.
// CHECK: accel.gemm <a = 0x0, lda = 4, b = {{0x[0-9a-f]+}}, ldb = 4, c = 0x800000, ldc = 4, m = 6, k = 4, n = 4, phase = forward>
// CHECK-NEXT: accel.dmacfg store.d12
// CHECK-NEXT: accel.dmacfg store.d34
// CHECK-NEXT: accel.store <dram = [[Q:0x[0-9a-f]+]], chip = 0x800000, size = 24

// Transposing the last two dimensions of [2, 3, 4]: rows of the 4
// contiguous features, the 2 batch elements 12 apart and the 3 tokens 4
// apart are loaded as [3][2][4]; one copy reads its columns (a_cs = 2 x 4)
// as the rows of [2][4][3], and the store writes it densely.
// CHECK: accel.dmacfg load.d12 <size_a = 2, dstride_a = 12, cstride_a = 4, size_b = 3, dstride_b = 4, cstride_b = 8, phase = forward>
// CHECK-NEXT: accel.dmacfg load.d34 <phase = forward>
// CHECK-NEXT: accel.load <dram = [[Q]], size = 4, dstride = 1, cstride = 1, tensor_class = activation, phase = forward>
// CHECK-NEXT: accel.vec copy <rows = 8, cols = 3, d = [[T:0x[0-9a-f]+]], d_rs = 3, d_cs = 1, a_rs = 1, a_cs = 8, phase = forward>
// CHECK-NEXT: accel.dmacfg store.d12 <size_a = 4, dstride_a = 3, cstride_a = 3, size_b = 2, dstride_b = 12, cstride_b = 12, phase = forward>
// CHECK-NEXT: accel.dmacfg store.d34 <phase = forward>
// CHECK-NEXT: accel.store <dram = [[KT:0x[0-9a-f]+]], chip = [[T]], size = 3

// [2, 3, 4] x [2, 4, 3]: one GEMM per batch element, the second one's
// operands 12 elements (48 bytes) further and its result 9 (36 bytes).
// CHECK: accel.load <dram = 0x[[#%x,QA:]], size = 12,
// CHECK: accel.load <dram = 0x[[#%x,KTA:]], chip = {{0x[0-9a-f]+}}, size = 12,
// CHECK-NEXT: accel.gemm <a = 0x0, lda = 4, b = {{0x[0-9a-f]+}}, ldb = 3, c = 0x800000, ldc = 3, m = 3, k = 4, n = 3, phase = forward>
// CHECK: accel.store <dram = 0x[[#%x,S:]], chip = 0x800000, size = 9,
// CHECK: accel.load <dram = 0x[[#%x,QA+48]], size = 12,
// CHECK: accel.load <dram = 0x[[#%x,KTA+48]], chip = {{0x[0-9a-f]+}}, size = 12,
// CHECK-NEXT: accel.gemm <a = 0x0, lda = 4, b = {{0x[0-9a-f]+}}, ldb = 3, c = 0x800000, ldc = 3, m = 3, k = 4, n = 3, phase = forward>
// CHECK: accel.store <dram = 0x[[#%x,S+36]], chip = 0x800000, size = 9,

// Softmax along the last axis: one vector op per chunk of rows.
// CHECK: accel.vec softmax <rows = 6, cols = 3, d = 0x0, d_rs = 3, d_cs = 1, a_rs = 3, a_cs = 1, phase = forward>

// Swapping the first two dimensions keeps the features contiguous: one
// gathering DMA (rows of 4, batch 12 apart, tokens 4 apart) and a
// contiguous store.
// CHECK: accel.dmacfg load.d12 <size_a = 2, dstride_a = 12, cstride_a = 4, size_b = 3, dstride_b = 4, cstride_b = 8, phase = forward>
// CHECK-NEXT: accel.dmacfg load.d34 <phase = forward>
// CHECK-NEXT: accel.load <dram = {{0x[0-9a-f]+}}, size = 4, dstride = 1, cstride = 1, tensor_class = activation, phase = forward>
// CHECK-NEXT: accel.dmacfg store.d12 <phase = forward>
// CHECK-NEXT: accel.dmacfg store.d34 <phase = forward>
// CHECK-NEXT: accel.store <dram = {{0x[0-9a-f]+}}, size = 24, dstride = 1, cstride = 1

// The layer normalisation's gradient: xhat from the saved mean and inverse
// standard deviation, the parameter gradients as column reductions over
// the rows, and dx = (g - mean(g) - xhat mean(g xhat)) invstd with g = dy
// scale.
// CHECK: accel.vec sub <rows = 6, cols = 4, d = [[H:0x[0-9a-f]+]], d_rs = 4, d_cs = 1, a = [[H]], a_rs = 4, a_cs = 1, b = [[LMEAN:0x[0-9a-f]+]], b_rs = 1, phase = backward>
// CHECK-NEXT: accel.vec mul <rows = 6, cols = 4, d = [[H]], d_rs = 4, d_cs = 1, a = [[H]], a_rs = 4, a_cs = 1, b = [[LINV:0x[0-9a-f]+]], b_rs = 1, phase = backward>
// CHECK-NEXT: accel.vec coldot <rows = 6, cols = 4, d = [[DSCALE:0x[0-9a-f]+]], d_cs = 1, a_rs = 4, a_cs = 1, b = [[H]], b_rs = 4, b_cs = 1, phase = backward>
// CHECK-NEXT: accel.vec colsum <rows = 6, cols = 4, d = [[DBIAS:0x[0-9a-f]+]], d_cs = 1, a_rs = 4, a_cs = 1, phase = backward>
// CHECK-NEXT: accel.vec mul <rows = 6, cols = 4, d = 0x0, d_rs = 4, d_cs = 1, a_rs = 4, a_cs = 1, b = {{0x[0-9a-f]+}}, b_cs = 1, phase = backward>
// CHECK-NEXT: accel.vec rowsum <rows = 6, cols = 4, d = [[S1:0x[0-9a-f]+]], d_rs = 1
// CHECK-NEXT: accel.vec rowdot <rows = 6, cols = 4, d = [[S2:0x[0-9a-f]+]], d_rs = 1, a_rs = 4, a_cs = 1, b = [[H]], b_rs = 4, b_cs = 1
// CHECK-NEXT: accel.vec muli <rows = 6, cols = 1, d = [[S1]], {{.*}}imm = 2.500000e-01
// CHECK-NEXT: accel.vec muli <rows = 6, cols = 1, d = [[S2]], {{.*}}imm = 2.500000e-01
// CHECK-NEXT: accel.vec mul <rows = 6, cols = 4, d = [[H]], {{.*}}b = [[S2]], b_rs = 1
// CHECK-NEXT: accel.vec sub <rows = 6, cols = 4, d = 0x0, {{.*}}b = [[H]], b_rs = 4, b_cs = 1
// CHECK-NEXT: accel.vec sub <rows = 6, cols = 4, d = 0x0, {{.*}}b = [[S1]], b_rs = 1
// CHECK-NEXT: accel.vec mul <rows = 6, cols = 4, d = 0x0, {{.*}}b = [[LINV]], b_rs = 1
// CHECK: accel.store <dram = {{0x[0-9a-f]+}}, chip = [[DSCALE]], size = 4,
// CHECK: accel.store <dram = {{0x[0-9a-f]+}}, chip = [[DBIAS]], size = 4,
