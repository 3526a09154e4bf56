//===- TimingTest.cpp - Timing formulas, overlap, stalls, deadlock --------===//
//
// The expected numbers are the formulas of docs/sim.md evaluated by hand for
// the default configuration: 16x16 array, 16 lanes, simple op 1 cycle,
// complex op 4 cycles, vector startup 4, DRAM 16 B/cycle + 100 cycles
// latency with 64-byte bursts, 1 cycle per control instruction.
//
//===----------------------------------------------------------------------===//

#include "SimTestUtil.h"

#include <fmt/format.h>

using namespace adagp;
using namespace adagp::sim;
using namespace adagp::sim::test;

namespace {

/// Cycles of `body` followed by finish; the first instruction is fetched at
/// cycle 0 and dispatched at cycle 1.
uint64_t cyclesOf(const std::string &body, Config cfg = defaultConfig(),
                  bool timingOnly = false) {
  RunOptions o;
  o.timingOnly = timingOnly;
  auto sim = makeSim(body + "\nfinish\n", cfg, nullptr, o);
  EXPECT_EQ(sim->run(), RunStatus::Finished) << sim->errorString();
  return sim->report().cycles;
}

} // namespace

TEST(Timing, SingleDma) {
  // 1 cycle dispatch + 100 latency + 4096 B / 16 B/cycle.
  EXPECT_EQ(cyclesOf("load dram=0 chip=0 size=1024 dstride=1 cstride=1"),
            1u + 100 + 256);
  EXPECT_EQ(cyclesOf("store dram=0 chip=0 size=1024 dstride=1 cstride=1"),
            1u + 100 + 256);
  // 10 rows of 3 contiguous elements (12 B): each row costs one 64 B burst.
  EXPECT_EQ(cyclesOf("dmacfg.load.d12 size_a=10 dstride_a=100 cstride_a=3\n"
                     "load dram=0 chip=0 size=3 dstride=1 cstride=1"),
            2u + 100 + 10 * 64 / 16);
  // Strided gather, stride 64 elements: every element its own burst.
  EXPECT_EQ(cyclesOf("load dram=0 chip=0 size=8 dstride=64 cstride=1"),
            1u + 100 + 8 * 64 / 16);
  // Padding elements move no DRAM bytes: 16 of 32 in range -> 64 B.
  EXPECT_EQ(cyclesOf("load dram=0 chip=0 size=32 start=-16 extent=100 "
                     "dstride=1 cstride=1"),
            1u + 100 + 64 / 16);
}

TEST(Timing, SingleGemmFillStreamDrain) {
  // fill DIM + M rows + drain DIM.
  EXPECT_EQ(cyclesOf("gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=100 "
                     "k=16 n=16"),
            1u + 16 + 100 + 16);
  // keep=1 skips the fill: 2 dispatches, then the second GEMM starts when
  // the first ends.
  EXPECT_EQ(cyclesOf("gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=100 "
                     "k=16 n=16\n"
                     "gemm a=0 lda=16 c=ACC ldc=16 m=50 k=16 n=16 keep=1"),
            1u + (16 + 100 + 16) + (50 + 16));
}

