// RUN: adagp-opt %s --adagp-sequentialize-inner-dims | FileCheck %s
// RUN: adagp-opt %s --adagp-sequentialize-inner-dims=min-parallel=1024 | FileCheck %s --check-prefix=WIDER

// An elementwise loop over [64, 16, 32, 32]: the batch dimension alone gives
// 64 parallel iterations, so channel, row and column become scf.for loops,
// innermost the unit-stride column, with the body unchanged.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.parallel (%[[N:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT: scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NEXT: scf.for %[[H:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NEXT: scf.for %[[W:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NEXT: memref.load %{{.*}}[%[[N]], %[[C]], %[[H]], %[[W]]]
// CHECK-NEXT: memref.load %{{.*}}[%[[C]]]
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: memref.store %{{.*}}[%[[N]], %[[C]], %[[H]], %[[W]]]
// CHECK-NOT: scf.parallel
// With min-parallel=1024, batch and channel stay parallel (64 x 16).
// WIDER-LABEL: func.func @elementwise
// WIDER: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to
// WIDER-NEXT: scf.for
// WIDER-NEXT: scf.for
// WIDER-NOT: scf.for
func.func @elementwise(%x: memref<64x16x32x32xf32>, %s: memref<16xf32>,
                       %y: memref<64x16x32x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%n, %c, %h, %w) = (%c0, %c0, %c0, %c0)
      to (%c64, %c16, %c32, %c32) step (%c1, %c1, %c1, %c1) {
    %a = memref.load %x[%n, %c, %h, %w] : memref<64x16x32x32xf32>
    %b = memref.load %s[%c] : memref<16xf32>
    %p = arith.mulf %a, %b : f32
    memref.store %p, %y[%n, %c, %h, %w] : memref<64x16x32x32xf32>
    scf.reduce
  }
  return
}

// A loop whose first dimension already gives too few iterations keeps as
// many as it needs; one that cannot reach the threshold stays whole, and so
// does a loop with a dynamic bound or a reduction.
// CHECK-LABEL: func.func @small_and_dynamic
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[D:.*]])
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} init
// CHECK-NOT: scf.for
func.func @small_and_dynamic(%x: memref<4x8xf32>, %d: index,
                             %z: memref<?x?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    memref.store %zero, %x[%i, %j] : memref<4x8xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%d, %d) step (%c1, %c1) {
    memref.store %zero, %z[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  %sum = scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1)
      init (%zero) -> f32 {
    %v = memref.load %x[%i, %j] : memref<4x8xf32>
    scf.reduce(%v : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}
