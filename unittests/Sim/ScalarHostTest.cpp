//===- ScalarHostTest.cpp - Control core, scalar memory, host I/O ---------===//

#include "SimTestUtil.h"

#include <cmath>

using namespace adagp;
using namespace adagp::sim;
using namespace adagp::sim::test;

namespace {

double asDouble(int64_t v) {
  double d;
  std::memcpy(&d, &v, 8);
  return d;
}

} // namespace

TEST(Scalar, IntegerAndFloatArithmetic) {
  auto sim = makeSim(R"(
    sopi.add rd=r1 imm=-7
    sopi.add rd=r2 imm=3
    sop.div rd=r3 rs1=r1 rs2=r2
    sop.rem rd=r4 rs1=r1 rs2=r2
    sop.div rd=r5 rs1=r1 rs2=r0       # divide by zero -> -1
    sopi.shl rd=r6 rs1=r2 imm=40
    sopi.sra rd=r7 rs1=r1 imm=1
    sop.sltu rd=r8 rs1=r2 rs2=r1      # 3 < 2^64-7 unsigned
    sopi.fadd rd=r9 rs1=r0 imm=2.5
    sopi.fmul rd=r10 rs1=r9 imm=4
    sop.fsqrt rd=r11 rs1=r10
    sop.f2i rd=r12 rs1=r11
    sop.i2f rd=r13 rs1=r1
    sopi.fpow rd=r14 rs1=r9 imm=2
    sop.flt rd=r15 rs1=r13 rs2=r9
    sopi.add rd=r0 imm=99             # r0 stays zero
    finish
  )");
  runOk(*sim);
  EXPECT_EQ(sim->reg(3), -2);
  EXPECT_EQ(sim->reg(4), -1);
  EXPECT_EQ(sim->reg(5), -1);
  EXPECT_EQ(sim->reg(6), int64_t(3) << 40);
  EXPECT_EQ(sim->reg(7), -4);
  EXPECT_EQ(sim->reg(8), 1);
  EXPECT_EQ(asDouble(sim->reg(10)), 10.0);
  EXPECT_EQ(asDouble(sim->reg(11)), std::sqrt(10.0));
  EXPECT_EQ(sim->reg(12), 3);
  EXPECT_EQ(asDouble(sim->reg(13)), -7.0);
  EXPECT_EQ(asDouble(sim->reg(14)), 6.25);
  EXPECT_EQ(sim->reg(15), 1);
  EXPECT_EQ(sim->reg(0), 0);
}

TEST(Scalar, LoopsCallsAndBaseRegisterAddressing) {
  // Sum 1..10 with a subroutine called through jal/jr, and copy 4 DRAM
  // blocks with a base register stepping through them.
  auto sim = makeSim(R"(
      sopi.add rd=r1 imm=0
      sopi.add rd=r2 imm=0
    loop:
      jump.jal rd=r31 target=inc
      sop.add rd=r2 rs1=r2 rs2=r1
      sopi.slt rd=r3 rs1=r1 imm=10
      br.ne rs1=r3 rs2=r0 target=loop
      sopi.add rd=r4 imm=0
    copy:
      load dram_reg=r4 dram=0x1000 chip=0 size=4 dstride=1 cstride=1 deps=push_next
      vec.copy rows=1 cols=4 d=0x10 a=0 d_cs=1 a_cs=1 deps=pop_prev|push_next
      store dram_reg=r4 dram=0x2000 chip=0x10 size=4 dstride=1 cstride=1 deps=pop_prev
      fence
      sopi.add rd=r4 rs1=r4 imm=16
      sopi.slt rd=r5 rs1=r4 imm=64
      br.ne rs1=r5 rs2=r0 target=copy
      finish
    inc:
      sopi.add rd=r1 rs1=r1 imm=1
      jump.jr rs1=r31
  )");
  std::vector<float> src(16);
  for (int i = 0; i < 16; ++i)
    src[i] = float(i) + 0.5f;
  putDram(*sim, 0x1000, src);
  runOk(*sim);
  EXPECT_EQ(sim->reg(2), 55);
  EXPECT_EQ(getDram(*sim, 0x2000, 16), src);
}

TEST(Scalar, ScalarLoadsAndStoresAfterFence) {
  // The vector unit computes a value in SPAD; after a fence the control core
  // reads it, compares, and stores results to DRAM and SPAD.
  auto sim = makeSim(R"(
      vec.fill rows=1 cols=1 d=0x40 imm=0.25
      fence execute=1
      sld.chip.f32 r=r1 addr=0x40
      sopi.fadd rd=r2 rs1=r0 imm=0.5
      sop.flt rd=r3 rs1=r1 rs2=r2
      sst.dram.f64 r=r1 addr=0x100
      sst.dram.i32 r=r3 addr=0x108
      sst.chip.f32 r=r2 addr=0x41
      sld.dram.i64 r=r4 addr=0x100
      finish
  )");
  runOk(*sim);
  EXPECT_EQ(asDouble(sim->reg(1)), 0.25);
  EXPECT_EQ(sim->reg(3), 1);
  EXPECT_EQ(asDouble(sim->reg(4)), 0.25);
  EXPECT_EQ(getChip(*sim, 0x41, 1)[0], 0.5f);
  int32_t flag;
  std::string err;
  ASSERT_TRUE(sim->readDram(0x108, &flag, 4, err));
  EXPECT_EQ(flag, 1);
}