TEST(Timing, SingleVectorOps) {
  // startup 4 + ceil(n / 16) x per-op cycles.
  EXPECT_EQ(cyclesOf("vec.add rows=10 cols=10 d=0 d_rs=10 d_cs=1 a=0x1000 "
                     "a_rs=10 a_cs=1 b=0x10000 b_rs=10 b_cs=1"),
            1u + 4 + 7 * 1);
  EXPECT_EQ(cyclesOf("vec.exp rows=1 cols=33 d=0 d_cs=1 a=0 a_cs=1"),
            1u + 4 + 3 * 4);
  // softmax: 3 simple + 1 complex passes.
  EXPECT_EQ(cyclesOf("vec.softmax rows=4 cols=8 d=0 d_rs=8 d_cs=1 a=0x100 "
                     "a_rs=8 a_cs=1"),
            1u + 4 + 2 * (3 + 4));
  // Both sources in bank 0 of the scratchpad: twice the cycles.
  EXPECT_EQ(cyclesOf("vec.add rows=10 cols=10 d=0x10000 d_rs=10 d_cs=1 a=0 "
                     "a_rs=10 a_cs=1 b=0x1000 b_rs=10 b_cs=1"),
            1u + 4 + 7 * 1 * 2);
  // Pooling: 2x2 max window over a 4x4x16 map -> 64 outputs x 4 taps.
  EXPECT_EQ(cyclesOf("pool.max n=1 h=4 w=4 c=16 oh=2 ow=2 kh=2 kw=2 sh=2 sw=2 "
                     "in=0 out=0x1000"),
            1u + 4 + 64 * 4 / 16);
  // Adam over 100 parameters: ceil(100/16) x (9 simple + 2 complex).
  EXPECT_EQ(cyclesOf("opt.adam n=100 param=0 grad=0x100 m=0x200 v=0x300 "
                     "hp=0x400"),
            1u + 4 + 7 * (9 + 2 * 4));
  // Cross-entropy, 8x10: ceil(80/16) x (4 + 4) + ceil(8/16) x 4.
  EXPECT_EQ(cyclesOf("xent b=8 k=10 logits=0 logits_rs=10 labels=0x100 "
                     "grad=0x200 grad_rs=10 loss=0x300"),
            1u + 4 + 5 * 8 + 1 * 4);
}

TEST(Timing, ControlInstructionsAndBranches) {
  // A 10-iteration loop: 2 setup + 10 x (addi + branch) with 9 taken
  // branches paying the 2-cycle penalty, then finish.
  uint64_t c = cyclesOf(R"(
      sopi.add rd=r1 imm=0
      sopi.add rd=r2 imm=10
    loop:
      sopi.add rd=r1 rs1=r1 imm=1
      br.lt rs1=r1 rs2=r2 target=loop
  )");
  EXPECT_EQ(c, 2u + 10 * 2 + 9 * 2 + 1);
}

TEST(Timing, TimingOnlyModeGivesTheSameTime) {
  std::string body = R"(
    load dram=0 chip=0 size=256 dstride=1 cstride=1 deps=push_next
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=pop_prev|push_next
    store dram=0x10000 chip=ACC size=256 dstride=1 cstride=1 deps=pop_prev
  )";
  EXPECT_EQ(cyclesOf(body), cyclesOf(body, defaultConfig(), true));
}

TEST(Timing, DependencyTokensSerializeQueues) {
  // load -> gemm -> store chained by tokens: times add up.
  uint64_t c = cyclesOf(R"(
    load dram=0 chip=0 size=256 dstride=1 cstride=1 deps=push_next
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=pop_prev|push_next
    store dram=0x10000 chip=ACC size=256 dstride=1 cstride=1 deps=pop_prev
  )");
  uint64_t load = 100 + 1024 / 16, gemm = 16 + 16 + 16, store = 100 + 64;
  EXPECT_EQ(c, 1u + load + gemm + store);
  // Without tokens the three run concurrently: the store (dispatched at 3)
  // waits for the DRAM channel until the load's transfer ends at 1 + 64.
  uint64_t c2 = cyclesOf(R"(
    load dram=0 chip=0 size=256 dstride=1 cstride=1
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16
    store dram=0x10000 chip=ACC size=256 dstride=1 cstride=1
  )");
  EXPECT_EQ(c2, 1u + 64 + 64 + 100);
}

TEST(Timing, StoreAndLoadQueuesOrderEachOtherByTokens) {
  // A load of what a store wrote pops the store -> load token: it starts
  // when the store completes (1 + 100 + 64), its own transfer and latency
  // follow.
  uint64_t c = cyclesOf(R"(
    store dram=0x10000 chip=0 size=256 dstride=1 cstride=1 deps=push_next
    load dram=0x10000 chip=0x400 size=256 dstride=1 cstride=1 deps=pop_prev
  )");
  EXPECT_EQ(c, 1u + (100 + 64) + (100 + 64));
  // And a store of what a load brought on chip pops load -> store.
  uint64_t c2 = cyclesOf(R"(
    load dram=0 chip=0 size=256 dstride=1 cstride=1 deps=push_prev
    store dram=0x10000 chip=0 size=256 dstride=1 cstride=1 deps=pop_next
  )");
  EXPECT_EQ(c2, 1u + (100 + 64) + (100 + 64));
}

