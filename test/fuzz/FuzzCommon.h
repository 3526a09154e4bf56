//===- FuzzCommon.h - Shared pieces of the adagp fuzz targets ---*- C++ -*-===//

#ifndef ADAGP_TEST_FUZZ_FUZZCOMMON_H
#define ADAGP_TEST_FUZZ_FUZZCOMMON_H

#include "adagp/ISA/ISA.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace adagp::fuzz {

/// A program from fuzz input: the input itself if it is a valid program
/// file, otherwise every 32-byte chunk that decodes (plus a finish), so the
/// fuzzer reaches the simulator without having to forge a header first.
inline bool programFromBytes(const uint8_t *data, size_t size,
                             isa::Program &program) {
  std::string err;
  if (isa::readProgram(data, size, program, err))
    return true;
  program = isa::Program();
  for (size_t off = 0; off + isa::kInstructionBytes <= size;
       off += isa::kInstructionBytes) {
    isa::Instruction inst;
    if (isa::decode(data + off, inst, err))
      program.instructions.push_back(inst);
  }
  if (program.instructions.empty())
    return false;
  program.instructions.push_back(isa::makeInstruction(isa::Opcode::Finish));
  // Keep branch targets inside the program.
  uint64_t n = program.instructions.size();
  for (isa::Instruction &inst : program.instructions) {
    if (inst.opcode == isa::Opcode::Branch)
      inst.field[isa::branch::Target] %= int64_t(n);
    if (inst.opcode == isa::Opcode::Jump)
      inst.field[isa::jump::Target] %= int64_t(n);
  }
  return true;
}

[[noreturn]] inline void die(const char *what, const std::string &detail) {
  std::fprintf(stderr, "fuzz invariant violated: %s: %s\n", what,
               detail.c_str());
  std::abort();
}

} // namespace adagp::fuzz

#endif // ADAGP_TEST_FUZZ_FUZZCOMMON_H
