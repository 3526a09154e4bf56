// RUN: adagp-opt %s --accel-tile | FileCheck %s --check-prefix=DEFAULT
// RUN: adagp-opt %s --accel-tile=config=%adagp_src_root/configs/edge.json | FileCheck %s --check-prefix=EDGE
// RUN: adagp-opt %s --accel-tile=config=%adagp_src_root/configs/cloud.json | FileCheck %s --check-prefix=CLOUD
// RUN: not adagp-opt %s --accel-tile=config=%S/Inputs/tiny-spad.json -o /dev/null 2>&1 | FileCheck %s --check-prefix=SMALL
// RUN: not adagp-opt %s --accel-tile=config=%S/Inputs/unknown-key.json -o /dev/null 2>&1 | FileCheck %s --check-prefix=KEY

// Block sizes follow the configuration: bigger scratchpads and accumulators
// take bigger blocks of output rows (m), input channels (k) and output
// channels (n); the wide cloud array streams the matrix product transposed
// when that keeps it busier.

func.func @layer(%x: tensor<64x64x32x32xf32>, %w: tensor<64x64x3x3xf32>,
                 %dy: tensor<64x64x32x32xf32>, %a: tensor<64x512xf32>,
                 %b: tensor<10x512xf32>)
    -> (tensor<64x64x32x32xf32>, tensor<64x64x3x3xf32>, tensor<64x64x32x32xf32>, tensor<64x10xf32>) {
  // 8 rows of 32 pixels x 16 channels x 9 taps of im2col, all 64 output
  // channels: 2 x 36 KiB of operand tiles and 2 x 64 KiB of results.
  // DEFAULT: nn.conv2d {{.*}}accel.tile = {k = 16 : i64, m = 8 : i64, n = 64 : i64, swap = false}
  // EDGE: nn.conv2d {{.*}}accel.tile = {k = 8 : i64, m = 4 : i64, n = 64 : i64, swap = false}
  // CLOUD: nn.conv2d {{.*}}accel.tile = {k = 16 : i64, m = 64 : i64, n = 64 : i64, swap = false}
  %y = nn.conv2d %x, %w {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<64x64x32x32xf32>, tensor<64x64x3x3xf32>
  // DEFAULT: nn.conv2d_filter_grad {{.*}}accel.tile = {k = 8 : i64, m = 16 : i64, n = 64 : i64, swap = false}
  // EDGE: nn.conv2d_filter_grad {{.*}}accel.tile = {k = 4 : i64, m = 4 : i64, n = 64 : i64, swap = true}
  %dw = nn.conv2d_filter_grad %dy, %x {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<64x64x32x32xf32>, tensor<64x64x32x32xf32> -> tensor<64x64x3x3xf32>
  // DEFAULT: nn.conv2d_input_grad {{.*}}accel.tile = {k = 16 : i64, m = 8 : i64, n = 64 : i64, swap = false}
  %dx = nn.conv2d_input_grad %dy, %w {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : tensor<64x64x32x32xf32>, tensor<64x64x3x3xf32> -> tensor<64x64x32x32xf32>
  // DEFAULT: nn.gemm {{.*}}accel.tile = {k = 512 : i64, m = 64 : i64, n = 10 : i64, swap = false}
  // EDGE: nn.gemm {{.*}}accel.tile = {k = 128 : i64, m = 64 : i64, n = 10 : i64, swap = false}
  // CLOUD: nn.gemm {{.*}}accel.tile = {k = 512 : i64, m = 64 : i64, n = 10 : i64, swap = true}
  %l = nn.gemm %a, %b {trans_b = true} : tensor<64x512xf32>, tensor<10x512xf32>
  return %y, %dw, %dx, %l : tensor<64x64x32x32xf32>, tensor<64x64x3x3xf32>, tensor<64x64x32x32xf32>, tensor<64x10xf32>
}

// SMALL: error: nn.conv2d (in @layer) does not fit the accelerator 'tiny-spad': the scratchpad holds 256 bytes but the smallest double-buffered operand tiles need {{[0-9]+}} (short by {{[0-9]+}} bytes)
// KEY: error: accelerator configuration: {{.*}}unknown-key.json: unknown key 'array.dimm'