namespace {

/// A double-buffered loop over `tiles` tiles: load tile i+1 while computing
/// tile i and storing tile i-1, with VTA-style tokens. Each tile is a 16-wide
/// strip of `rows` rows: load rows x 16, GEMM (keep weights), store.
std::string doubleBufferedLoop(int tiles, int rows, int loadDramStride) {
  std::string s;
  // Weights and the first two loads.
  s += "load dram=0x100000 chip=0x8000 size=256 dstride=1 cstride=1\n";
  s += fmt::format("dmacfg.load.d12 size_a={} dstride_a={} cstride_a=16\n",
                   rows, loadDramStride);
  s += fmt::format("dmacfg.store.d12 size_a={} dstride_a=16 cstride_a=16\n",
                   rows);
  auto load = [&](int i) {
    return fmt::format("load dram={} chip={} size=16 dstride=1 cstride=1 "
                       "deps={}\n",
                       i * rows * loadDramStride * 4, (i % 2) * 0x2000,
                       i >= 2 ? "pop_next|push_next" : "push_next");
  };
  s += load(0);
  s += load(1);
  for (int i = 0; i < tiles; ++i) {
    std::string deps = "pop_prev|push_next";
    if (i + 2 < tiles)
      deps += "|push_prev"; // frees the input buffer for load i+2
    if (i >= 2)
      deps += "|pop_next"; // waits for store i-2 to free the output buffer
    s += fmt::format("gemm a={} lda=16 b=0x8000 ldb=16 c=ACC+{} ldc=16 m={} "
                     "k=16 n=16 {}deps={}\n",
                     (i % 2) * 0x2000, (i % 2) * 0x4000, rows,
                     i == 0 ? "" : "keep=1 ", deps);
    s += fmt::format("store dram={} chip=ACC+{} size=16 dstride=1 cstride=1 "
                     "deps=pop_prev{}\n",
                     0x4000000 + i * rows * 64, (i % 2) * 0x4000,
                     i + 2 < tiles ? "|push_prev" : "");
    if (i + 2 < tiles)
      s += load(i + 2);
  }
  return s;
}

} // namespace

TEST(Timing, DoubleBufferedLoopReachesSteadyStateOfSlowestStage) {
  // Three regimes: load-bound (gathered rows, one burst per element), and
  // compute-bound (contiguous rows). Per tile the stage times are:
  //   load  = latency + transfer, store = latency + transfer,
  //   gemm  = M + drain (weights kept),
  // and the DRAM channel carries load + store transfers.
  struct Case {
    int rows, stride;
  };
  Config cfg = defaultConfig();
  for (Case k : {Case{256, 16}, Case{64, 16}, Case{256, 17}}) {
    SCOPED_TRACE(fmt::format("rows={} stride={}", k.rows, k.stride));
    const int rows = k.rows;
    uint64_t c20 = cyclesOf(doubleBufferedLoop(20, rows, k.stride), cfg);
    uint64_t c40 = cyclesOf(doubleBufferedLoop(40, rows, k.stride), cfg);
    double perTile = double(c40 - c20) / 20.0;
    uint64_t loadBytes = uint64_t(rows) * 64; // 16 floats = one burst per row
    uint64_t loadT = loadBytes / 16, storeT = uint64_t(rows) * 64 / 16;
    double load = 100 + loadT, store = 100 + storeT, gemm = rows + 16;
    double channel = double(loadT + storeT);
    double bound = std::max({load, store, gemm, channel});
    EXPECT_GE(perTile, bound * 0.999);
    EXPECT_LE(perTile, bound * 1.05)
        << "load " << load << " gemm " << gemm << " store " << store;
  }
}

