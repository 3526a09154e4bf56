//===- Simulator.h - Functional, timing and energy simulator ----*- C++ -*-===//
//
// Runs an accelerator program (adagp/ISA/ISA.h) on the machine described by a
// Config. One pass does everything: the timing model schedules each
// instruction (event-driven, per instruction, not per cycle) and applies its
// functional effect at the moment it starts, so the order of effects is the
// order the modelled hardware would produce; action counts feed the energy
// model. docs/sim.md gives every formula.
//
// Typical use:
//   Simulator sim(config, &host);
//   if (!sim.load(program, err)) ...
//   sim.writeDram(addr, weights.data(), bytes);
//   RunStatus s = sim.run();
//   sim.readDram(addr, out.data(), bytes);
//   Report r = sim.report();
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_SIM_SIMULATOR_H
#define ADAGP_SIM_SIMULATOR_H

#include "adagp/ISA/ISA.h"
#include "adagp/Sim/Config.h"
#include "adagp/Sim/Host.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace adagp::sim {

/// Counts of every action the energy model charges for.
struct ActionCounts {
  uint64_t instructions = 0; // fetched (dynamic) instructions
  uint64_t macs = 0;
  uint64_t spadReadBytes = 0, spadWriteBytes = 0;
  uint64_t accReadBytes = 0, accWriteBytes = 0;
  uint64_t dramReadBytes = 0, dramWriteBytes = 0;
  uint64_t hostBytes = 0; // RECV payload written into DRAM by the host
  uint64_t vectorSimpleOps = 0, vectorComplexOps = 0;
  /// Cycles each queue's unit spent executing (excluding DRAM-channel waits).
  uint64_t busyCycles[isa::kNumQueues] = {0, 0, 0};

  ActionCounts &operator+=(const ActionCounts &o);
};

/// DRAM bytes moved by `load` and `store`, split by the tag that
/// RunOptions::dramTags gives each instruction (the compiler tags every DMA
/// with the class of tensor it moves; see adagp/ISA/ProgramInfo.h).
constexpr unsigned kNumDramTags = 16;
struct DramTagBytes {
  uint64_t read[kNumDramTags] = {};
  uint64_t write[kNumDramTags] = {};
  DramTagBytes &operator+=(const DramTagBytes &o);
  DramTagBytes operator-(const DramTagBytes &o) const;
};

/// Energy in joules by source.
struct EnergyBreakdown {
  double mac = 0, arrayOperands = 0, spad = 0, acc = 0, dram = 0, vector = 0,
         instruction = 0, leakage = 0;
  double dynamic() const {
    return mac + arrayOperands + spad + acc + dram + vector + instruction;
  }
  double total() const { return dynamic() + leakage; }
};

/// counts x table (+ leakage x seconds). Host bytes are charged as DRAM
/// writes.
EnergyBreakdown computeEnergy(const ActionCounts &counts, const Config &config,
                              double seconds);

/// Why a queue's unit was idle or slowed.
struct QueueStats {
  uint64_t instructions = 0;
  uint64_t busyCycles = 0;
  uint64_t stallEmpty = 0;      // nothing dispatched yet (front end behind)
  uint64_t stallDependency = 0; // waiting for a dependency token
  uint64_t stallBandwidth = 0;  // DMA waiting for the shared DRAM channel
};

/// Why the fetch/control stage did not issue.
enum class FetchStall : unsigned {
  LoadQueueFull,
  ExecuteQueueFull,
  StoreQueueFull,
  Fence,
  HostIO,
  ScalarMemory,
  Branch,
  NumKinds
};
const char *fetchStallName(FetchStall s);

enum class RunStatus { Finished, InstructionLimit, CycleLimit, Error };

