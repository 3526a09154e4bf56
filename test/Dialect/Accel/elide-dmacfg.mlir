// RUN: adagp-opt %s --pass-pipeline='builtin.module(accel.program(accel-elide-dmacfg))' | FileCheck %s

// CHECK-LABEL: accel.program @main
accel.program @main {
  // CHECK-NEXT: accel.dmacfg load.d12 <size_a = 4, dstride_a = 16, cstride_a = 16>
  // CHECK-NEXT: accel.dmacfg load.d34 <>
  // CHECK-NEXT: accel.load <dram = 0x0
  accel.dmacfg load.d12 <size_a = 4, dstride_a = 16, cstride_a = 16>
  accel.dmacfg load.d34 <>
  accel.load <dram = 0x0, size = 16, dstride = 1, cstride = 1>
  // The same descriptor again: both writes go.
  // CHECK-NEXT: accel.load <dram = 0x100
  accel.dmacfg load.d12 <size_a = 4, dstride_a = 16, cstride_a = 16>
  accel.dmacfg load.d34 <>
  accel.load <dram = 0x100, size = 16, dstride = 1, cstride = 1>
  // The store queue's registers are separate.
  // CHECK-NEXT: accel.dmacfg store.d12 <size_a = 4, dstride_a = 16, cstride_a = 16>
  // CHECK-NEXT: accel.dmacfg store.d34 <>
  // CHECK-NEXT: accel.store <dram = 0x200
  accel.dmacfg store.d12 <size_a = 4, dstride_a = 16, cstride_a = 16>
  accel.dmacfg store.d34 <>
  accel.store <dram = 0x200, size = 16, dstride = 1, cstride = 1>
  // A change is kept; the unchanged pair is not.
  // CHECK-NEXT: accel.dmacfg load.d12 <size_a = 8, dstride_a = 16, cstride_a = 16>
  // CHECK-NEXT: accel.load <dram = 0x300
  accel.dmacfg load.d12 <size_a = 8, dstride_a = 16, cstride_a = 16>
  accel.dmacfg load.d34 <>
  accel.load <dram = 0x300, size = 16, dstride = 1, cstride = 1>
  // After a label (another path may arrive) and after a call everything is
  // written again.
  // CHECK-NEXT: accel.label @l
  // CHECK-NEXT: accel.dmacfg load.d12 <size_a = 8, dstride_a = 16, cstride_a = 16>
  // CHECK-NEXT: accel.dmacfg load.d34 <>
  accel.label @l
  accel.dmacfg load.d12 <size_a = 8, dstride_a = 16, cstride_a = 16>
  accel.dmacfg load.d34 <>
  // CHECK-NEXT: accel.jump jal <rd = r31, target = @l>
  // CHECK-NEXT: accel.dmacfg load.d34 <>
  accel.jump jal <rd = r31, target = @l>
  accel.dmacfg load.d34 <>
  // CHECK-NEXT: accel.finish
  accel.finish <>
}
