//===- fuzz_assembler.cpp - Fuzz the assembler ----------------------------===//
//
// Any text: the assembler rejects it with a "FILE:LINE: message" error, or
// produces a program that encodes and survives a disassembly round trip.
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"

#include "adagp/ISA/Assembler.h"

using namespace adagp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  isa::Program program;
  std::string err;
  if (!isa::assemble(text, "fuzz.s", program, err)) {
    if (err.rfind("fuzz.s:", 0) != 0)
      fuzz::die("error without a location", err);
    return 0;
  }
  std::vector<uint8_t> bytes, bytes2;
  if (!isa::writeProgram(program, bytes, err))
    fuzz::die("assembled program does not encode", err);
  isa::Program again;
  if (!isa::assemble(isa::disassemble(program), "dis.s", again, err))
    fuzz::die("disassembly does not assemble", err);
  if (!isa::writeProgram(again, bytes2, err) || bytes != bytes2)
    fuzz::die("disassembly round trip changed the program", err);
  return 0;
}
