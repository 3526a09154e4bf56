//===- AssemblerTest.cpp - Assembly syntax --------------------------------===//

#include "adagp/ISA/Assembler.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>

using namespace adagp::isa;

namespace {

Program ok(const std::string &text) {
  Program p;
  std::string err;
  EXPECT_TRUE(assemble(text, "t.s", p, err)) << err;
  return p;
}

std::string bad(const std::string &text) {
  Program p;
  std::string err;
  EXPECT_FALSE(assemble(text, "t.s", p, err));
  return err;
}

} // namespace

TEST(Assembler, FieldsLabelsSymbolsAndPhases) {
  Program p = ok(R"(
    .equ BASE 0x100
    .equ N 4*4
    .phase backward
  top: load dram=BASE+8 chip=ACC+2 size=N dstride=1 cstride=-1 pad=-inf deps=pop_next|push_next
    vec.axpy rows=2 cols=3 d=0 a=4 b=8 imm=0.5 phase=update   # comment
    sopi.fadd rd=r3 rs1=r3 imm=1.25 ; another comment
    br.lt rs1=r1 rs2=r2 target=top
    finish
  )");
  ASSERT_EQ(p.instructions.size(), 5u);
  const Instruction &l = p.instructions[0];
  EXPECT_EQ(l.opcode, Opcode::Load);
  EXPECT_EQ(l.phase, Phase::Backward);
  EXPECT_EQ(l.deps, kPopNext | kPushNext);
  EXPECT_EQ(l.get(dma::DramAddr), 0x108);
  EXPECT_EQ(l.get(dma::ChipAddr), int64_t(kAccBase) + 2);
  EXPECT_EQ(l.get(dma::Size), 16);
  EXPECT_EQ(l.get(dma::ChipStride), -1);
  EXPECT_TRUE(std::isinf(l.getF32(dma::Pad)) && l.getF32(dma::Pad) < 0);
  EXPECT_EQ(p.instructions[1].phase, Phase::Update);
  EXPECT_EQ(p.instructions[1].getF32(vec::Imm), 0.5f);
  EXPECT_EQ(p.instructions[2].getF64(sopi::Imm), 1.25);
  EXPECT_EQ(p.instructions[3].get(branch::Target), 0);
  EXPECT_EQ(p.instructions[4].phase, Phase::Backward);
}

TEST(Assembler, DataSegmentsMergeWhenContiguous) {
  Program p = ok(R"(
    .data 0x100 f32 1.0 -2.5
    .data 0x108 i32 7 -1
    .data 0x200 hex 0102
    nop
    finish
  )");
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.segments[0].dramAddr, 0x100u);
  ASSERT_EQ(p.segments[0].bytes.size(), 16u);
  float f;
  std::memcpy(&f, &p.segments[0].bytes[4], 4);
  EXPECT_EQ(f, -2.5f);
  int32_t i;
  std::memcpy(&i, &p.segments[0].bytes[12], 4);
  EXPECT_EQ(i, -1);
  EXPECT_EQ(p.segments[1].bytes, (std::vector<uint8_t>{1, 2}));
}

TEST(Assembler, ErrorsNameTheLineAndTheProblem) {
  EXPECT_NE(bad("nop\nfrobnicate x=1\n").find("t.s:2: unknown mnemonic"),
            std::string::npos);
  EXPECT_NE(bad("vec rows=1 cols=1 d=0\n").find("function suffix"),
            std::string::npos);
  EXPECT_NE(
      bad("gemm a=0 lda=1 c=0 ldc=1 m=1 k=1\n").find("requires field 'n'"),
      std::string::npos);
  EXPECT_NE(
      bad("gemm a=0 lda=1 c=0 ldc=1 m=1 k=300 n=1\n").find("out of range"),
      std::string::npos);
  EXPECT_NE(
      bad("load size=1 dstride=1 cstride=1 bogus=3\n").find("no field 'bogus'"),
      std::string::npos);
  EXPECT_NE(bad("br.eq target=nowhere\n").find("undefined symbol 'nowhere'"),
            std::string::npos);
  EXPECT_NE(bad("sop.add rd=r32\n").find("bad register"), std::string::npos);
  EXPECT_NE(bad("x: nop\nx: nop\n").find("redefinition"), std::string::npos);
  EXPECT_NE(bad("nop deps=push_next\n").find("not allowed"), std::string::npos);
  EXPECT_NE(bad("# nothing\n").find("no instructions"), std::string::npos);
  EXPECT_NE(bad(".phase sideways\nnop\n").find("phase"), std::string::npos);
}