TEST(Timing, StallsAreAttributed) {
  // A GEMM waiting on a load token: dependency stall on the execute queue.
  auto sim = makeSim(R"(
    load dram=0 chip=0 size=256 dstride=1 cstride=1 deps=push_next
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=pop_prev
    finish
  )");
  runOk(*sim);
  Report r = sim->report();
  // The GEMM was dispatched at cycle 2 and started at 1 + 164 = 165.
  EXPECT_EQ(r.queues[1].stallDependency, 165u - 2);
  EXPECT_EQ(r.queues[1].stallEmpty, 2u);
  // Two DMAs competing for the channel: the second waits for bandwidth.
  auto sim2 = makeSim(R"(
    load dram=0 chip=0 size=1024 dstride=1 cstride=1
    store dram=0x10000 chip=0x1000 size=1024 dstride=1 cstride=1
    finish
  )");
  runOk(*sim2);
  Report r2 = sim2->report();
  EXPECT_EQ(r2.queues[2].stallBandwidth, 1u + 256 - 2);
  EXPECT_EQ(r2.cycles, 1u + 256 + 256 + 100);
  // A full load queue stalls fetch.
  Config cfg = defaultConfig();
  cfg.loadQueueDepth = 1;
  auto sim3 = makeSim(R"(
    load dram=0 chip=0 size=16 dstride=1 cstride=1
    load dram=0 chip=0 size=16 dstride=1 cstride=1
    load dram=0 chip=0 size=16 dstride=1 cstride=1
    finish
  )",
                      cfg);
  runOk(*sim3);
  Report r3 = sim3->report();
  EXPECT_GT(r3.fetchStalls[static_cast<unsigned>(FetchStall::LoadQueueFull)],
            0u);
}

TEST(Timing, TokenNeverPushedIsReportedAsDeadlock) {
  auto sim = makeSim(R"(
    nop
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=pop_prev
    finish
  )");
  EXPECT_EQ(sim->run(), RunStatus::Error);
  std::string e = sim->errorString();
  EXPECT_NE(e.find("instruction #1 (gemm)"), std::string::npos) << e;
  EXPECT_NE(e.find("load->execute token"), std::string::npos) << e;
  EXPECT_NE(e.find("never pushed"), std::string::npos) << e;
  EXPECT_NE(e.find("fetch: stopped at #2 (finish)"), std::string::npos) << e;
}

TEST(Timing, CyclicWaitIsReportedWithBothQueueHeads) {
  auto sim = makeSim(R"(
    load dram=0 chip=0 size=16 dstride=1 cstride=1 deps=pop_next|push_next
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=pop_prev|push_prev
    finish
  )");
  EXPECT_EQ(sim->run(), RunStatus::Error);
  std::string e = sim->errorString();
  EXPECT_NE(e.find("deadlock"), std::string::npos) << e;
  EXPECT_NE(e.find("load: #0 (load) waiting for a execute->load token"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("execute: #1 (gemm) waiting for a load->execute token"),
            std::string::npos)
      << e;
}

TEST(Timing, DeadlockBehindAFullQueueIsDetected) {
  // The store pops a token the GEMM pushes, but the GEMM is never dispatched
  // because fetch is stuck behind a full store queue.
  Config cfg = defaultConfig();
  cfg.storeQueueDepth = 1;
  auto sim = makeSim(R"(
    store dram=0 chip=0 size=16 dstride=1 cstride=1 deps=pop_prev
    store dram=0 chip=0 size=16 dstride=1 cstride=1
    gemm a=0 lda=16 b=0x1000 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=push_next
    finish
  )",
                     cfg);
  EXPECT_EQ(sim->run(), RunStatus::Error);
  std::string e = sim->errorString();
  EXPECT_NE(e.find("store queue full"), std::string::npos) << e;
  EXPECT_NE(e.find("instruction #0 (store)"), std::string::npos) << e;
}

TEST(Timing, LimitsStopRunawayPrograms) {
  RunOptions o;
  o.maxInstructions = 1000;
  auto sim =
      makeSim("top: jump.j target=top\nfinish\n", defaultConfig(), nullptr, o);
  EXPECT_EQ(sim->run(), RunStatus::InstructionLimit);
  RunOptions o2;
  o2.maxCycles = 5000;
  auto sim2 =
      makeSim("top: jump.j target=top\nfinish\n", defaultConfig(), nullptr, o2);
  EXPECT_EQ(sim2->run(), RunStatus::CycleLimit);
  EXPECT_LE(sim2->report().cycles, 5010u);
}
