//===- ISATest.cpp - Encoding, decoding and program files -----------------===//

#include "adagp/ISA/ISA.h"
#include "adagp/ISA/Assembler.h"

#include <cstring>
#include <gtest/gtest.h>
#include <random>

using namespace adagp::isa;

namespace {

/// A random instruction of opcode `op` with every field drawn from its whole
/// range and legal phase/deps.
Instruction randomInstruction(Opcode op, std::mt19937_64 &rng,
                              uint64_t programSize) {
  const OpcodeInfo &info = opcodeInfo(op);
  uint8_t funct = info.numFuncts ? uint8_t(rng() % info.numFuncts) : 0;
  uint8_t deps = uint8_t(rng() & allowedDeps(info.queue));
  Instruction inst =
      makeInstruction(op, funct, static_cast<Phase>(rng() % kNumPhases), deps);
  for (unsigned i = 0; i < info.numFields; ++i) {
    const FieldInfo &f = info.fields[i];
    int64_t lo, hi;
    fieldRange(f, lo, hi);
    if (f.kind == FieldKind::Target) {
      inst.field[i] = int64_t(rng() % programSize);
      continue;
    }
    // Mix extremes with uniform values so sign and width edges are covered.
    switch (rng() % 4) {
    case 0:
      inst.field[i] = lo;
      break;
    case 1:
      inst.field[i] = hi;
      break;
    default: {
      uint64_t span = uint64_t(hi) - uint64_t(lo);
      uint64_t r = span == UINT64_MAX ? rng() : rng() % (span + 1);
      inst.field[i] = int64_t(uint64_t(lo) + r);
    }
    }
  }
  return inst;
}

bool sameInstruction(const Instruction &a, const Instruction &b) {
  if (a.opcode != b.opcode || a.funct != b.funct || a.phase != b.phase ||
      a.deps != b.deps)
    return false;
  for (unsigned i = 0; i < kMaxFields; ++i)
    if (a.field[i] != b.field[i])
      return false;
  return true;
}

} // namespace

TEST(ISA, EveryOpcodeRoundTripsWithRandomFields) {
  std::mt19937_64 rng(42);
  for (unsigned o = 1; o < static_cast<unsigned>(Opcode::NumOpcodes); ++o) {
    Opcode op = static_cast<Opcode>(o);
    const OpcodeInfo &info = opcodeInfo(op);
    unsigned bits = kHeaderBits;
    for (unsigned i = 0; i < info.numFields; ++i)
      bits += info.fields[i].width;
    ASSERT_LE(bits, kInstructionBits) << info.name;
    ASSERT_LE(info.numFields, kMaxFields) << info.name;
    for (int trial = 0; trial < 300; ++trial) {
      Instruction inst = randomInstruction(op, rng, 1000);
      uint8_t buf[kInstructionBytes];
      std::string err;
      ASSERT_TRUE(encode(inst, buf, err)) << info.name << ": " << err;
      Instruction back;
      ASSERT_TRUE(decode(buf, back, err)) << info.name << ": " << err;
      ASSERT_TRUE(sameInstruction(inst, back))
          << info.name << " trial " << trial;
    }
  }
}

TEST(ISA, EncodeRejectsOutOfRangeFields) {
  Instruction g = makeInstruction(Opcode::Gemm);
  g.set(gemm::K, 257);
  uint8_t buf[kInstructionBytes];
  std::string err;
  EXPECT_FALSE(encode(g, buf, err));
  EXPECT_NE(err.find("field 'k'"), std::string::npos) << err;
  Instruction l = makeInstruction(Opcode::Load);
  l.set(dma::Start, -(1 << 19) - 1);
  EXPECT_FALSE(encode(l, buf, err));
  EXPECT_NE(err.find("start"), std::string::npos) << err;
  // Control instructions take no tokens (every queue has two neighbours on
  // the ring load -> execute -> store -> load).
  Instruction s = makeInstruction(Opcode::Fence, 0, Phase::Other, kPushNext);
  EXPECT_FALSE(encode(s, buf, err));
  EXPECT_NE(err.find("control queue"), std::string::npos) << err;
  Instruction st = makeInstruction(Opcode::Store, 0, Phase::Other, kPushNext);
  st.set(dma::Size, 1);
  EXPECT_TRUE(encode(st, buf, err)) << err;
}

