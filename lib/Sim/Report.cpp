//===- Report.cpp - Energy, JSON report, summary and trace ----------------===//

#include "SimImpl.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace adagp::sim {

using namespace isa;
using ordered_json = nlohmann::ordered_json;

EnergyBreakdown computeEnergy(const ActionCounts &c, const Config &cfg,
                              double seconds) {
  const EnergyTable &t = cfg.energy;
  const double pj = 1e-12;
  EnergyBreakdown e;
  double mac = cfg.arrayDType == ArrayDType::BF16 ? t.macBf16Pj : t.macF32Pj;
  e.mac = double(c.macs) * mac * pj;
  e.arrayOperands = double(c.macs) * t.arrayOperandPjPerMac * pj;
  e.spad = (double(c.spadReadBytes) * t.spadReadPjPerByte +
            double(c.spadWriteBytes) * t.spadWritePjPerByte) *
           pj;
  e.acc = (double(c.accReadBytes) * t.accReadPjPerByte +
           double(c.accWriteBytes) * t.accWritePjPerByte) *
          pj;
  e.dram = (double(c.dramReadBytes) * t.dramReadPjPerByte +
            double(c.dramWriteBytes + c.hostBytes) * t.dramWritePjPerByte) *
           pj;
  e.vector = (double(c.vectorSimpleOps) * t.vectorSimplePj +
              double(c.vectorComplexOps) * t.vectorComplexPj) *
             pj;
  e.instruction = double(c.instructions) * t.instructionPj * pj;
  e.leakage = t.leakageWatts * seconds;
  return e;
}

Report Simulator::Impl::makeReport() const {
  Report r;
  r.configName = cfg.name;
  r.status = status;
  r.timingOnly = opts.timingOnly;
  r.cycles = endCycle;
  r.seconds = double(endCycle) / (cfg.clockGhz * 1e9);
  for (unsigned p = 0; p < kNumPhases; ++p) {
    r.phase[p] = phaseCounts[p];
    r.total += phaseCounts[p];
    r.phaseEnergyJoules[p] = computeEnergy(phaseCounts[p], cfg, 0).dynamic();
  }
  double peak = double(endCycle) * cfg.arrayDim * cfg.arrayDim;
  r.utilization = peak > 0 ? double(r.total.macs) / peak : 0;
  r.energy = computeEnergy(r.total, cfg, r.seconds);
  for (unsigned q = 0; q < kNumQueues; ++q)
    r.queues[q] = queueStats[q];
  std::copy(std::begin(fetchStalls), std::end(fetchStalls),
            std::begin(r.fetchStalls));
  for (const auto &t : tokens)
    r.unconsumedTokens += t.size();
  r.metrics = metrics;
  r.metricCount = metricCount;
  r.dramTagBytes = dramTagBytes;
  r.wallSeconds = wallSeconds;
  r.instructionsPerSecond =
      wallSeconds > 0 ? double(r.total.instructions) / wallSeconds : 0;
  return r;
}

namespace {

const char *statusName(RunStatus s) {
  switch (s) {
  case RunStatus::Finished:
    return "finished";
  case RunStatus::InstructionLimit:
    return "instruction-limit";
  case RunStatus::CycleLimit:
    return "cycle-limit";
  case RunStatus::Error:
    return "error";
  }
  return "unknown";
}

ordered_json countsJson(const ActionCounts &c) {
  ordered_json j;
  j["instructions"] = c.instructions;
  j["macs"] = c.macs;
  j["spad_read_bytes"] = c.spadReadBytes;
  j["spad_write_bytes"] = c.spadWriteBytes;
  j["acc_read_bytes"] = c.accReadBytes;
  j["acc_write_bytes"] = c.accWriteBytes;
  j["dram_read_bytes"] = c.dramReadBytes;
  j["dram_write_bytes"] = c.dramWriteBytes;
  j["host_bytes"] = c.hostBytes;
  j["vector_simple_ops"] = c.vectorSimpleOps;
  j["vector_complex_ops"] = c.vectorComplexOps;
  j["busy_cycles"] = {{"load", c.busyCycles[0]},
                      {"execute", c.busyCycles[1]},
                      {"store", c.busyCycles[2]}};
  return j;
}

ordered_json energyJson(const EnergyBreakdown &e) {
  ordered_json j;
  j["mac"] = e.mac;
  j["array_operands"] = e.arrayOperands;
  j["spad"] = e.spad;
  j["acc"] = e.acc;
  j["dram"] = e.dram;
  j["vector"] = e.vector;
  j["instruction"] = e.instruction;
  j["leakage"] = e.leakage;
  j["total"] = e.total();
  return j;
}

} // namespace

