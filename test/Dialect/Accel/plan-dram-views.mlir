// RUN: adagp-opt %S/../ADAGP/Inputs/small-cnn.mlir --train-build-step="optimizer=sgd lr=0.01 momentum=0.9" --adagp-insert-predictors --adagp-lower-schedule --accel-plan-dram | FileCheck %s
// RUN: adagp-opt %S/Inputs/concat-reshape.mlir --train-build-step --accel-plan-dram | FileCheck %s --check-prefix=SHUFFLE

// A slice that is one contiguous run of its operand (a block of rows, or
// part of one row) lies inside the operand's region: no copy, no space of
// its own. Other slices (columns) get their own region.

// CHECK: @adagp.predictor.head.weight({{.*}}accel.dram = #accel.region<offset = [[#HEAD:]], bytes = 16384
// CHECK: @adagp.scale({{.*}}accel.dram = #accel.region<offset = [[#SCALE:]], bytes = 8

// CHECK-LABEL: func.func @bp_step
// The per-layer slices of the quality's row sums [3, 12] are columns.
// CHECK: %[[ROWSUMS:.*]] = nn.concat {{.*}}accel.dram = [#accel.region<offset = [[#SUMS:]], bytes = 144
// CHECK-NOT: offset = [[#SUMS]],
// CHECK: nn.slice %[[ROWSUMS]] {accel.dram = [#accel.region<offset = {{[0-9]+}}, bytes = 48, {{.*}}sizes = array<i64: 3, 4>, starts = array<i64: 0, 0>
// CHECK-NOT: offset = [[#SUMS]],
// CHECK: nn.slice %[[ROWSUMS]] {accel.dram = [#accel.region<offset = {{[0-9]+}}, bytes = 96, {{.*}}sizes = array<i64: 3, 8>, starts = array<i64: 0, 4>

// CHECK-LABEL: func.func @gp_step
// The predictor's samples [12, 2, 4, 4]: per layer the reorganised maps and
// a constant depth plane, then both layers. Only the trunk's reshape reads
// them, so they are stored in their logical order (not channel-last), and
// the reshape to [12, 32] shares the region.
// CHECK: nn.concat {{.*}}layout = []>], axis = 1 : i64} : tensor<4x1x4x4xf32>, tensor<4x1x4x4xf32>
// CHECK: nn.concat {{.*}}layout = []>], axis = 1 : i64} : tensor<8x1x4x4xf32>, tensor<8x1x4x4xf32>
// CHECK: nn.concat {{.*}}accel.dram = [#accel.region<offset = [[#SAMPLES:]], bytes = 1536, class = "predictor", layout = []>], axis = 0
// CHECK: nn.reshape {{.*}}accel.dram = [#accel.region<offset = [[#SAMPLES]], bytes = 1536, {{.*}} -> tensor<12x32xf32>
// The hidden features [12, 64]: the convolution's 4 rows, then the linear
// layer's 8, each group's slice inside them.
// CHECK: %[[HIDDEN:.*]] = nn.relu {{.*}}accel.dram = [#accel.region<offset = [[#HID:]], bytes = 3072, class = "predictor"{{.*}}tensor<12x64xf32>
// CHECK-NEXT: nn.slice %[[HIDDEN]] {accel.dram = [#accel.region<offset = [[#HID]], bytes = 1024, {{.*}}sizes = array<i64: 4, 64>
// The first 9 rows of the head, inside the global's region.
// CHECK-NEXT: nn.slice %adagp.predictor.head.weight {accel.dram = [#accel.region<offset = [[#HEAD]], bytes = 2304,
// The second layer's scale: element 1 of the [2] global.
// CHECK: nn.slice %{{.*}} {accel.dram = [#accel.region<offset = [[#SCALE]], bytes = 4
// CHECK: nn.slice %[[HIDDEN]] {accel.dram = [#accel.region<offset = [[#HID+1024]], bytes = 2048, {{.*}}sizes = array<i64: 8, 64>, starts = array<i64: 4, 0>
// CHECK: nn.slice %{{.*}} {accel.dram = [#accel.region<offset = [[#SCALE+4]], bytes = 4

// A concatenation of channel-last activations stays channel-last (its
// operands could not be copied into a row-major result), and the reshape
// that reads it is a copy.
// SHUFFLE-LABEL: func.func @bp_step
// SHUFFLE: nn.concat {{.*}}layout = [0, 2, 3, 1]>], axis = 1
// SHUFFLE-NEXT: nn.reshape {{.*}}layout = []>]} : tensor<2x4x4x4xf32> -> tensor<2x64xf32>
