//===- fuzz_sim.cpp - Fuzz the simulator ----------------------------------===//
//
// Decodes fuzz input into a program (FuzzCommon.h) and runs it on a small
// machine with tight instruction and cycle limits, in functional and in
// timing-only mode. Every run must end in a status; errors must name an
// instruction; timing-only must give the same time as functional when both
// finish.
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"

#include "adagp/Sim/Simulator.h"

using namespace adagp;
using namespace adagp::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  isa::Program program;
  if (!fuzz::programFromBytes(data, size, program))
    return 0;
  Config cfg = defaultConfig();
  cfg.spadBytes = 64 * 1024;
  cfg.accBytes = 32 * 1024;
  cfg.dramBytes = 1 << 20;
  cfg.loadQueueDepth = cfg.executeQueueDepth = cfg.storeQueueDepth = 4;
  uint64_t cycles[2] = {0, 0};
  RunStatus status[2];
  for (int timingOnly = 0; timingOnly < 2; ++timingOnly) {
    SyntheticHost host(2, 4, 10);
    RunOptions opts;
    opts.timingOnly = timingOnly;
    opts.maxInstructions = 20000;
    opts.maxCycles = 200000;
    opts.trace = true;
    opts.traceLimit = 1000;
    Simulator sim(cfg, &host, opts);
    std::string err;
    if (!sim.load(program, err))
      return 0;
    status[timingOnly] = sim.run();
    if (status[timingOnly] == RunStatus::Error &&
        sim.errorString().rfind("instruction #", 0) != 0)
      fuzz::die("error without an instruction", sim.errorString());
    Report r = sim.report();
    cycles[timingOnly] = r.cycles;
    (void)reportToJson(r, cfg, "fuzz");
    (void)reportSummary(r, cfg);
    (void)sim.traceJson();
  }
  // Data-dependent control flow (scalar loads of computed values) may differ
  // between the modes; compare only straight-line programs.
  bool dataDependent = false;
  for (const isa::Instruction &inst : program.instructions)
    if (inst.opcode == isa::Opcode::Sld || inst.opcode == isa::Opcode::Recv ||
        inst.opcode == isa::Opcode::Branch || inst.opcode == isa::Opcode::Jump)
      dataDependent = true;
  if (!dataDependent && status[0] == RunStatus::Finished &&
      status[1] == RunStatus::Finished && cycles[0] != cycles[1])
    fuzz::die("timing-only changed the cycle count", "");
  return 0;
}