std::string reportToJson(const Report &r, const Config &cfg,
                         const std::string &programName) {
  ordered_json j;
  j["program"] = programName;
  j["config"] = cfg.name;
  j["status"] = statusName(r.status);
  j["mode"] = r.timingOnly ? "timing-only" : "functional+timing";
  j["cycles"] = r.cycles;
  j["seconds"] = r.seconds;
  j["instructions"] = r.total.instructions;
  j["macs"] = r.total.macs;
  j["utilization"] = r.utilization;
  j["dram_read_bytes"] = r.total.dramReadBytes;
  j["dram_write_bytes"] = r.total.dramWriteBytes;
  j["host_bytes"] = r.total.hostBytes;
  j["energy_joules"] = r.energy.total();
  j["energy_breakdown_joules"] = energyJson(r.energy);
  j["counts"] = countsJson(r.total);
  ordered_json queues;
  for (unsigned q = 0; q < kNumQueues; ++q) {
    const QueueStats &s = r.queues[q];
    ordered_json qj;
    qj["instructions"] = s.instructions;
    qj["busy_cycles"] = s.busyCycles;
    qj["utilization"] = r.cycles ? double(s.busyCycles) / double(r.cycles) : 0;
    qj["stall_cycles"] = {{"dependency", s.stallDependency},
                          {"bandwidth", s.stallBandwidth},
                          {"empty", s.stallEmpty}};
    queues[queueName(static_cast<Queue>(q))] = qj;
  }
  j["queues"] = queues;
  ordered_json fetch;
  for (unsigned k = 0; k < static_cast<unsigned>(FetchStall::NumKinds); ++k)
    fetch[fetchStallName(static_cast<FetchStall>(k))] = r.fetchStalls[k];
  j["fetch_stall_cycles"] = fetch;
  ordered_json phases = ordered_json::object();
  for (unsigned p = 0; p < kNumPhases; ++p) {
    const ActionCounts &c = r.phase[p];
    if (!c.instructions)
      continue;
    ordered_json pj = countsJson(c);
    pj["energy_joules"] = r.phaseEnergyJoules[p];
    phases[phaseName(static_cast<Phase>(p))] = pj;
  }
  j["phases"] = phases;
  j["unconsumed_tokens"] = r.unconsumedTokens;
  ordered_json metrics = ordered_json::array();
  for (const Metric &m : r.metrics) {
    ordered_json mj;
    mj["tag"] = m.tag;
    mj["pc"] = m.pc;
    mj["cycle"] = m.cycle;
    if (m.kind == Metric::Int)
      mj["value"] = m.intValue;
    else if (m.kind == Metric::Float)
      mj["value"] = m.floatValue;
    else
      mj["value"] = m.array;
    metrics.push_back(mj);
  }
  j["metric_count"] = r.metricCount;
  j["metrics"] = metrics;
  for (const auto &[key, text] : r.extraJson) {
    ordered_json v = ordered_json::parse(text, nullptr, false);
    j[key] = v.is_discarded() ? ordered_json(text) : v;
  }
  j["simulator"] = {{"wall_seconds", r.wallSeconds},
                    {"instructions_per_second", r.instructionsPerSecond}};
  // Non-finite metric values become null rather than invalid JSON.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string reportSummary(const Report &r, const Config &cfg) {
  std::string s;
  auto line = [&](const char *key, const std::string &value) {
    s += fmt::format("{:<17}{}\n", std::string(key) + ":", value);
  };
  line("config",
       fmt::format(
           "{} ({}x{} {} array, {} GHz)", cfg.name, cfg.arrayDim, cfg.arrayDim,
           cfg.arrayDType == ArrayDType::BF16 ? "bf16" : "fp32", cfg.clockGhz));
  line("mode", r.timingOnly ? "timing-only" : "functional+timing");
  line("status", statusName(r.status));
  line("cycles", fmt::format("{}", r.cycles));
  line("time", fmt::format("{:.6g} us", r.seconds * 1e6));
  line("instructions", fmt::format("{}", r.total.instructions));
  line("macs", fmt::format("{}", r.total.macs));
  line("utilization", fmt::format("{:.2f}%", 100.0 * r.utilization));
  line("dram read", fmt::format("{} bytes", r.total.dramReadBytes));
  line("dram write", fmt::format("{} bytes", r.total.dramWriteBytes));
  if (r.total.hostBytes)
    line("host input", fmt::format("{} bytes", r.total.hostBytes));
  line("energy",
       fmt::format("{:.6g} J (dynamic {:.6g} J, leakage {:.6g} J)",
                   r.energy.total(), r.energy.dynamic(), r.energy.leakage));
  line("energy split",
       fmt::format("mac {:.3g}, array {:.3g}, spad {:.3g}, acc {:.3g}, dram "
                   "{:.3g}, vector {:.3g}, instr {:.3g} J",
                   r.energy.mac, r.energy.arrayOperands, r.energy.spad,
                   r.energy.acc, r.energy.dram, r.energy.vector,
                   r.energy.instruction));
  for (unsigned q = 0; q < kNumQueues; ++q) {
    const QueueStats &st = r.queues[q];
    std::string key = fmt::format("queue {}", queueName(static_cast<Queue>(q)));
    line(key.c_str(),
         fmt::format("{} instructions, busy {} cycles ({:.1f}%); stalls: "
                     "dependency {}, bandwidth {}, empty {}",
                     st.instructions, st.busyCycles,
                     r.cycles ? 100.0 * double(st.busyCycles) / r.cycles : 0.0,
                     st.stallDependency, st.stallBandwidth, st.stallEmpty));
  }
  std::string stalls;
  for (unsigned k = 0; k < static_cast<unsigned>(FetchStall::NumKinds); ++k)
    stalls += fmt::format("{}{} {}", k ? ", " : "",
                          fetchStallName(static_cast<FetchStall>(k)),
                          r.fetchStalls[k]);
  line("fetch stalls", stalls);
  for (unsigned p = 0; p < kNumPhases; ++p) {
    const ActionCounts &c = r.phase[p];
    if (!c.instructions)
      continue;
    std::string key = fmt::format("phase {}", phaseName(static_cast<Phase>(p)));
    line(key.c_str(),
         fmt::format("{} instructions, {} macs, busy load/execute/store "
                     "{}/{}/{} cycles, dram {}/{} bytes r/w, {:.4g} J",
                     c.instructions, c.macs, c.busyCycles[0], c.busyCycles[1],
                     c.busyCycles[2], c.dramReadBytes, c.dramWriteBytes,
                     r.phaseEnergyJoules[p]));
  }
  if (r.metricCount)
    line("metrics", fmt::format("{} sent", r.metricCount));
  if (r.unconsumedTokens)
    line("warning", fmt::format("{} dependency tokens were pushed but never "
                                "popped",
                                r.unconsumedTokens));
  line("sim speed", fmt::format("{:.3g} M instructions/s ({:.3g} s wall)",
                                r.instructionsPerSecond / 1e6, r.wallSeconds));
  return s;
}

