// RUN: not adagp-translate --emit-accel-program %s -o %t.agp 2>&1 | FileCheck %s
// RUN: not test -e %t.agp

// CHECK: error: {{.*}}: no accel.program of kind "main"
accel.program @sub attributes {kind = "subroutine"} {
  accel.nop <>
}