TEST(Scalar, FenceWaitsForQueuesToDrain) {
  auto sim = makeSim(R"(
    load dram=0 chip=0 size=1024 dstride=1 cstride=1
    fence
    nop
    finish
  )");
  runOk(*sim);
  Report r = sim->report();
  // load ends at 1 + 100 + 256 = 357; fence waits from 1; nop and finish
  // follow.
  EXPECT_EQ(r.fetchStalls[static_cast<unsigned>(FetchStall::Fence)], 357u - 1);
  EXPECT_EQ(r.cycles, 357u + 1 + 1 + 1);
}

TEST(Host, ReceiveBatchesSendMetricsAndEndOfEpoch) {
  MemoryHost host;
  for (int b = 0; b < 3; ++b) {
    MemoryHost::Batch batch;
    batch.samples = 2 + b;
    batch.inputs.resize(16);
    float v = float(b + 1);
    std::memcpy(batch.inputs.data(), &v, 4);
    batch.labels = {uint8_t(b), 0, 0, 0};
    host.batches.push_back(batch);
  }
  // Loop until the host signals the end of the epoch; sum the first input
  // float of each batch on the device and send it, plus the sample count.
  auto sim = makeSim(R"(
      sopi.add rd=r5 imm=0
    next:
      recv rd=r1 in=0x1000 in_bytes=16 labels=0x2000 label_bytes=4 phase=io
      br.eq rs1=r1 rs2=r0 target=done
      sld.dram.f32 r=r2 addr=0x1000
      sop.fadd rd=r5 rs1=r5 rs2=r2
      send.i64 tag=1 rs=r1
      jump.j target=next
    done:
      send.f64 tag=2 rs=r5
      send.dram.f32 tag=3 addr=0x1000 count=4
      finish
  )",
                     defaultConfig(), &host);
  runOk(*sim);
  ASSERT_EQ(host.metrics.size(), 5u);
  EXPECT_EQ(host.metrics[0].intValue, 2);
  EXPECT_EQ(host.metrics[2].intValue, 4);
  EXPECT_EQ(host.metrics[3].tag, 2u);
  EXPECT_EQ(host.metrics[3].floatValue, 6.0);
  ASSERT_EQ(host.metrics[4].array.size(), 4u);
  EXPECT_EQ(host.metrics[4].array[0], 3.0f);
  EXPECT_EQ(host.epochsServed, 1u);
  Report r = sim->report();
  EXPECT_EQ(r.total.hostBytes, 3u * 20);
  EXPECT_EQ(r.metricCount, 5u);
  EXPECT_GT(r.fetchStalls[static_cast<unsigned>(FetchStall::HostIO)], 0u);
}

TEST(Host, RecvWithoutHostIsAnError) {
  auto sim = makeSim("recv rd=r1 in=0 in_bytes=4\nfinish\n");
  EXPECT_EQ(sim->run(), RunStatus::Error);
  EXPECT_NE(sim->errorString().find("instruction #0 (recv)"),
            std::string::npos);
}

namespace {
/// Forces every branch in timing-only mode to fall through.
struct NeverTakeHost : MemoryHost {
  unsigned asked = 0;
  bool decideBranch(uint64_t, bool) override {
    ++asked;
    return false;
  }
};
} // namespace

TEST(Host, TimingOnlyBranchDecisionsComeFromTheHost) {
  NeverTakeHost host;
  RunOptions o;
  o.timingOnly = true;
  auto sim = makeSim(R"(
      sopi.add rd=r1 imm=1
    spin:
      br.ne rs1=r1 rs2=r0 target=spin
      finish
  )",
                     defaultConfig(), &host, o);
  runOk(*sim);
  EXPECT_EQ(host.asked, 1u);
}

TEST(Errors, OutOfRangeAddressesNameTheInstruction) {
  auto check = [](const std::string &prog, const std::string &expect) {
    auto sim = makeSim(prog + "\nfinish\n");
    EXPECT_EQ(sim->run(), RunStatus::Error) << prog;
    EXPECT_NE(sim->errorString().find(expect), std::string::npos)
        << sim->errorString();
  };
  check("nop\nload dram=0 chip=0x1fff0 size=32 dstride=1 cstride=1",
        "instruction #1 (load): scratchpad overflow: operand 'chip' covers "
        "elements [131056, 131087] but the scratchpad holds 131072 elements");
  check("load dram=0xfffffffffc size=1 dstride=1 cstride=1",
        "instruction #0 (load): DRAM access");
  check("gemm a=0 lda=16 b=0 ldb=16 c=ACC+0xfff0 ldc=16 m=16 k=16 n=16",
        "accumulator overflow");
  check("gemm a=0 lda=17 b=0 ldb=17 c=ACC ldc=17 m=1 k=17 n=1",
        "exceed the 16x16 array");
  check("gemm a=0 lda=16 c=ACC ldc=16 m=1 k=16 n=16 keep=1",
        "no weights are preloaded");
  check("vec.add rows=2 cols=2 d=0x7fffff a=0 b=0", "operand 'd'");
  check("sld.dram.i32 r=r1 addr=-4", "instruction #0 (sld.dram.i32)");
  check("sopi.add rd=r1 imm=-1\njump.jr rs1=r1", "jump target -1");
  auto sim = makeSim("nop\n");
  EXPECT_EQ(sim->run(), RunStatus::Error);
  EXPECT_NE(sim->errorString().find("ran past the end"), std::string::npos);
}