std::string Simulator::Impl::traceJson() const {
  std::string out;
  out.reserve(128 + trace.size() * 110);
  double usPerCycle = 1.0 / (cfg.clockGhz * 1000.0);
  out += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  // The configuration name is user text: keep it JSON-safe.
  std::string safeName;
  for (char c : cfg.name)
    safeName += (c == '"' || c == '\\' || uint8_t(c) < 0x20) ? '_' : c;
  out += fmt::format("{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,"
                     "\"args\":{{\"name\":\"adagp accelerator ({})\"}}}}",
                     safeName);
  static const char *const tracks[4] = {"control", "load queue",
                                        "execute queue", "store queue"};
  for (unsigned t = 0; t < 4; ++t) {
    out += fmt::format(",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                       "\"tid\":{},\"args\":{{\"name\":\"{}\"}}}}",
                       t, tracks[t]);
    out += fmt::format(",\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\","
                       "\"pid\":1,\"tid\":{},\"args\":{{\"sort_index\":{}}}}}",
                       t, t);
  }
  for (const TraceEvent &ev : trace) {
    const Instruction &inst = prog.instructions[ev.pc];
    std::string name =
        ev.stall < 0 ? mnemonic(inst.opcode, inst.funct)
                     : std::string("stall: ") +
                           fetchStallName(static_cast<FetchStall>(ev.stall));
    const char *cat = ev.stall < 0 ? phaseName(inst.phase) : "stall";
    out += fmt::format(",\n{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"X\","
                       "\"pid\":1,\"tid\":{},\"ts\":{:.6f},\"dur\":{:.6f},"
                       "\"args\":{{\"pc\":{},\"cycle\":{},\"cycles\":{}}}}}",
                       name, cat, ev.track, double(ev.start) * usPerCycle,
                       double(ev.duration) * usPerCycle, ev.pc, ev.start,
                       ev.duration);
  }
  out += "\n]}\n";
  return out;
}

} // namespace adagp::sim
