//===- make_seeds.cpp - Seed corpora for the fuzz targets -----------------===//
//
// make_seeds OUT_DIR FILE.s...: writes each assembled program as OUT_DIR/
// NAME.agp (the program and simulator fuzzers' seeds).
//
//===----------------------------------------------------------------------===//

#include "adagp/ISA/Assembler.h"

#include <cstdio>
#include <fstream>
#include <sstream>

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR FILE.s...\n");
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i]);
    std::stringstream ss;
    ss << in.rdbuf();
    adagp::isa::Program p;
    std::string err;
    std::vector<uint8_t> bytes;
    if (!adagp::isa::assemble(ss.str(), argv[i], p, err) ||
        !adagp::isa::writeProgram(p, bytes, err))
      continue; // seeds that do not assemble (error tests) are skipped
    std::string name = argv[i];
    name = name.substr(name.find_last_of('/') + 1);
    std::ofstream out(std::string(argv[1]) + "/" + name + ".agp",
                      std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  }
  return 0;
}
