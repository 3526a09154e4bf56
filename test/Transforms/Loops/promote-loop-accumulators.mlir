// RUN: adagp-opt %s --adagp-promote-loop-accumulators | FileCheck %s

// A per-channel sum in double over rows and columns: the accumulator's load
// and store leave both loops, and the value is carried in iter_args.
// CHECK-LABEL: func.func @channel_sum
// CHECK: scf.parallel (%[[C:.*]]) =
// CHECK-NEXT: %[[INIT:.*]] = memref.load %[[SUM:.*]][%[[C]]] : memref<16xf64>
// CHECK-NEXT: %[[R:.*]] = scf.for %{{.*}} iter_args(%[[A:.*]] = %[[INIT]]) -> (f64)
// CHECK-NEXT: %[[R2:.*]] = scf.for %{{.*}} iter_args(%[[B:.*]] = %[[A]]) -> (f64)
// CHECK-NEXT: memref.load %{{.*}} : memref<16x32x32xf32>
// CHECK-NEXT: arith.extf
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[B]], %{{.*}} : f64
// CHECK-NEXT: scf.yield %[[S]] : f64
// CHECK: scf.yield %[[R2]] : f64
// CHECK: memref.store %[[R]], %[[SUM]][%[[C]]] : memref<16xf64>
func.func @channel_sum(%x: memref<16x32x32xf32>, %sum: memref<16xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%c) = (%c0) to (%c16) step (%c1) {
    scf.for %h = %c0 to %c32 step %c1 {
      scf.for %w = %c0 to %c32 step %c1 {
        %v = memref.load %x[%c, %h, %w] : memref<16x32x32xf32>
        %acc = memref.load %sum[%c] : memref<16xf64>
        %e = arith.extf %v : f32 to f64
        %s = arith.addf %acc, %e : f64
        memref.store %s, %sum[%c] : memref<16xf64>
      }
    }
    scf.reduce
  }
  return
}

// Not promoted: the accumulator's buffer is also read at another element
// in the loop (through a view of the same allocation), its index changes
// with the loop, or the loop calls a function that may touch any buffer.
// CHECK-LABEL: func.func @not_promoted
// CHECK-NOT: iter_args
// CHECK: return
func.func @not_promoted(%x: memref<32xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %buf = memref.alloc() : memref<2xf32>
  %view = memref.subview %buf[1] [1] [1] : memref<2xf32> to memref<1xf32, strided<[1], offset: 1>>
  scf.for %i = %c0 to %c32 step %c1 {
    %v = memref.load %view[%c0] : memref<1xf32, strided<[1], offset: 1>>
    %a = memref.load %buf[%c0] : memref<2xf32>
    %s = arith.addf %a, %v : f32
    memref.store %s, %buf[%c0] : memref<2xf32>
  }
  scf.for %i = %c0 to %c32 step %c1 {
    %a = memref.load %x[%i] : memref<32xf32>
    %s = arith.addf %a, %a : f32
    memref.store %s, %x[%i] : memref<32xf32>
  }
  scf.for %i = %c0 to %c32 step %c1 {
    %a = memref.load %buf[%c0] : memref<2xf32>
    func.call @touch(%x) : (memref<32xf32>) -> ()
    memref.store %a, %buf[%c0] : memref<2xf32>
  }
  memref.dealloc %buf : memref<2xf32>
  return
}
func.func private @touch(memref<32xf32>)

// Not promoted either: a private function's arguments may be views of one
// buffer (its callers are not bound by the public calling convention).
// CHECK-LABEL: func.func private @private_sum
// CHECK-NOT: iter_args
// CHECK: return
func.func private @private_sum(%x: memref<32xf32>, %sum: memref<1xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  scf.for %i = %c0 to %c32 step %c1 {
    %v = memref.load %x[%i] : memref<32xf32>
    %acc = memref.load %sum[%c0] : memref<1xf64>
    %e = arith.extf %v : f32 to f64
    %s = arith.addf %acc, %e : f64
    memref.store %s, %sum[%c0] : memref<1xf64>
  }
  return
}