TEST(ISA, DecodeRejectsBadWords) {
  uint8_t buf[kInstructionBytes] = {};
  Instruction inst;
  std::string err;
  EXPECT_FALSE(decode(buf, inst, err)); // opcode 0
  EXPECT_NE(err.find("unknown opcode 0x00"), std::string::npos);
  buf[0] = 0xee;
  EXPECT_FALSE(decode(buf, inst, err));
  EXPECT_NE(err.find("unknown opcode 0xee"), std::string::npos);
  // A valid nop with a reserved bit set.
  std::memset(buf, 0, sizeof(buf));
  buf[0] = uint8_t(Opcode::Nop);
  ASSERT_TRUE(decode(buf, inst, err)) << err;
  buf[31] = 0x80;
  EXPECT_FALSE(decode(buf, inst, err));
  EXPECT_NE(err.find("reserved bits"), std::string::npos);
  // Bad function code and phase.
  std::memset(buf, 0, sizeof(buf));
  buf[0] = uint8_t(Opcode::Vec);
  buf[2] = 250;
  EXPECT_FALSE(decode(buf, inst, err));
  EXPECT_NE(err.find("function code"), std::string::npos);
  std::memset(buf, 0, sizeof(buf));
  buf[0] = uint8_t(Opcode::Nop);
  buf[1] = 0x0f; // phase 15
  EXPECT_FALSE(decode(buf, inst, err));
  EXPECT_NE(err.find("phase"), std::string::npos);
  // Dependency flags on a control instruction.
  buf[1] = 0x10;
  EXPECT_FALSE(decode(buf, inst, err));
  EXPECT_NE(err.find("dependency"), std::string::npos);
}

TEST(ISA, ProgramFileRoundTripAndValidation) {
  std::mt19937_64 rng(7);
  Program p;
  for (int i = 0; i < 500; ++i) {
    Opcode op = static_cast<Opcode>(
        1 + rng() % (static_cast<unsigned>(Opcode::NumOpcodes) - 1));
    p.instructions.push_back(randomInstruction(op, rng, 500));
  }
  p.segments.push_back({0x1000, {1, 2, 3, 4, 5, 6, 7, 8}});
  p.segments.push_back({0x0, {}});
  std::vector<uint8_t> bytes;
  std::string err;
  ASSERT_TRUE(writeProgram(p, bytes, err)) << err;
  Program back;
  ASSERT_TRUE(readProgram(bytes.data(), bytes.size(), back, err)) << err;
  ASSERT_EQ(back.instructions.size(), p.instructions.size());
  for (size_t i = 0; i < p.instructions.size(); ++i)
    ASSERT_TRUE(sameInstruction(p.instructions[i], back.instructions[i])) << i;
  ASSERT_EQ(back.segments.size(), 2u);
  EXPECT_EQ(back.segments[0].dramAddr, 0x1000u);
  EXPECT_EQ(back.segments[0].bytes, p.segments[0].bytes);

  // Truncations anywhere fail cleanly.
  for (size_t cut : {size_t(0), size_t(10), size_t(31), size_t(32 + 31),
                     bytes.size() - 1, bytes.size() - 9}) {
    EXPECT_FALSE(readProgram(bytes.data(), cut, back, err)) << cut;
    EXPECT_FALSE(err.empty());
  }
  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(readProgram(trailing.data(), trailing.size(), back, err));
  EXPECT_NE(err.find("trailing"), std::string::npos);
  std::vector<uint8_t> badMagic = bytes;
  badMagic[0] = 'X';
  EXPECT_FALSE(readProgram(badMagic.data(), badMagic.size(), back, err));
  EXPECT_NE(err.find("magic"), std::string::npos);
  // An unknown opcode names the instruction index.
  std::vector<uint8_t> badOp = bytes;
  badOp[kProgramHeaderBytes + 3 * kInstructionBytes] = 0xff;
  EXPECT_FALSE(readProgram(badOp.data(), badOp.size(), back, err));
  EXPECT_NE(err.find("instruction #3"), std::string::npos) << err;
  // The sectioned version with an empty section table is not the canonical
  // encoding of a program without sections (the fuzzer's re-encoding
  // invariant): rejected.
  std::vector<uint8_t> emptyTable = bytes;
  emptyTable[8] = uint8_t(kProgramVersion);
  emptyTable.insert(emptyTable.end(), 8, 0);
  EXPECT_FALSE(readProgram(emptyTable.data(), emptyTable.size(), back, err));
  EXPECT_NE(err.find("no sections"), std::string::npos) << err;
}

TEST(ISA, BranchTargetOutsideProgramIsRejected) {
  Program p;
  Instruction b = makeInstruction(Opcode::Branch);
  b.set(branch::Target, 5);
  p.instructions.push_back(b);
  std::vector<uint8_t> bytes;
  std::string err;
  ASSERT_TRUE(writeProgram(p, bytes, err));
  Program back;
  EXPECT_FALSE(readProgram(bytes.data(), bytes.size(), back, err));
  EXPECT_NE(err.find("instruction #0 (br.eq)"), std::string::npos) << err;
  EXPECT_NE(err.find("target 5"), std::string::npos) << err;
}

