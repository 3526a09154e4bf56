// RUN: adagp-opt %S/Inputs/grouped-model.mlir --train-build-step --accel-plan-dram=functions=bp_step --accel-tile | FileCheck %s --check-prefix=TILE
// RUN: adagp-opt %S/Inputs/grouped-model.mlir --train-build-step --accel-plan-dram=functions=bp_step --accel-tile --accel-lower-steps | FileCheck %s

// A grouped convolution is tiled as one block of groups (here both groups
// of 4 channels: 8 channels and 8 outputs, whole); the depthwise one runs
// on the vector unit and gets no tile.
// TILE-LABEL: func.func @bp_step
// TILE: nn.conv2d {{.*}}accel.tile = {k = 8 : i64, m = 8 : i64, n = 8 : i64, swap = false}, dilations = array<i64: 1, 1>, groups = 2 : i64
// TILE: nn.conv2d %{{[0-9]+}}, %dw.weight {accel.dram = [#accel.region<{{[^>]*}}>], dilations = array<i64: 1, 1>, groups = 8 : i64

// CHECK-LABEL: accel.program @bp_step

// Grouped forward: the filter tile [tap][8 channels][8 outputs] is zeroed
// once per buffer, then each tile loads only its two diagonal blocks in one
// DMA: 4 outputs of 4 channels per group (rows 8 = O apart in DRAM, one
// tile row on chip), groups 4 outputs apart in DRAM and 4 rows + 4 columns
// (36) apart on chip, taps 4 x 8 apart in DRAM and 8 rows apart on chip.
// CHECK: accel.vec fill <rows = 1, cols = 576, d = [[B0:0x[0-9a-f]+]], {{.*}}phase = forward>
// CHECK-NEXT: accel.vec fill <rows = 1, cols = 576, {{.*}}phase = forward>
// CHECK: accel.dmacfg load.d12 <size_a = 4, dstride_a = 8, cstride_a = 8, size_b = 2, dstride_b = 4, cstride_b = 36, phase = forward>
// CHECK-NEXT: accel.dmacfg load.d34 <size_a = 9, dstride_a = 32, cstride_a = 64, phase = forward>
// CHECK-NEXT: accel.load <dram = {{0x[0-9a-f]+}}, chip = [[B0]], size = 4, dstride = 1, cstride = 1, tensor_class = weight, phase = forward>
// CHECK-NEXT: accel.gemm <a = 0x0, lda = 72, b = [[B0]], ldb = 8, c = 0x800000, ldc = 8, m = 32, k = 16, n = 8, phase = forward>

// Depthwise forward, stride 2: the input goes on chip once as a padded grid
// of 6 rows (a multiple of the stride) x 5 columns x 8 channels per image,
// and each of the 9 taps is one vector op over the 22 grid points of the
// tile's output pixels: rows 2 x 8 apart in the input grid (a_rs = stride x
// channels), the tap's weights broadcast over the rows (b_rs = 0).
// CHECK: accel.dmacfg load.d12 <size_a = 5, start_a = -1, extent_a = 4, dstride_a = 8, cstride_a = 8, size_b = 6, start_b = -1, extent_b = 4, dstride_b = 32, cstride_b = 40, phase = forward>
// CHECK-NEXT: accel.dmacfg load.d34 <size_a = 2, dstride_a = 128, cstride_a = 240, phase = forward>
// CHECK: accel.vec mul <rows = 22, cols = 8, d = 0x800000, d_rs = 8, d_cs = 1, a_rs = 16, a_cs = 1, b = [[W:0x[0-9a-f]+]], b_cs = 1, phase = forward>
// CHECK-NEXT: accel.vec fma <rows = 22, cols = 8, d = 0x800000, d_rs = 8, d_cs = 1, a = 0x8, a_rs = 16, a_cs = 1, b = {{0x[0-9a-f]+}}, b_cs = 1, phase = forward>
// CHECK-COUNT-7: accel.vec fma <rows = 22, cols = 8, d = 0x800000
// The output pixels (2 x 2 per image) out of the grid (pitch 5, 3 rows per
// image).
// CHECK-NEXT: accel.dmacfg store.d12 <size_a = 2, dstride_a = 8, cstride_a = 8, size_b = 2, dstride_b = 16, cstride_b = 40, phase = forward>
// CHECK-NEXT: accel.dmacfg store.d34 <size_a = 2, dstride_a = 32, cstride_a = 120, phase = forward>

