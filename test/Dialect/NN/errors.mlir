// RUN: adagp-opt %s -split-input-file -verify-diagnostics

func.func @broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{shapes [2, 3] and [4] do not broadcast}}
  %0 = nn.add %a, %b : tensor<2x3xf32>, tensor<4xf32>
  return
}

// -----

func.func @mixed_element_types(%a: tensor<2xf32>, %b: tensor<2xf64>) {
  // expected-error @+1 {{mixes element types 'f32' and 'f64'}}
  %0 = nn.mul %a, %b : tensor<2xf32>, tensor<2xf64>
  return
}

// -----

func.func @bad_broadcast_to(%a: tensor<3x2xf32>) {
  // expected-error @+1 {{cannot broadcast [3, 2] to [3, 4]}}
  %0 = nn.broadcast_to %a : tensor<3x2xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @clip_bounds(%a: tensor<2xf32>) {
  // expected-error @+1 {{has min 6.000000e+00 greater than max 0.000000e+00}}
  %0 = nn.clip %a {min = 6.0 : f64, max = 0.0 : f64} : tensor<2xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{input has 3 channels but the filter expects 2 x 1 groups}}
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>
  return
}

// -----

func.func @conv_groups(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error @+1 {{filter count 3 is not a multiple of groups 2}}
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{bias has 3 elements but there are 4 filters}}
  %0 = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>, tensor<3xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{'strides' and 'dilations' must be positive, got [0, 1] and [1, 1]}}
  %0 = nn.conv2d %x, %w {strides = array<i64: 0, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>
  return
}

// -----

func.func @conv_too_small(%x: tensor<1x2x2x2xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{filter [4, 2, 3, 3] does not fit the padded input [1, 2, 2, 2]}}
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x2x2x2xf32>, tensor<4x2x3x3xf32>
  return
}

// -----

func.func @conv_input_grad_shape(%dy: tensor<1x4x6x6xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{output shape [1, 4, 6, 6] does not match the convolution of [1, 2, 9, 9] by [4, 2, 3, 3], which is [1, 4, 7, 7]}}
  %0 = nn.conv2d_input_grad %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x4x6x6xf32>, tensor<4x2x3x3xf32> -> tensor<1x2x9x9xf32>
  return
}

// -----

func.func @conv_filter_grad_shape(%dy: tensor<1x4x6x6xf32>, %x: tensor<1x2x8x8xf32>) {
  // expected-error @+1 {{input has 2 channels but the filter expects 3 x 1 groups}}
  %0 = nn.conv2d_filter_grad %dy, %x {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x4x6x6xf32>, tensor<1x2x8x8xf32> -> tensor<4x3x3x3xf32>
  return
}

// -----

func.func @gemm_inner(%a: tensor<3x4xf32>, %b: tensor<5x4xf32>) {
  // expected-error @+1 {{inner dimensions differ: 4 (a) vs 5 (b)}}
  %0 = nn.gemm %a, %b : tensor<3x4xf32>, tensor<5x4xf32>
  return
}

// -----

func.func @gemm_c(%a: tensor<3x4xf32>, %b: tensor<4x5xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{c of shape [4] does not broadcast to [3, 5]}}
  %0 = nn.gemm %a, %b, %c : tensor<3x4xf32>, tensor<4x5xf32>, tensor<4xf32>
  return
}

// -----

func.func @matmul_inner(%a: tensor<2x3x4xf32>, %b: tensor<3x5xf32>) {
  // expected-error @+1 {{inner dimensions differ: 4 vs 3}}
  %0 = nn.matmul %a, %b : tensor<2x3x4xf32>, tensor<3x5xf32>
  return
}

// -----

func.func @pool_pads(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{pads [2, 0, 0, 0] must be smaller than the kernel [2, 2]}}
  %0 = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 2, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x1x8x8xf32>
  return
}

// -----

func.func @avg_pool_kernel(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{'kernel' must be positive, got [0, 2]}}
  %0 = nn.avg_pool2d %x {kernel = array<i64: 0, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x1x8x8xf32>
  return
}

// -----

func.func @max_pool_grad_shape(%dy: tensor<1x1x3x3xf32>, %x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{gradient shape [1, 1, 3, 3] does not match the pooling result shape [1, 1, 4, 4]}}
  %0 = nn.max_pool2d_grad %dy, %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x1x3x3xf32>, tensor<1x1x8x8xf32>
  return
}

// -----

