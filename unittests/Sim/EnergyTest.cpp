//===- EnergyTest.cpp - Action counts x table + leakage -------------------===//

#include "SimTestUtil.h"

using namespace adagp;
using namespace adagp::sim;
using namespace adagp::sim::test;

TEST(Energy, CountsMatchTheProgramAndEnergyIsCountsTimesTable) {
  auto sim = makeSim(R"(
    load dram=0 chip=0 size=256 dstride=1 cstride=1 deps=push_next phase=forward
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=pop_prev|push_next phase=forward
    vec.exp rows=16 cols=16 d=0x2000 d_rs=16 d_cs=1 a=ACC a_rs=16 a_cs=1 phase=backward
    store dram=0x10000 chip=ACC size=256 dstride=1 cstride=1 deps=pop_prev phase=update
    finish
  )");
  runOk(*sim);
  Report r = sim->report();
  const ActionCounts &c = r.total;
  EXPECT_EQ(c.instructions, 5u);
  EXPECT_EQ(c.macs, 16u * 16 * 16);
  EXPECT_EQ(c.dramReadBytes, 1024u);
  EXPECT_EQ(c.dramWriteBytes, 1024u);
  // SPAD: load writes 1024 B; GEMM reads A 1024 B and B 1024 B; vec writes
  // 1024 B. ACC: GEMM writes 1024 B; vec reads 1024 B; store reads 1024 B.
  EXPECT_EQ(c.spadWriteBytes, 2048u);
  EXPECT_EQ(c.spadReadBytes, 2048u);
  EXPECT_EQ(c.accWriteBytes, 1024u);
  EXPECT_EQ(c.accReadBytes, 2048u);
  EXPECT_EQ(c.vectorComplexOps, 256u);
  EXPECT_EQ(c.vectorSimpleOps, 0u);
  // Per-phase split.
  EXPECT_EQ(r.phase[unsigned(isa::Phase::Forward)].macs, 4096u);
  EXPECT_EQ(r.phase[unsigned(isa::Phase::Update)].dramWriteBytes, 1024u);
  EXPECT_EQ(r.phase[unsigned(isa::Phase::Backward)].vectorComplexOps, 256u);

  const EnergyTable &t = defaultConfig().energy;
  double pj = 1e-12;
  double expected =
      4096 * (t.macF32Pj + t.arrayOperandPjPerMac) * pj +
      (2048 * t.spadReadPjPerByte + 2048 * t.spadWritePjPerByte) * pj +
      (2048 * t.accReadPjPerByte + 1024 * t.accWritePjPerByte) * pj +
      (1024 * t.dramReadPjPerByte + 1024 * t.dramWritePjPerByte) * pj +
      256 * t.vectorComplexPj * pj + 5 * t.instructionPj * pj +
      t.leakageWatts * double(r.cycles) / 1e9;
  EXPECT_NEAR(r.energy.total(), expected, expected * 1e-12);
  EXPECT_NEAR(r.energy.leakage, t.leakageWatts * r.seconds, 1e-18);
  double phases = 0;
  for (double e : r.phaseEnergyJoules)
    phases += e;
  EXPECT_NEAR(phases, r.energy.dynamic(), 1e-18);
}

TEST(Energy, Bf16ArrayUsesTheBf16MacCost) {
  Config cfg = defaultConfig();
  cfg.arrayDType = ArrayDType::BF16;
  cfg.energy.leakageWatts = 0;
  auto sim = makeSim(
      "gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=10 k=16 n=16\nfinish\n",
      cfg);
  runOk(*sim);
  Report r = sim->report();
  EXPECT_NEAR(r.energy.mac, 2560 * cfg.energy.macBf16Pj * 1e-12, 1e-20);
}

TEST(Energy, UtilizationIsMacsOverPeak) {
  auto sim = makeSim("gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=1000 "
                     "k=16 n=16\nfinish\n");
  runOk(*sim);
  Report r = sim->report();
  EXPECT_EQ(r.cycles, 1u + 16 + 1000 + 16);
  EXPECT_DOUBLE_EQ(r.utilization, 1000.0 * 256 / (1033.0 * 256));
}

namespace {
/// Takes a snapshot at every SEND, as a training host does to cost a step.
class SnapshotHost : public adagp::sim::Host {
public:
  adagp::sim::Simulator *sim = nullptr;
  std::vector<adagp::sim::Snapshot> snaps;
  int64_t receiveBatch(unsigned, std::vector<uint8_t> &,
                       std::vector<uint8_t> &, bool, std::string &) override {
    return 0;
  }
  void sendMetric(const adagp::sim::Metric &) override {
    snaps.push_back(sim->snapshot());
  }
};
} // namespace

TEST(Energy, DramBytesByTagAndSnapshots) {
  using namespace adagp::sim;
  using namespace adagp::sim::test;
  // Two loads of 64 and 128 bytes, one store of 64 bytes.
  std::string text = R"(
  send.i64 tag=1
  load dram=0x0 chip=0 size=16 dstride=1 cstride=1
  load dram=0x100 chip=16 size=32 dstride=1 cstride=1
  store dram=0x400 chip=0 size=16 dstride=1 cstride=1
  fence
  send.i64 tag=2
  finish
)";
  SnapshotHost host;
  RunOptions opts;
  opts.dramTags = {0, 3, 5, 7, 0, 0, 0};
  auto sim = makeSim(text, defaultConfig(), &host, opts);
  host.sim = sim.get();
  runOk(*sim);
  Report r = sim->report();
  EXPECT_EQ(r.dramTagBytes.read[3], 64u);
  EXPECT_EQ(r.dramTagBytes.read[5], 128u);
  EXPECT_EQ(r.dramTagBytes.write[7], 64u);
  EXPECT_EQ(r.dramTagBytes.read[0], 0u);
  ASSERT_EQ(host.snaps.size(), 2u);
  Snapshot delta;
  delta.dramTagBytes = host.snaps[1].dramTagBytes - host.snaps[0].dramTagBytes;
  EXPECT_EQ(delta.dramTagBytes.read[5], 128u);
  // The second SEND comes after the fence: every DMA has been counted.
  EXPECT_EQ(host.snaps[1].counts.dramReadBytes -
                host.snaps[0].counts.dramReadBytes,
            192u);
  EXPECT_GT(host.snaps[1].fetchCycle, host.snaps[0].fetchCycle);
}
