//===- SimImpl.h - Simulator internals shared by lib/Sim files --*- C++ -*-===//

#ifndef ADAGP_LIB_SIM_SIMIMPL_H
#define ADAGP_LIB_SIM_SIMIMPL_H

#include "adagp/Sim/Simulator.h"

#include <cstring>
#include <deque>
#include <memory>
#include <unordered_map>

namespace adagp::sim {

/// Sparse byte-addressed DRAM: 64 KiB pages allocated on first write; reads
/// of untouched memory return zero.
class Dram {
public:
  static constexpr unsigned kPageBits = 16;
  static constexpr uint64_t kPageBytes = uint64_t(1) << kPageBits;

  uint32_t read32(uint64_t addr) const {
    const uint8_t *p = page(addr >> kPageBits);
    if (!p)
      return 0;
    uint32_t v;
    std::memcpy(&v, p + (addr & (kPageBytes - 1)), 4);
    return v;
  }
  void write32(uint64_t addr, uint32_t v) {
    uint8_t *p = pageForWrite(addr >> kPageBits);
    std::memcpy(p + (addr & (kPageBytes - 1)), &v, 4);
  }
  void read(uint64_t addr, void *out, uint64_t n) const;
  void write(uint64_t addr, const void *in, uint64_t n);
  void clear() {
    pages.clear();
    lastKey = ~uint64_t(0);
    lastPage = nullptr;
  }

private:
  const uint8_t *page(uint64_t key) const {
    if (key == lastKey)
      return lastPage;
    auto it = pages.find(key);
    if (it == pages.end())
      return nullptr;
    lastKey = key;
    lastPage = it->second.get();
    return lastPage;
  }
  uint8_t *pageForWrite(uint64_t key) {
    if (key == lastKey && lastPage)
      return lastPage;
    auto &slot = pages[key];
    if (!slot) {
      slot.reset(new uint8_t[kPageBytes]);
      std::memset(slot.get(), 0, kPageBytes);
    }
    lastKey = key;
    lastPage = slot.get();
    return lastPage;
  }

  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages;
  mutable uint64_t lastKey = ~uint64_t(0);
  mutable uint8_t *lastPage = nullptr;
};

struct DmaDim {
  int64_t size = 1, start = 0, extent = 0, dramStride = 0, chipStride = 0;
};

/// A dispatched queue instruction with everything read from registers and
/// DMA descriptor registers at dispatch time.
struct Entry {
  uint32_t pc = 0;
  uint64_t dispatch = 0;
  // DMA: resolved addresses and the full descriptor.
  uint64_t dramAddr = 0;
  uint32_t chipAddr = 0;
  DmaDim dims[isa::kMaxDmaDims];
  // GEMM: register-adjusted A and C addresses.
  uint32_t gemmA = 0, gemmC = 0;
};

/// Fixed-capacity FIFO of entries (the instruction queue).
class Ring {
public:
  void init(unsigned capacity) {
    buf.assign(capacity, Entry());
    head = count = 0;
  }
  bool empty() const { return count == 0; }
  bool full() const { return count == buf.size(); }
  unsigned size() const { return count; }
  Entry &front() { return buf[head]; }
  const Entry &front() const { return buf[head]; }
  Entry &pushBack() {
    Entry &e = buf[(head + count) % buf.size()];
    ++count;
    return e;
  }
  void popFront() {
    head = (head + 1) % buf.size();
    --count;
  }

private:
  std::vector<Entry> buf;
  unsigned head = 0, count = 0;
};

struct TraceEvent {
  uint64_t start, duration;
  uint32_t pc;
  uint8_t track; // 0 control, 1 load, 2 execute, 3 store
  int8_t stall;  // -1: an instruction; else a FetchStall kind
};

/// Token channels between queues (the ring load -> execute -> store -> load,
/// both directions).
enum TokenChannel : unsigned {
  kLoadToExec = 0,
  kExecToLoad = 1,
  kExecToStore = 2,
  kStoreToExec = 3,
  kStoreToLoad = 4,
  kLoadToStore = 5,
  kNumChannels = 6
};

/// Cost of one queue instruction: cycles on its unit (DMA: transfer cycles,
/// latency separately) and its action counts.
struct Cost {
  uint64_t cycles = 0;
  uint64_t dramBytes = 0; // DMA: bytes moved on the channel
  ActionCounts counts;
};

class Simulator::Impl {
public:
  Impl(const Config &config, Host *host, RunOptions options);

