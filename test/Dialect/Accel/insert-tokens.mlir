// RUN: adagp-opt %s --pass-pipeline='builtin.module(accel.program(accel-insert-tokens))' | FileCheck %s

// CHECK-LABEL: accel.program @main
accel.program @main {
  // Double buffering: two buffers (0x0, 0x100) alternate. Each GEMM waits
  // for the load of its buffer; the third load waits for the GEMM that last
  // read its buffer (the first), not for the latest GEMM.
  // CHECK: accel.load <dram = 0x0, chip = 0x0, {{.*}}deps = [push_next]>
  // CHECK-NEXT: accel.load <dram = 0x400, chip = 0x100, {{.*}}deps = [push_next]>
  // CHECK-NEXT: accel.gemm <a = 0x0, {{.*}}deps = [pop_prev, push_prev]>
  // CHECK-NEXT: accel.gemm <acc, a = 0x100, {{.*}}deps = [pop_prev]>
  // CHECK-NEXT: accel.load <dram = 0x800, chip = 0x0, {{.*}}deps = [pop_next, push_next]>
  // CHECK-NEXT: accel.gemm <acc, a = 0x0, {{.*}}deps = [pop_prev, push_next]>
  accel.load <dram = 0x0, chip = 0x0, size = 256, dstride = 1, cstride = 1>
  accel.load <dram = 0x400, chip = 0x100, size = 256, dstride = 1, cstride = 1>
  accel.gemm <a = 0x0, lda = 16, b = 0x1000, ldb = 16, c = 0x800000, ldc = 16, m = 16, k = 16, n = 16>
  accel.gemm <acc, a = 0x100, lda = 16, b = 0x1000, ldb = 16, c = 0x800000, ldc = 16, m = 16, k = 16, n = 16>
  accel.load <dram = 0x800, chip = 0x0, size = 256, dstride = 1, cstride = 1>
  accel.gemm <acc, a = 0x0, lda = 16, b = 0x1000, ldb = 16, c = 0x800000, ldc = 16, m = 16, k = 16, n = 16>
  // The store waits for the last GEMM writing what it reads (and pushes a
  // token to the load below, which reads back what it wrote).
  // CHECK-NEXT: accel.store <dram = 0x2000, chip = 0x800000, {{.*}}deps = [pop_prev, push_next]>
  accel.store <dram = 0x2000, chip = 0x800000, size = 256, dstride = 1, cstride = 1>
  // Overwriting the first input in DRAM needs no token: the store already
  // waits for the GEMM that waited for the load that read it.
  // CHECK-NEXT: accel.store <dram = 0x0, chip = 0x800000, {{.*}}>
  accel.store <dram = 0x0, chip = 0x800000, size = 256, dstride = 1, cstride = 1>
  // Reading back what the store queue wrote: the store -> load channel (the
  // ring's "next" of the store queue), no fence that would stop fetch.
  // CHECK-NOT: accel.fence
  // CHECK-NEXT: accel.load <dram = 0x2000, chip = 0x200, {{.*}}deps = [pop_prev]>
  accel.load <dram = 0x2000, chip = 0x200, size = 256, dstride = 1, cstride = 1>
  // A scalar store to DRAM that a queued load still reads waits for the
  // load queue; the store queue's conflicting store needs no fence of its
  // own: that load waited for it.
  // CHECK-NEXT: accel.fence <load, phase = control>
  // CHECK-NEXT: accel.sst dram.f32 <r = r1, addr = 0x2000>
  accel.sst dram.f32 <r = r1, addr = 0x2000>
  // Unrelated memory: nothing to order.
  // CHECK-NEXT: accel.sst dram.f32 <r = r1, addr = 0x9000>
  accel.sst dram.f32 <r = r1, addr = 0x9000>
  // The fence before the scalar store drained the load queue, so the
  // vector op reading the last load's data needs no token.
  // CHECK-NEXT: accel.vec relu <rows = 16, cols = 16, d = 0x300, d_rs = 16, d_cs = 1, a = 0x200, a_rs = 16, a_cs = 1>
  accel.vec relu <rows = 16, cols = 16, d = 0x300, d_rs = 16, d_cs = 1, a = 0x200, a_rs = 16, a_cs = 1>
  // A DRAM-to-DRAM copy: the store of what a load brought on chip pops the
  // load -> store channel (the load's "prev" on the ring).
  // CHECK-NEXT: accel.load <dram = 0x3000, chip = 0x400, {{.*}}deps = [push_prev]>
  // CHECK-NEXT: accel.store <dram = 0x4000, chip = 0x400, {{.*}}deps = [pop_next]>
  accel.load <dram = 0x3000, chip = 0x400, size = 16, dstride = 1, cstride = 1>
  accel.store <dram = 0x4000, chip = 0x400, size = 16, dstride = 1, cstride = 1>
  // Queues drain before a label: no token crosses a branch target.
  // CHECK-NEXT: accel.fence <phase = control>
  // CHECK-NEXT: accel.label @next
  accel.label @next
  // CHECK-NEXT: accel.load <dram = 0x0, chip = 0x300, size = 1, dstride = 1, cstride = 1>
  accel.load <dram = 0x0, chip = 0x300, size = 1, dstride = 1, cstride = 1>
  // CHECK-NEXT: accel.finish <>
  accel.finish <>
}