// Depthwise input gradient: the output gradient is loaded into the output
// grid with zeros outside the 2 x 2 pixels (extents), each tap scatters
// into the zeroed input grid (d_rs = stride x channels), and the grid's
// interior (from row 1, column 1: element 48) is the gradient.
// CHECK: accel.dmacfg load.d12 <size_a = 5, extent_a = 2, dstride_a = 8, cstride_a = 8, size_b = 3, extent_b = 2, dstride_b = 16, cstride_b = 40, phase = backward>
// CHECK: accel.vec fill <rows = 1, cols = 480, d = 0x0, {{.*}}phase = backward>
// CHECK-NEXT: accel.vec fma <rows = 22, cols = 8, d = 0x0, d_rs = 16, d_cs = 1, a = 0x800000, a_rs = 8, a_cs = 1, b = {{0x[0-9a-f]+}}, b_cs = 1, phase = backward>
// CHECK-COUNT-8: accel.vec fma <rows = 22, cols = 8, d = {{0x[0-9a-f]+}}, d_rs = 16
// CHECK-NEXT: accel.dmacfg store.d12 <size_a = 4, dstride_a = 8, cstride_a = 8, size_b = 4, dstride_b = 32, cstride_b = 40, phase = backward>
// CHECK-NEXT: accel.dmacfg store.d34 <size_a = 2, dstride_a = 128, cstride_a = 240, phase = backward>
// CHECK-NEXT: accel.store <dram = {{0x[0-9a-f]+}}, chip = 0x30, size = 8, {{.*}}tensor_class = gradient, phase = backward>

// Depthwise filter gradient: per tap a column dot product of the input
// grid's tap view and the output-gradient grid, then the 9 taps x 8
// channels go out as [KH][KW][1][C].
// CHECK: accel.vec coldot <rows = 22, cols = 8, d = [[DW:0x[0-9a-f]+]], d_cs = 1, a_rs = 16, a_cs = 1, b = 0x800000, b_rs = 8, b_cs = 1, phase = backward>
// CHECK-COUNT-8: accel.vec coldot <rows = 22, cols = 8
// CHECK-NEXT: accel.dmacfg store.d12 <size_a = 9, dstride_a = 8, cstride_a = 8, phase = backward>
// CHECK: accel.store <dram = {{0x[0-9a-f]+}}, chip = [[DW]], size = 8, {{.*}}tensor_class = gradient, phase = backward>

// Grouped input gradient: the transposed filter tile [8 channels][tap][8
// outputs] is zeroed, then one 5-D DMA loads the diagonal blocks (outputs;
// 3 x 3 taps; 4 channels O = 8 apart; 2 groups, 4 outputs apart in DRAM and
// 4 rows of 72 + 4 columns = 292 apart on chip).
// CHECK: accel.vec fill <rows = 1, cols = 576, {{.*}}phase = backward>
// CHECK: accel.dmacfg load.d12 <size_a = 3, dstride_a = 32, cstride_a = 8, size_b = 3, dstride_b = 96, cstride_b = 24, phase = backward>
// CHECK-NEXT: accel.dmacfg load.d34 <size_a = 4, dstride_a = 8, cstride_a = 72, size_b = 2, dstride_b = 4, cstride_b = 292, phase = backward>
// CHECK-NEXT: accel.load <dram = {{0x[0-9a-f]+}}, chip = {{0x[0-9a-f]+}}, size = 4, {{.*}}tensor_class = weight, phase = backward>
// CHECK: accel.gemm <tb,

// Grouped filter gradient: the whole block's product (72 x 8) is computed,
// and only its diagonal blocks are stored.
// CHECK: accel.gemm <ta, acc, {{.*}}m = 72, k = 16, n = 8, phase = backward>
// CHECK-NEXT: accel.dmacfg store.d12 <size_a = 4, dstride_a = 8, cstride_a = 8, size_b = 2, dstride_b = 4, cstride_b = 36, phase = backward>
// CHECK-NEXT: accel.dmacfg store.d34 <size_a = 9, dstride_a = 32, cstride_a = 64, phase = backward>
