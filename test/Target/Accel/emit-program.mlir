// The binary program and its assembly text describe the same bytes: the
// disassembly of the binary is the text, and assembling the text gives the
// binary back. Labels become instruction indices, data segments are written
// in their region's storage order, and the symbol table and DMA tags travel
// in the SYMTAB and DMATAGS sections.

// RUN: adagp-translate --emit-accel-program --asm %s -o %t.s
// RUN: FileCheck %s < %t.s
// RUN: adagp-translate --emit-accel-program %s -o %t.agp
// RUN: adagp-sim --disassemble %t.agp -o %t.dis.s
// RUN: diff %t.s %t.dis.s
// RUN: adagp-sim --assemble %t.s -o %t.re.agp
// RUN: cmp %t.agp %t.re.agp
// The program runs: it counts down a loop, then doubles the matrix (as
// stored, transposed).
// RUN: adagp-sim %t.agp --max-instructions 100 --print-dram 0x40:6 | FileCheck %s --check-prefix=DRAM

// A [2 x 3] matrix stored column-major (layout [1, 0]): DRAM holds
// 1 4 2 5 3 6.
// CHECK: .data 0x0 hex 0000803f0000804000000040
// CHECK-SAME: 0000a040000040400000c040

// The symbol table (JSON) and one tag per instruction: the load moves a
// "weight" (1), the store an "activation" (2).
// CHECK: .section SYMTAB 1 hex 7b
// CHECK: .section DMATAGS 1 hex 00000001000200{{$}}

// CHECK: sopi.add rd=r1 imm=2
// CHECK-NEXT: L1:
// CHECK-NEXT: sopi.sub rd=r1 rs1=r1 imm=1
// CHECK-NEXT: br.ne rs1=r1 target=L1
// CHECK-NEXT: load size=6 dstride=1 cstride=1 deps=push_next
// CHECK-NEXT: vec.muli rows=1 cols=6 d=0x0 d_cs=1 a_cs=1 imm=2 deps=pop_prev|push_next
// CHECK-NEXT: store dram=0x40 size=6 dstride=1 cstride=1 deps=pop_prev
// CHECK-NEXT: finish
// DRAM-LABEL: dram[0x40]:
// DRAM-SAME: 2 8 4 10 6 12{{$}}

module attributes {accel.model = "test", accel.batch_size = 1 : i64} {
  accel.symbol "w" "parameter" : tensor<2x3xf32>
      at #accel.region<offset = 0, bytes = 24, class = "weight", layout = [1, 0]>
  accel.data dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
      at #accel.region<offset = 0, bytes = 24, class = "weight", layout = [1, 0]>
  accel.program @main {
    accel.sopi add <rd = r1, imm = 2>
    accel.label @again
    accel.sopi sub <rd = r1, rs1 = r1, imm = 1>
    accel.br ne <rs1 = r1, target = @again>
    accel.load <chip = 0, size = 6, dstride = 1, cstride = 1,
        tensor_class = weight, deps = [push_next]>
    accel.vec muli <rows = 1, cols = 6, d = 0, d_cs = 1, a = 0, a_cs = 1,
        imm = 2.0, deps = [pop_prev, push_next]>
    accel.store <dram = 0x40, chip = 0, size = 6, dstride = 1, cstride = 1,
        tensor_class = activation, deps = [pop_prev]>
    accel.finish <>
  }
}