func.func @avg_pool_grad_shape(%dy: tensor<1x1x3x3xf32>) {
  // expected-error @+1 {{gradient shape [1, 1, 3, 3] does not match the pooling result shape [1, 1, 4, 4]}}
  %0 = nn.avg_pool2d_grad %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x1x3x3xf32> -> tensor<1x1x8x8xf32>
  return
}

// -----

func.func @bn_channels(%x: tensor<2x4x3x3xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{per-channel operand has 3 elements but the input has 4 channels}}
  %0 = nn.batch_norm_inference %x, %c, %c, %c, %c : tensor<2x4x3x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  return
}

// -----

func.func @bn_momentum(%x: tensor<2x4x3x3xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{momentum must be in [0, 1], got 2}}
  %0:5 = nn.batch_norm_train %x, %c, %c, %c, %c {momentum = 2.0 : f64} : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_epsilon(%x: tensor<2x4xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{epsilon must be non-negative, got -1}}
  %0:3 = nn.batch_norm_grad %x, %x, %c, %c, %c {epsilon = -1.0 : f64} : tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @bn_grad_types(%dy: tensor<2x4xf32>, %x: tensor<3x4xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{gradient and input types differ}}
  %0:3 = nn.batch_norm_grad %dy, %x, %c, %c, %c : tensor<2x4xf32>, tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x8xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{scale and bias must have the normalised shape [8]}}
  %0:3 = nn.layer_norm %x, %g {axis = 1 : i64} : tensor<2x8xf32>, tensor<4xf32>
  return
}

// -----

func.func @layer_norm_grad_stats(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %s: tensor<2x8xf32>) {
  // expected-error @+1 {{statistics must have shape [2, 1]}}
  %0:3 = nn.layer_norm_grad %x, %x, %g, %s, %s {axis = 1 : i64} : tensor<2x8xf32>, tensor<2x8xf32>, tensor<8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
  return
}

// -----

func.func @dropout_ratio(%x: tensor<2x8xf32>, %k: i64) {
  // expected-error @+1 {{ratio must be in [0, 1), got 1}}
  %0 = nn.dropout %x, %k {ratio = 1.0 : f64} : tensor<2x8xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{cannot reshape [2, 8] (16 elements) to [3, 5] (15 elements)}}
  %0 = nn.reshape %x : tensor<2x8xf32> -> tensor<3x5xf32>
  return
}

// -----

func.func @flatten_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis 3 out of range for rank 2}}
  %0 = nn.flatten %x {axis = 3 : i64} : tensor<2x8xf32>
  return
}

// -----

func.func @transpose_repeat(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{permutation [0, 0] repeats 0}}
  %0 = nn.transpose %x {permutation = array<i64: 0, 0>} : tensor<2x8xf32>
  return
}

// -----

func.func @concat_shapes(%a: tensor<2x8xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{input shapes [2, 8] and [3, 4] differ outside the concatenation axis}}
  %0 = nn.concat %a, %b {axis = 1 : i64} : tensor<2x8xf32>, tensor<3x4xf32>
  return
}

// -----

func.func @split_sizes(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{split sizes add up to 7 but the axis has 8}}
  %0:2 = nn.split %x {axis = 1 : i64, sizes = array<i64: 3, 4>} : tensor<2x8xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{dimension 1: slice ends past the input size 8}}
  %0 = nn.slice %x {starts = array<i64: 0, 4>, sizes = array<i64: 2, 3>, steps = array<i64: 1, 2>} : tensor<2x8xf32>
  return
}

// -----

func.func @slice_step(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{dimension 1: start 0, size 2, step 0 must be non-negative (step positive)}}
  %0 = nn.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 2, 2>, steps = array<i64: 1, 0>} : tensor<2x8xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'pads' must be non-negative, got [0, -1, 0, 0]}}
  %0 = nn.pad %x {pads = array<i64: 0, -1, 0, 0>} : tensor<2x8xf32>
  return
}

// -----

func.func @reduce_axes(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axes [1, 0] must be sorted, distinct and in [0, 2)}}
  %0 = nn.reduce_sum %x {axes = array<i64: 1, 0>} : tensor<2x8xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis 2 out of range}}
  %0 = nn.softmax %x {axis = 2 : i64} : tensor<2x8xf32>
  return
}

// -----

func.func @log_softmax_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis -1 out of range}}
  %0 = nn.log_softmax %x {axis = -1 : i64} : tensor<2x8xf32>
  return
}
