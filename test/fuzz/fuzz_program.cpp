//===- fuzz_program.cpp - Fuzz the program reader and disassembler -------===//
//
// Any bytes: readProgram either rejects them with a message or accepts a
// program whose disassembly re-assembles to exactly the same bytes.
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"

#include "adagp/ISA/Assembler.h"

using namespace adagp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  isa::Program program;
  std::string err;
  if (!isa::readProgram(data, size, program, err)) {
    if (err.empty())
      fuzz::die("rejection without a message", "");
    return 0;
  }
  std::vector<uint8_t> bytes;
  if (!isa::writeProgram(program, bytes, err))
    fuzz::die("accepted program does not re-encode", err);
  if (bytes.size() != size || !std::equal(bytes.begin(), bytes.end(), data))
    fuzz::die("re-encoding differs from the input", "");
  std::string text = isa::disassemble(program);
  isa::Program again;
  if (!isa::assemble(text, "fuzz.s", again, err))
    fuzz::die("disassembly does not assemble", err);
  std::vector<uint8_t> bytes2;
  if (!isa::writeProgram(again, bytes2, err) || bytes2 != bytes)
    fuzz::die("disassembly round trip changed the program", err);
  return 0;
}