TEST(ISA, DisassemblyReassemblesToIdenticalBytes) {
  std::mt19937_64 rng(99);
  Program p;
  for (int i = 0; i < 2000; ++i) {
    Opcode op = static_cast<Opcode>(
        1 + rng() % (static_cast<unsigned>(Opcode::NumOpcodes) - 1));
    p.instructions.push_back(randomInstruction(op, rng, 2000));
  }
  p.segments.push_back({0x40, {0xde, 0xad, 0xbe, 0xef}});
  std::vector<uint8_t> bytes, again;
  std::string err;
  ASSERT_TRUE(writeProgram(p, bytes, err)) << err;
  std::string text = disassemble(p);
  Program re;
  ASSERT_TRUE(assemble(text, "dis.s", re, err)) << err;
  ASSERT_TRUE(writeProgram(re, again, err)) << err;
  ASSERT_EQ(bytes.size(), again.size());
  for (size_t i = 0; i < bytes.size(); ++i)
    ASSERT_EQ(bytes[i], again[i])
        << "byte " << i << " instruction "
        << (i - kProgramHeaderBytes) / kInstructionBytes << ": "
        << formatInstruction(
               p.instructions[(i - kProgramHeaderBytes) / kInstructionBytes]);
}

// Found by fuzz_program: two segments where the second starts at the end of
// the first were merged by the assembler, so the round trip lost a segment.
TEST(ISA, TouchingSegmentsStaySeparateThroughAssembly) {
  Program p;
  p.instructions.push_back(Instruction{});
  p.segments.push_back({0x100, {1, 2, 3, 4}});
  p.segments.push_back({0x104, {5, 6, 7, 8}});
  p.segments.push_back({0x200, {9, 9, 9, 9}});
  std::string text = disassemble(p);
  EXPECT_NE(text.find(".segment 0x104 hex 05060708"), std::string::npos)
      << text;
  Program re;
  std::string err;
  ASSERT_TRUE(assemble(text, "dis.s", re, err)) << err;
  ASSERT_EQ(re.segments.size(), 3u);
  EXPECT_EQ(re.segments[1].dramAddr, 0x104u);
  // .data lines that continue each other still form one segment.
  Program merged;
  ASSERT_TRUE(assemble(".data 0x0 i32 1\n.data 0x4 i32 2\nnop\n", "m.s", merged,
                       err))
      << err;
  ASSERT_EQ(merged.segments.size(), 1u);
  EXPECT_EQ(merged.segments[0].bytes.size(), 8u);
}

TEST(ISA, SectionsRoundTripThroughFileAndAssembly) {
  Program p;
  p.instructions.push_back(makeInstruction(Opcode::Finish));
  p.segments.push_back({0x40, {1, 2, 3, 4}});
  std::vector<uint8_t> meta(150);
  for (size_t i = 0; i < meta.size(); ++i)
    meta[i] = uint8_t(i * 7);
  p.sections.push_back({"SYMTAB", 1, meta});
  p.sections.push_back({"EMPTY", 3, {}});
  std::vector<uint8_t> bytes;
  std::string err;
  ASSERT_TRUE(writeProgram(p, bytes, err)) << err;
  // Sections make the file version 2; without them it stays version 1.
  EXPECT_EQ(bytes[8], kProgramVersion);
  Program back;
  ASSERT_TRUE(readProgram(bytes.data(), bytes.size(), back, err)) << err;
  ASSERT_EQ(back.sections.size(), 2u);
  ASSERT_NE(back.findSection("SYMTAB"), nullptr);
  EXPECT_EQ(back.findSection("SYMTAB")->bytes, meta);
  EXPECT_EQ(back.findSection("EMPTY")->version, 3u);
  EXPECT_TRUE(back.findSection("EMPTY")->bytes.empty());
  EXPECT_EQ(back.findSection("NONE"), nullptr);

  // The text form keeps the sections (several lines for long ones).
  Program re;
  std::string text = disassemble(p);
  ASSERT_TRUE(assemble(text, "dis.s", re, err)) << err;
  std::vector<uint8_t> again;
  ASSERT_TRUE(writeProgram(re, again, err)) << err;
  EXPECT_EQ(bytes, again);

  // Every cut of the section table fails cleanly; so do trailing bytes.
  for (size_t cut = bytes.size() - 200; cut < bytes.size(); cut += 13)
    EXPECT_FALSE(readProgram(bytes.data(), cut, back, err)) << cut;
  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(readProgram(trailing.data(), trailing.size(), back, err));
  EXPECT_NE(err.find("after the last section"), std::string::npos) << err;

  // Names are validated on both sides.
  Program dup = p;
  dup.sections.push_back({"SYMTAB", 1, {}});
  EXPECT_FALSE(writeProgram(dup, bytes, err));
  EXPECT_NE(err.find("twice"), std::string::npos) << err;
  Program longName = p;
  longName.sections[0].name = "NINECHARS";
  EXPECT_FALSE(writeProgram(longName, bytes, err));

  Program plain;
  plain.instructions.push_back(makeInstruction(Opcode::Finish));
  ASSERT_TRUE(writeProgram(plain, bytes, err));
  EXPECT_EQ(bytes[8], kProgramVersionWithoutSections);
}
