// RUN: adagp-opt %s | FileCheck %s
// RUN: adagp-opt %s | adagp-opt | FileCheck %s
// RUN: adagp-opt %s -mlir-print-op-generic | adagp-opt | FileCheck %s

// Every instruction op with its fields, printed in ISA order (gemm's flags
// ta tb tc acc keep first) with addresses in hex, registers as rN and
// floats as floats.

// CHECK: accel.symbol "conv1.weight" "parameter" : tensor<6x1x5x5xf32> at <offset = 0, bytes = 600, class = "weight", layout = [2, 3, 1, 0]>
accel.symbol "conv1.weight" "parameter" : tensor<6x1x5x5xf32>
    at #accel.region<offset = 0, bytes = 600, class = "weight", layout = [2, 3, 1, 0]>
// CHECK: accel.data dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32> at <offset = 640, bytes = 8, class = "constant", layout = []>
accel.data dense<[1.0, 2.0]> : tensor<2xf32>
    at #accel.region<offset = 640, bytes = 8, class = "constant", layout = []>

// CHECK-LABEL: accel.program @main {
accel.program @main {
  // CHECK-NEXT: accel.label @top
  accel.label @top
  // CHECK-NEXT: accel.dmacfg load.d12 <size_a = 8, start_a = -1, extent_a = 8, dstride_a = 16, cstride_a = 16, size_b = 8, start_b = -1, extent_b = 8, dstride_b = 128, cstride_b = 128>
  accel.dmacfg load.d12 <size_a = 8, start_a = -1, extent_a = 8, dstride_a = 16,
      cstride_a = 16, size_b = 8, start_b = -1, extent_b = 8, dstride_b = 128,
      cstride_b = 128>
  // CHECK-NEXT: accel.load <dram = 0x1000, chip = 0x0, size = 16, dstride = 1, cstride = 1, pad = -1.500000e+00, tensor_class = activation, phase = forward, deps = [push_next]>
  accel.load <dram = 4096, chip = 0, size = 16, dstride = 1, cstride = 1,
      pad = -1.5, tensor_class = activation, phase = forward, deps = [push_next]>
  // CHECK-NEXT: accel.gemm <tb, acc, a = 0x0, lda = 16, b = 0x400, ldb = 16, c = 0x800000, ldc = 16, m = 64, k = 16, n = 16, deps = [pop_prev, push_next]>
  accel.gemm <acc, a = 0, lda = 16, b = 1024, ldb = 16, tb, c = 0x800000,
      ldc = 16, m = 64, k = 16, n = 16, deps = [pop_prev, push_next]>
  // CHECK-NEXT: accel.vec affine <rows = 64, cols = 16, d = 0x800000, d_rs = 16, d_cs = 1, a = 0x800000, a_rs = 16, a_cs = 1, b = 0x2000, b_rs = 16, b_cs = 1>
  accel.vec affine <rows = 64, cols = 16, d = 0x800000, d_rs = 16, d_cs = 1,
      a = 0x800000, a_rs = 16, a_cs = 1, b = 0x2000, b_rs = 16, b_cs = 1>
  // Non-finite immediates print as their bit pattern.
  // CHECK-NEXT: accel.vec fill <rows = 1, cols = 4, d = 0x10, d_cs = 1, imm = 0xff800000>
  accel.vec fill <rows = 1, cols = 4, d = 16, d_cs = 1, imm = 0xFF800000>
  // CHECK-NEXT: accel.pool max_grad <n = 4, h = 28, w = 28, c = 6, oh = 14, ow = 14, kh = 2, kw = 2, sh = 2, sw = 2, in = 0x0, aux = 0x1000, out = 0x8000>
  accel.pool max_grad <n = 4, h = 28, w = 28, c = 6, oh = 14, ow = 14, kh = 2,
      kw = 2, sh = 2, sw = 2, in = 0, aux = 4096, out = 32768>
  // CHECK-NEXT: accel.xent <b = 4, k = 10, logits = 0x0, logits_rs = 10, labels = 0x28, grad = 0x2c, grad_rs = 10, loss = 0x54, scale = 2.500000e-01, phase = loss>
  accel.xent <b = 4, k = 10, logits = 0, logits_rs = 10, labels = 40, grad = 44,
      grad_rs = 10, loss = 84, scale = 0.25, phase = loss>
  // CHECK-NEXT: accel.opt momentum <n = 600, param = 0x0, grad = 0x258, m = 0x4b0, hp = 0x708, phase = update>
  accel.opt momentum <n = 600, param = 0, grad = 600, m = 1200, hp = 1800,
      phase = update>
  // CHECK-NEXT: accel.store <dram = 0x2000, chip = 0x800000, size = 16, dstride = 1, cstride = 1, deps = [pop_prev]>
  accel.store <dram = 0x2000, chip = 0x800000, size = 16, dstride = 1,
      cstride = 1, deps = [pop_prev]>
  // CHECK-NEXT: accel.fence <store>
  accel.fence <store>
  // CHECK-NEXT: accel.sld dram.i64 <r = r5, addr = 0x40>
  accel.sld dram.i64 <r = r5, addr = 64>
  // CHECK-NEXT: accel.sop add <rd = r6, rs1 = r5, rs2 = r4>
  accel.sop add <rd = r6, rs1 = r5, rs2 = r4>
  // CHECK-NEXT: accel.sopi fadd <rd = r2, imm = 1.000000e-02, phase = control>
  accel.sopi fadd <rd = r2, imm = 0.01, phase = control>
  // CHECK-NEXT: accel.sopi add <rd = r3, rs1 = r3, imm = -7>
  accel.sopi add <rd = r3, rs1 = r3, imm = -7>
  // CHECK-NEXT: accel.sst dram.f32 <r = r2, addr = 0x80>
  accel.sst dram.f32 <r = r2, addr = 128>
  // CHECK-NEXT: accel.recv <rd = r1, stream = 2, phase = io>
  accel.recv <rd = r1, stream = 2, phase = io>
  // CHECK-NEXT: accel.recv <rd = r2, in = 0x100, in_bytes = 64, labels = 0x200, label_bytes = 16>
  accel.recv <rd = r2, in = 256, in_bytes = 64, labels = 512, label_bytes = 16>
  // CHECK-NEXT: accel.send dram.f32 <tag = 3, addr = 0x300, count = 1>
  accel.send dram.f32 <tag = 3, addr = 768, count = 1>
  // CHECK-NEXT: accel.br eq <rs1 = r1, target = @done>
  accel.br eq <rs1 = r1, target = @done>
  // CHECK-NEXT: accel.jump jal <rd = r31, target = @top>
  accel.jump jal <rd = r31, target = @top>
  // CHECK-NEXT: accel.jump jr <rs1 = r31>
  accel.jump jr <rs1 = r31>
  // CHECK-NEXT: accel.label @done
  accel.label @done
  // CHECK-NEXT: accel.nop <>
  accel.nop <>
  // CHECK-NEXT: accel.finish <>
  accel.finish <>
}
