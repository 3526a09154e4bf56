// RUN: adagp-opt %S/Inputs/mlp-model.mlir --train-build-step --accel-plan-dram --accel-tile --accel-lower-steps | FileCheck %s
// RUN: adagp-opt %s --split-input-file --accel-plan-dram --accel-tile --accel-lower-steps | FileCheck %s --check-prefix=ADD
// RUN: adagp-opt %s --split-input-file --accel-plan-dram | FileCheck %s --check-prefix=PLAN

// An nn.relu or nn.add that is a product's only user is the product's
// epilogue: applied on the accumulator tile, whose store writes the op's
// result; the product itself is never stored.

// The BP step: the ReLU's gradient reads the ReLU's output, so the first
// linear layer's output has one user and the ReLU runs on the tile, after
// the bias.
// CHECK-LABEL: accel.program @bp_step
// CHECK: accel.gemm <tb, {{.*}}m = 2, k = 8, n = 4, phase = forward>
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.load <{{.*}}size = 4, {{.*}}tensor_class = weight, phase = forward>
// CHECK-NEXT: accel.vec axpy <rows = 2, cols = 4, d = [[ACC:0x[0-9a-f]+]], {{.*}}phase = forward>
// CHECK-NEXT: accel.vec relu <rows = 2, cols = 4, d = [[ACC]], d_rs = 4, d_cs = 1, a = [[ACC]], a_rs = 4, a_cs = 1, phase = forward>
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.store <dram = [[H:0x[0-9a-f]+]], chip = [[ACC]], size = 8, {{.*}}tensor_class = activation, phase = forward>
// No separate ReLU pass: the second layer reads the stored ReLU output.
// CHECK-NOT: accel.vec relu <
// CHECK: accel.load <dram = [[H]], size = 8,
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.load
// CHECK-NEXT: accel.gemm <tb, {{.*}}m = 2, k = 4, n = 3, phase = forward>
// The ReLU's gradient uses the mask of the stored output.
// CHECK: accel.vec relu_grad
// CHECK-LABEL: accel.program @eval_step
// CHECK: accel.vec relu <rows = 2, cols = 4, d = [[EACC:0x[0-9a-f]+]], {{.*}}phase = eval>
// CHECK-NOT: accel.vec relu <
// CHECK: }

module {
  ml_program.global private mutable @w(dense<0.5> : tensor<4x8xf32>) : tensor<4x8xf32>
  ml_program.global private mutable @m(dense<0.25> : tensor<2x4xf32>) : tensor<2x4xf32>
  // An nn.add of a global (loaded after the product) is an epilogue: the
  // addend is loaded as a [2, 4] box and added on the tile, and the store
  // writes the sum. An nn.add of a tensor computed after the product is not.
  // ADD-LABEL: accel.program @eval_step
  // ADD: accel.gemm <tb, {{.*}}m = 2, k = 8, n = 4, phase = eval>
  // ADD-NEXT: accel.dmacfg load.d12 <size_a = 2, dstride_a = 4, cstride_a = 4, phase = eval>
  // ADD-NEXT: accel.dmacfg
  // ADD-NEXT: accel.load <dram = 0x80, chip = [[MC:0x[0-9a-f]+]], size = 4, {{.*}}tensor_class = weight, phase = eval>
  // ADD-NEXT: accel.vec axpy <rows = 2, cols = 4, d = [[T:0x[0-9a-f]+]], d_rs = 4, d_cs = 1, a = [[MC]], a_rs = 4, a_cs = 1, b = [[T]], b_rs = 4, b_cs = 1, imm = 1.000000e+00, phase = eval>
  // ADD-NEXT: accel.dmacfg
  // ADD-NEXT: accel.dmacfg
  // ADD-NEXT: accel.store <dram = [[S:0x[0-9a-f]+]], chip = [[T]], size = 8,
  // ADD: accel.gemm <tb, {{.*}}m = 2, k = 8, n = 4, phase = eval>
  // ADD-NOT: accel.vec
  // ADD: accel.store <dram = [[Q:0x[0-9a-f]+]], chip = {{.*}}, size = 8,
  // The exp and the add after it are one fused element-wise loop.
  // ADD: accel.load <dram = [[S]], size = 8,
  // ADD: accel.load <dram = [[Q]], {{.*}}size = 8,
  // ADD-NEXT: accel.vec exp
  // ADD-NEXT: accel.vec add <rows = 1, cols = 8,
  func.func @eval_step(%x: tensor<2x8xf32> {onnx.name = "input"}) -> tensor<2x4xf32> {
    %w = ml_program.global_load @w : tensor<4x8xf32>
    %p = nn.gemm %x, %w {trans_b = true} : tensor<2x8xf32>, tensor<4x8xf32>
    %m = ml_program.global_load @m : tensor<2x4xf32>
    %s = nn.add %p, %m : tensor<2x4xf32>, tensor<2x4xf32>
    %q = nn.gemm %x, %w {trans_b = true} : tensor<2x8xf32>, tensor<4x8xf32>
    %e = nn.exp %s : tensor<2x4xf32>
    %t = nn.add %q, %e : tensor<2x4xf32>, tensor<2x4xf32>
    return %t : tensor<2x4xf32>
  }
}

// -----

// The DRAM plan keeps a fused product's operands live until its user: the
// ReLU's result (written by the product's epilogue) does not take the space
// of the product's input (at 320), which the product is still reading
// (first fit would put it there once the input is dead).
// PLAN: nn.sigmoid {{.*}}offset = 320, bytes = 64
// PLAN-NEXT: nn.gemm {{.*}}offset = 384, bytes = 64
// PLAN-NEXT: nn.relu {{.*}}offset = 448, bytes = 64
module {
  ml_program.global private mutable @v(dense<0.5> : tensor<8x8xf32>) : tensor<8x8xf32>
  func.func @eval_step(%x: tensor<2x8xf32> {onnx.name = "input"}) -> tensor<2x8xf32> {
    %v = ml_program.global_load @v : tensor<8x8xf32>
    %a = nn.sigmoid %x : tensor<2x8xf32>
    %p = nn.gemm %a, %v {trans_b = true} : tensor<2x8xf32>, tensor<8x8xf32>
    %r = nn.relu %p : tensor<2x8xf32>
    return %r : tensor<2x8xf32>
  }
}
