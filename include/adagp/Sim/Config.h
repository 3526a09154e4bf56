//===- Config.h - Accelerator configuration ---------------------*- C++ -*-===//
//
// The machine the simulator models, read from a JSON file (configs/*.json).
// docs/sim.md lists every key with its unit; every field is required so that
// a preset states all of its assumptions.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_SIM_CONFIG_H
#define ADAGP_SIM_CONFIG_H

#include <cstdint>
#include <string>

namespace adagp::sim {

enum class ArrayDType { F32, BF16 };

/// Energy per action in picojoules, and leakage power in watts.
struct EnergyTable {
  double macF32Pj = 0;             // one fp32 multiply-accumulate
  double macBf16Pj = 0;            // bf16 multiply, fp32 accumulate
  double arrayOperandPjPerMac = 0; // PE register + inter-PE movement per MAC
  double spadReadPjPerByte = 0;
  double spadWritePjPerByte = 0;
  double accReadPjPerByte = 0;
  double accWritePjPerByte = 0;
  double dramReadPjPerByte = 0;
  double dramWritePjPerByte = 0;
  double vectorSimplePj = 0;  // one simple element op (add, max, ...)
  double vectorComplexPj = 0; // one complex element op (exp, div, sqrt, ...)
  double instructionPj = 0;   // fetch/decode/issue of any instruction
  double leakageWatts = 0;
};

struct Config {
  std::string name;
  double clockGhz = 1.0;
  // Systolic array.
  unsigned arrayDim = 16;
  ArrayDType arrayDType = ArrayDType::F32;
  // On-chip memories (bytes; each holds 32-bit elements).
  uint64_t spadBytes = 0;
  unsigned spadBanks = 1;
  uint64_t accBytes = 0;
  unsigned accBanks = 1;
  // Vector unit.
  unsigned vectorLanes = 16;
  unsigned vectorSimpleCycles = 1;
  unsigned vectorComplexCycles = 4;
  unsigned vectorStartupCycles = 0;
  // DRAM channel.
  uint64_t dramBytes = 0;
  double dramBytesPerCycle = 16;
  unsigned dramLatencyCycles = 100;
  unsigned dramBurstBytes = 64;
  // Instruction queues.
  unsigned loadQueueDepth = 8;
  unsigned executeQueueDepth = 8;
  unsigned storeQueueDepth = 8;
  // Scalar control core.
  unsigned scalarCyclesPerInstruction = 1;
  unsigned takenBranchPenaltyCycles = 0;
  // Host link (RECV_BATCH).
  double hostBytesPerCycle = 8;
  unsigned hostLatencyCycles = 1000;
  EnergyTable energy;

  uint64_t spadElements() const { return spadBytes / 4; }
  uint64_t accElements() const { return accBytes / 4; }
  unsigned queueDepth(unsigned q) const {
    return q == 0   ? loadQueueDepth
           : q == 1 ? executeQueueDepth
                    : storeQueueDepth;
  }
};

/// Parses a configuration. Errors name the key: "missing field
/// 'dram.latency_cycles'", "field 'array.dim' must be > 0 (got -4)".
bool parseConfig(const std::string &jsonText, Config &config, std::string &err);
/// Reads and parses a file; errors are prefixed with the path.
bool loadConfig(const std::string &path, Config &config, std::string &err);
/// The built-in default (identical to configs/default.json), for tests and
/// library users that do not pass a file.
Config defaultConfig();

} // namespace adagp::sim

#endif // ADAGP_SIM_CONFIG_H
