// RUN: adagp-opt %s --split-input-file --accel-plan-dram --accel-tile --accel-lower-steps | FileCheck %s
// RUN: adagp-opt %s --split-input-file --accel-plan-dram | FileCheck %s --check-prefix=PLAN

// Consecutive element-wise ops of one result type, each reading what an
// earlier one reads or computes, are one chunk loop: every external operand
// is loaded once per chunk, the intermediate results stay on chip, and only
// what is read after the group is stored. The predictor's running baseline
// b + k * (t - b) is written back into the global's own region (in place:
// the loop reads each chunk of the old value before it stores the chunk),
// so the global_store copies nothing. The exp after the store is a loop of
// its own.

// CHECK: @base({{.*}}accel.dram = #accel.region<offset = [[#BASE:]],
// CHECK-LABEL: accel.program @gp_step
// CHECK: accel.load <dram = 0x[[#%x,INPUT:]], size = 32,
// CHECK: accel.load <dram = 0x[[#%x,BASE]], chip = [[B:0x[0-9a-f]+]], size = 32,
// CHECK: accel.load <{{.*}}size = 1, dstride = 0,
// CHECK-NEXT: accel.vec sub <rows = 1, cols = 32, d = [[D:0x[0-9a-f]+]], {{.*}}b = [[B]],
// CHECK-NEXT: accel.vec mul <{{.*}}d = [[M:0x[0-9a-f]+]], {{.*}}b = [[D]],
// CHECK-NEXT: accel.vec add <{{.*}}d = [[N:0x[0-9a-f]+]], {{.*}}a = [[B]], {{.*}}b = [[M]],
// CHECK-NOT: accel.load
// CHECK: accel.store <dram = 0x[[#%x,BASE]], chip = [[N]], size = 32,
// CHECK-NOT: accel.store <dram = 0x[[#%x,BASE]],
// CHECK: accel.load <dram = 0x[[#%x,INPUT]], size = 32,
// CHECK-NEXT: accel.vec exp
// CHECK-NOT: accel.vec
// CHECK: accel.store
// CHECK-NEXT: }
module {
  ml_program.global private mutable @k(dense<0.1> : tensor<f32>) : tensor<f32>
  ml_program.global private mutable @base(dense<0.0> : tensor<4x8xf32>) : tensor<4x8xf32>
  func.func @gp_step(%t: tensor<4x8xf32> {onnx.name = "input"}) -> tensor<4x8xf32> {
    %b = ml_program.global_load @base : tensor<4x8xf32>
    %k = ml_program.global_load @k : tensor<f32>
    %d = nn.sub %t, %b : tensor<4x8xf32>, tensor<4x8xf32>
    %m = nn.mul %k, %d : tensor<f32>, tensor<4x8xf32>
    %n = nn.add %b, %m : tensor<4x8xf32>, tensor<4x8xf32>
    ml_program.global_store @base = %n : tensor<4x8xf32>
    %e = nn.exp %t : tensor<4x8xf32>
    return %e : tensor<4x8xf32>
  }
}

// -----

// A batch normalisation's normalising pass leads a group: the residual sum and the
// ReLU after it run in the loop that normalises each chunk (rows of all 4
// channels, the statistics' vectors broadcast along them), and only the
// ReLU's result is stored; y and the sum never go to DRAM.

// CHECK: accel.program @gp_step {{.*}}accel.results = [#accel.region<offset = [[#RESULT:]],
// One read of x gives both statistics: the chunk's mean, then its centred
// squares (chunks' statistics are merged; here one chunk holds all 128 rows).
// CHECK: accel.load <dram = 0x80, size = 512,
// CHECK-NEXT: accel.vec colsum <rows = 128, cols = 4, d = [[MEAN:0x[0-9a-f]+]],
// CHECK-NEXT: accel.vec muli
// CHECK-NEXT: accel.vec sub <rows = 128, cols = 4, {{.*}}b = [[MEAN]],
// CHECK-NEXT: accel.vec colsumsq <rows = 128, cols = 4,
// CHECK-NOT: accel.load <dram = 0x80,
// CHECK: accel.vec rsqrt
// CHECK: accel.load <dram = 0x80, {{.*}}size = 512,
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.load <dram = 0x880, chip = [[R:0x[0-9a-f]+]], size = 512,
// CHECK-NEXT: accel.vec sub <rows = 128, cols = 4, d = [[Y:0x[0-9a-f]+]],
// CHECK-NEXT: accel.vec affine <rows = 128, cols = 4, d = [[Y]], {{.*}}a = [[Y]],
// CHECK-NEXT: accel.vec add <rows = 128, cols = 4, d = [[A:0x[0-9a-f]+]], {{.*}}a = [[Y]], {{.*}}b = [[R]],
// CHECK-NEXT: accel.vec relu <rows = 128, cols = 4, d = [[Z:0x[0-9a-f]+]], {{.*}}a = [[A]],
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.dmacfg
// CHECK-NEXT: accel.store <dram = 0x[[#%x,RESULT]], chip = [[Z]], size = 512,
// CHECK-NOT: size = 512
// CHECK-NOT: accel.vec relu
// CHECK: }
module {
  ml_program.global private mutable @s(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @rm(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  func.func @gp_step(%x: tensor<2x4x8x8xf32> {onnx.name = "input"}, %r: tensor<2x4x8x8xf32> {onnx.name = "res"}) -> tensor<2x4x8x8xf32> {
    %s = ml_program.global_load @s : tensor<4xf32>
    %rm = ml_program.global_load @rm : tensor<4xf32>
    %y, %rmo, %rvo, %bm, %bv = nn.batch_norm_train %x, %s, %s, %rm, %s {epsilon = 1.0e-5 : f64, momentum = 0.9 : f64} : tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
    %a = nn.add %y, %r : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
    %z = nn.relu %a : tensor<2x4x8x8xf32>
    ml_program.global_store @rm = %rmo : tensor<4xf32>
    return %z : tensor<2x4x8x8xf32>
  }
}

// -----

// The group (exp, add) runs as one loop at the exp, so the add's result is
// written while the loop still reads the product: the DRAM plan keeps the
// product live until the add, which therefore does not take its region
// (first fit would put it there once the exp is the product's last reader).
// PLAN-LABEL: func.func @eval_step
// PLAN: nn.gemm {{.*}}accel.dram = [#accel.region<offset = [[#X:]], bytes = 128,
// PLAN-NEXT: nn.exp {{.*}}accel.dram = [#accel.region<offset = [[#X+128]], bytes = 128,
// PLAN-NEXT: nn.add {{.*}}accel.dram = [#accel.region<offset = [[#X+256]], bytes = 128,
module {
  ml_program.global private mutable @w(dense<0.5> : tensor<8x8xf32>) : tensor<8x8xf32>
  func.func @eval_step(%in: tensor<4x8xf32> {onnx.name = "input"}, %z: tensor<4x8xf32> {onnx.name = "z"}) -> tensor<4x8xf32> {
    %w = ml_program.global_load @w : tensor<8x8xf32>
    %x = nn.gemm %in, %w {trans_b = true} : tensor<4x8xf32>, tensor<8x8xf32>
    %e = nn.exp %x : tensor<4x8xf32>
    %s = nn.add %e, %z : tensor<4x8xf32>, tensor<4x8xf32>
    return %s : tensor<4x8xf32>
  }
}