struct Report {
  std::string configName;
  RunStatus status = RunStatus::Finished;
  bool timingOnly = false;
  uint64_t cycles = 0;
  double seconds = 0;
  double utilization = 0; // macs / (cycles * DIM^2)
  ActionCounts total;
  ActionCounts phase[isa::kNumPhases];
  EnergyBreakdown energy;
  double phaseEnergyJoules[isa::kNumPhases] = {}; // dynamic only
  QueueStats queues[isa::kNumQueues];
  uint64_t fetchStalls[static_cast<unsigned>(FetchStall::NumKinds)] = {};
  uint64_t unconsumedTokens = 0; // tokens pushed but never popped at the end
  std::vector<Metric> metrics;   // the first kMaxReportedMetrics
  uint64_t metricCount = 0;
  DramTagBytes dramTagBytes; // all zero unless RunOptions::dramTags is set
  /// Extra top-level keys of the JSON report (key, JSON text), appended by
  /// tools that know more about the program than the simulator does.
  std::vector<std::pair<std::string, std::string>> extraJson;
  double wallSeconds = 0;
  double instructionsPerSecond = 0; // simulator speed
  static constexpr size_t kMaxReportedMetrics = 10000;
};

/// The JSON report (--report). Keys are documented in docs/sim.md.
std::string reportToJson(const Report &report, const Config &config,
                         const std::string &programName);
/// The human summary printed by adagp-sim.
std::string reportSummary(const Report &report, const Config &config);

struct RunOptions {
  bool timingOnly = false;
  uint64_t maxInstructions = UINT64_MAX; // dynamic instruction guard
  uint64_t maxCycles = UINT64_MAX;
  bool trace = false;
  uint64_t traceLimit = 2000000; // events kept for the trace
  /// Per-instruction DRAM traffic tags (< kNumDramTags); empty means every
  /// DMA counts under tag 0.
  std::vector<uint8_t> dramTags;
};

/// What the machine has done so far: the control core's time, every action
/// count, and DMA bytes by tag. Differences of two snapshots give the cost of
/// a stretch of the program (a training step between two SENDs).
struct Snapshot {
  uint64_t fetchCycle = 0;
  ActionCounts counts;
  DramTagBytes dramTagBytes;
};

struct SimError {
  bool set = false;
  uint64_t pc = 0;
  std::string mnemonic; // of the instruction at pc
  std::string message;
};

class Simulator {
public:
  Simulator(const Config &config, Host *host = nullptr,
            RunOptions options = RunOptions());
  ~Simulator();
  Simulator(const Simulator &) = delete;
  Simulator &operator=(const Simulator &) = delete;

  /// Resets the machine, checks the program against the configuration and
  /// writes its data segments into DRAM.
  bool load(const isa::Program &program, std::string &err);
  void setOptions(const RunOptions &options);

  /// Runs until FINISH, an error, or a limit; a later call continues from
  /// where it stopped (raise the limits with setOptions first).
  RunStatus run();
  const SimError &error() const;
  /// "instruction #N (MNEMONIC): message"
  std::string errorString() const;

  Report report() const;
  /// Chrome trace-event JSON (Perfetto opens it). Needs RunOptions::trace.
  std::string traceJson() const;

  // Memory and register access for hosts and tests. DRAM addresses are in
  // bytes (4-aligned), on-chip addresses in elements (ACC at isa::kAccBase).
  bool writeDram(uint64_t addr, const void *data, uint64_t bytes,
                 std::string &err);
  bool readDram(uint64_t addr, void *data, uint64_t bytes,
                std::string &err) const;
  bool writeOnChip(uint32_t addr, const float *data, uint64_t count,
                   std::string &err);
  bool readOnChip(uint32_t addr, float *data, uint64_t count,
                  std::string &err) const;
  int64_t reg(unsigned r) const;
  void setReg(unsigned r, int64_t value);
  uint64_t cycle() const;
  /// Safe to call from Host callbacks (receiveBatch, sendMetric).
  Snapshot snapshot() const;
  const Config &config() const;

  class Impl;

private:
  std::unique_ptr<Impl> impl;
};

/// bf16 round-to-nearest-even of an fp32 value (what the array sees in bf16
/// mode).
float roundToBf16(float v);

} // namespace adagp::sim

#endif // ADAGP_SIM_SIMULATOR_H