  bool load(const isa::Program &program, std::string &err);
  RunStatus run();
  Report makeReport() const;
  std::string traceJson() const;

  // --- Dispatch-time checks (both modes) -----------------------------------
  bool checkQueueInstruction(const isa::Instruction &inst, Entry &e);
  bool checkRange(uint64_t pc, const char *what, int64_t addr, int64_t rows,
                  int64_t cols, int64_t rowStride, int64_t colStride);
  bool checkDram(const char *what, int64_t lo, int64_t hiExclusive);
  bool fail(uint64_t pc, const std::string &msg);

  // --- Costs ----------------------------------------------------------------
  Cost costOf(const isa::Instruction &inst, const Entry &e) const;
  void chargeChip(ActionCounts &c, int64_t addr, uint64_t elems,
                  bool write) const;

  // --- Functional effects (lib/Sim/Kernels.cpp) -----------------------------
  bool execute(const isa::Instruction &inst, const Entry &e);
  bool execDma(const isa::Instruction &inst, const Entry &e, bool load);
  bool execGemm(const isa::Instruction &inst, const Entry &e);
  bool execVec(const isa::Instruction &inst);
  bool execPool(const isa::Instruction &inst);
  bool execXent(const isa::Instruction &inst, uint32_t pc);
  bool execOpt(const isa::Instruction &inst);

  float *chip(int64_t addr) {
    return addr >= int64_t(isa::kAccBase) ? &acc[addr - isa::kAccBase]
                                          : &spad[addr];
  }

  // --- Control core -------------------------------------------------------
  bool fetchReady();
  bool fetchOne();
  bool processHead(unsigned q, uint64_t start);
  bool headReady(unsigned q, uint64_t &start) const;
  std::string deadlockMessage(uint64_t &pc) const;

  Config cfg;
  Host *host;
  RunOptions opts;
  isa::Program prog;
  bool loaded = false;

  Dram dram;
  std::vector<float> spad, acc;
  int64_t regs[isa::kNumRegisters] = {};
  DmaDim dmaRegs[2][isa::kMaxDmaDims]; // [load/store][dim], dims 1..4 used

  // Array state: the weights currently preloaded (functional) and their
  // shape as tracked at dispatch (for keep=1 checks).
  std::vector<float> weights;
  int64_t weightK = 0, weightN = 0;
  bool weightsValid = false;
  int64_t dispatchWeightK = 0, dispatchWeightN = 0;
  bool dispatchWeightsValid = false;

  // Timing state.
  uint64_t pc = 0;
  uint64_t fetchTime = 0;
  bool halted = false; // FINISH executed or error
  int blockedOnQueue = -1;
  Ring rings[isa::kNumQueues];
  uint64_t freeAt[isa::kNumQueues] = {};
  uint64_t lastPopTime[isa::kNumQueues] = {};
  std::deque<uint64_t> tokens[kNumChannels];
  uint64_t dramFreeAt = 0;
  uint64_t endCycle = 0;
  RunStatus status = RunStatus::Finished;
  bool running = false;

  // Statistics.
  ActionCounts phaseCounts[isa::kNumPhases];
  DramTagBytes dramTagBytes;
  QueueStats queueStats[isa::kNumQueues];
  uint64_t fetchStalls[static_cast<unsigned>(FetchStall::NumKinds)] = {};
  std::vector<Metric> metrics;
  uint64_t metricCount = 0;
  std::vector<TraceEvent> trace;
  double wallSeconds = 0;
  uint64_t fetched = 0;

  SimError error;
};

/// Token channels an instruction on queue q pops / pushes.
void tokenChannels(unsigned q, uint8_t deps, int pops[2], int pushes[2]);

} // namespace adagp::sim

#endif // ADAGP_LIB_SIM_SIMIMPL_H
