//===- Assembler.h - Text form of accelerator programs ----------*- C++ -*-===//
//
// The assembly syntax (docs/isa.md, "Assembly syntax"):
//
//   # comment (also ';')
//   .equ NAME VALUE            symbolic constant (integer expression)
//   .phase forward             default phase label for what follows
//   .data ADDR f32|i32|hex ... a DRAM data segment loaded before the program
//   label:
//     load dram=X chip=0 size=64 dstride=1 cstride=1 deps=push_next
//     br.lt rs1=r1 rs2=r2 target=label phase=control
//
// Every instruction is a mnemonic (opcode[.funct]) followed by key=value
// fields from the opcode's field table in ISA.h, plus the common keys
// `phase=` and `deps=` (flags joined by '|'). Omitted fields are zero
// (counts one). The disassembler prints text that reassembles to the same
// bytes.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_ISA_ASSEMBLER_H
#define ADAGP_ISA_ASSEMBLER_H

#include "adagp/ISA/ISA.h"

#include <string>

namespace adagp::isa {

/// Assembles `text`. On failure returns false and sets `err` to
/// "FILE:LINE: message".
bool assemble(const std::string &text, const std::string &fileName,
              Program &program, std::string &err);

/// One instruction in assembly syntax, without phase (the caller tracks it)
/// and with branch targets written as `L<index>`.
std::string formatInstruction(const Instruction &inst, bool withPhase = true);

/// The whole program, data segments first. Reassembles to identical bytes.
std::string disassemble(const Program &program);

} // namespace adagp::isa

#endif // ADAGP_ISA_ASSEMBLER_H
