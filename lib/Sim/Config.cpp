//===- Config.cpp - Accelerator configuration parsing ---------------------===//

#include "adagp/Sim/Config.h"

#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace adagp::sim {

namespace {

using nlohmann::json;

/// Reads required fields with precise, key-naming errors.
class Reader {
public:
  Reader(const json &root, std::string &err) : root(root), err(err) {}

  bool ok() const { return !failed; }

  const json *section(const char *name) {
    if (failed)
      return nullptr;
    known.insert(name);
    auto it = root.find(name);
    if (it == root.end()) {
      fail(fmt::format("missing section '{}'", name));
      return nullptr;
    }
    if (!it->is_object()) {
      fail(fmt::format("'{}' must be an object", name));
      return nullptr;
    }
    return &*it;
  }

  /// A number > 0 (or >= 0 when `allowZero`).
  double number(const json *sec, const char *secName, const char *key,
                bool allowZero) {
    if (failed || !sec)
      return 0;
    std::string full = secName ? fmt::format("{}.{}", secName, key) : key;
    known.insert(full);
    auto it = sec->find(key);
    if (it == sec->end()) {
      fail(fmt::format("missing field '{}'", full));
      return 0;
    }
    if (!it->is_number()) {
      fail(fmt::format("field '{}' must be a number", full));
      return 0;
    }
    double v = it->get<double>();
    if (!(v >= 0) || (!allowZero && v == 0) || v > 1e18) {
      fail(fmt::format("field '{}' must be {} (got {})", full,
                       allowZero ? ">= 0" : "> 0", it->dump()));
      return 0;
    }
    return v;
  }

  /// A whole number in [lo, hi].
  uint64_t integer(const json *sec, const char *secName, const char *key,
                   uint64_t lo, uint64_t hi) {
    double v = number(sec, secName, key, lo == 0);
    if (failed)
      return 0;
    std::string full = secName ? fmt::format("{}.{}", secName, key) : key;
    if (v != double(uint64_t(v)) || v < double(lo) || v > double(hi)) {
      fail(fmt::format("field '{}' must be an integer in [{}, {}] (got {})",
                       full, lo, hi, v));
      return 0;
    }
    return uint64_t(v);
  }

  std::string string(const json *sec, const char *secName, const char *key) {
    if (failed || !sec)
      return {};
    std::string full = secName ? fmt::format("{}.{}", secName, key) : key;
    known.insert(full);
    auto it = sec->find(key);
    if (it == sec->end()) {
      fail(fmt::format("missing field '{}'", full));
      return {};
    }
    if (!it->is_string()) {
      fail(fmt::format("field '{}' must be a string", full));
      return {};
    }
    return it->get<std::string>();
  }

  void fail(const std::string &msg) {
    if (!failed)
      err = msg;
    failed = true;
  }

  /// Rejects keys that no reader asked for: a misspelt key would otherwise
  /// silently leave a field at a value the user did not mean. `sources` and
  /// `description` are documentation and allowed everywhere.
  void checkUnknownKeys() {
    if (failed)
      return;
    auto allowed = [&](const std::string &full, const std::string &key) {
      return key == "sources" || key == "description" || known.count(full);
    };
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (!allowed(it.key(), it.key())) {
        fail(fmt::format("unknown key '{}'", it.key()));
        return;
      }
      if (!it->is_object() || it.key() == "sources")
        continue;
      for (auto sub = it->begin(); sub != it->end(); ++sub) {
        std::string full = it.key() + "." + sub.key();
        if (!allowed(full, sub.key())) {
          fail(fmt::format("unknown key '{}'", full));
          return;
        }
      }
    }
  }

private:
  const json &root;
  std::string &err;
  bool failed = false;
  std::set<std::string> known;
};

} // namespace

bool parseConfig(const std::string &jsonText, Config &c, std::string &err) {
  json root = json::parse(jsonText, nullptr, /*allow_exceptions=*/false,
                          /*ignore_comments=*/true);
  if (root.is_discarded()) {
    err = "not valid JSON";
    return false;
  }
  if (!root.is_object()) {
    err = "the configuration must be a JSON object";
    return false;
  }
  Reader r(root, err);
  c = Config();
  c.name = r.string(&root, nullptr, "name");
  c.clockGhz = r.number(&root, nullptr, "clock_ghz", false);

  const json *array = r.section("array");
  c.arrayDim = unsigned(r.integer(array, "array", "dim", 1, 256));
  std::string dtype = r.string(array, "array", "dtype");
  if (r.ok()) {
    if (dtype == "fp32")
      c.arrayDType = ArrayDType::F32;
    else if (dtype == "bf16")
      c.arrayDType = ArrayDType::BF16;
    else
      r.fail(fmt::format("field 'array.dtype' must be \"fp32\" or \"bf16\" "
                         "(got \"{}\")",
                         dtype));
  }

  // 24-bit on-chip addresses: each memory holds at most 8 Mi elements.
  const uint64_t maxOnChipBytes = uint64_t(4) << 23;
  const json *spad = r.section("scratchpad");
  c.spadBytes = r.integer(spad, "scratchpad", "bytes", 4, maxOnChipBytes);
  c.spadBanks = unsigned(r.integer(spad, "scratchpad", "banks", 1, 1024));
  const json *acc = r.section("accumulator");
  c.accBytes = r.integer(acc, "accumulator", "bytes", 4, maxOnChipBytes);
  c.accBanks = unsigned(r.integer(acc, "accumulator", "banks", 1, 1024));
  if (r.ok() && (c.spadBytes % (4 * c.spadBanks) != 0))
    r.fail("field 'scratchpad.bytes' must be a multiple of 4 x banks");
  if (r.ok() && (c.accBytes % (4 * c.accBanks) != 0))
    r.fail("field 'accumulator.bytes' must be a multiple of 4 x banks");

  const json *vec = r.section("vector");
  c.vectorLanes = unsigned(r.integer(vec, "vector", "lanes", 1, 65536));
  c.vectorSimpleCycles =
      unsigned(r.integer(vec, "vector", "simple_op_cycles", 1, 1 << 20));
  c.vectorComplexCycles =
      unsigned(r.integer(vec, "vector", "complex_op_cycles", 1, 1 << 20));
  c.vectorStartupCycles =
      unsigned(r.integer(vec, "vector", "startup_cycles", 0, 1 << 20));

  const json *dram = r.section("dram");
  c.dramBytes = r.integer(dram, "dram", "bytes", 4, uint64_t(1) << 40);
  c.dramBytesPerCycle = r.number(dram, "dram", "bytes_per_cycle", false);
  c.dramLatencyCycles =
      unsigned(r.integer(dram, "dram", "latency_cycles", 0, 1 << 24));
  c.dramBurstBytes =
      unsigned(r.integer(dram, "dram", "burst_bytes", 4, 1 << 16));
  if (r.ok() && c.dramBurstBytes % 4 != 0)
    r.fail("field 'dram.burst_bytes' must be a multiple of 4");

  const json *queues = r.section("queues");
  c.loadQueueDepth =
      unsigned(r.integer(queues, "queues", "load_depth", 1, 1 << 16));
  c.executeQueueDepth =
      unsigned(r.integer(queues, "queues", "execute_depth", 1, 1 << 16));
  c.storeQueueDepth =
      unsigned(r.integer(queues, "queues", "store_depth", 1, 1 << 16));

  const json *scalar = r.section("scalar");
  c.scalarCyclesPerInstruction = unsigned(
      r.integer(scalar, "scalar", "cycles_per_instruction", 1, 1 << 20));
  c.takenBranchPenaltyCycles = unsigned(
      r.integer(scalar, "scalar", "taken_branch_penalty_cycles", 0, 1 << 20));

  const json *host = r.section("host");
  c.hostBytesPerCycle = r.number(host, "host", "bytes_per_cycle", false);
  c.hostLatencyCycles =
      unsigned(r.integer(host, "host", "latency_cycles", 0, 1u << 30));

  const json *e = r.section("energy");
  EnergyTable &t = c.energy;
  t.macF32Pj = r.number(e, "energy", "mac_fp32_pj", true);
  t.macBf16Pj = r.number(e, "energy", "mac_bf16_pj", true);
  t.arrayOperandPjPerMac =
      r.number(e, "energy", "array_operand_pj_per_mac", true);
  t.spadReadPjPerByte = r.number(e, "energy", "spad_read_pj_per_byte", true);
  t.spadWritePjPerByte = r.number(e, "energy", "spad_write_pj_per_byte", true);
  t.accReadPjPerByte = r.number(e, "energy", "acc_read_pj_per_byte", true);
  t.accWritePjPerByte = r.number(e, "energy", "acc_write_pj_per_byte", true);
  t.dramReadPjPerByte = r.number(e, "energy", "dram_read_pj_per_byte", true);
  t.dramWritePjPerByte = r.number(e, "energy", "dram_write_pj_per_byte", true);
  t.vectorSimplePj = r.number(e, "energy", "vector_simple_op_pj", true);
  t.vectorComplexPj = r.number(e, "energy", "vector_complex_op_pj", true);
  t.instructionPj = r.number(e, "energy", "instruction_pj", true);
  t.leakageWatts = r.number(e, "energy", "leakage_watts", true);
  r.checkUnknownKeys();
  return r.ok();
}

bool loadConfig(const std::string &path, Config &config, std::string &err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = fmt::format("{}: cannot open configuration file", path);
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string e;
  if (!parseConfig(ss.str(), config, e)) {
    err = fmt::format("{}: {}", path, e);
    return false;
  }
  return true;
}

Config defaultConfig() {
  Config c;
  c.name = "default";
  c.clockGhz = 1.0;
  c.arrayDim = 16;
  c.arrayDType = ArrayDType::F32;
  c.spadBytes = 512 * 1024;
  c.spadBanks = 4;
  c.accBytes = 256 * 1024;
  c.accBanks = 4;
  c.vectorLanes = 16;
  c.vectorSimpleCycles = 1;
  c.vectorComplexCycles = 4;
  c.vectorStartupCycles = 4;
  c.dramBytes = uint64_t(16) << 30;
  c.dramBytesPerCycle = 16;
  c.dramLatencyCycles = 100;
  c.dramBurstBytes = 64;
  c.loadQueueDepth = 8;
  c.executeQueueDepth = 8;
  c.storeQueueDepth = 8;
  c.scalarCyclesPerInstruction = 1;
  c.takenBranchPenaltyCycles = 2;
  c.hostBytesPerCycle = 16;
  c.hostLatencyCycles = 2000;
  EnergyTable &t = c.energy;
  t.macF32Pj = 4.6;
  t.macBf16Pj = 2.0;
  t.arrayOperandPjPerMac = 2.7;
  t.spadReadPjPerByte = 5.0;
  t.spadWritePjPerByte = 5.0;
  t.accReadPjPerByte = 3.5;
  t.accWritePjPerByte = 3.5;
  t.dramReadPjPerByte = 162.5;
  t.dramWritePjPerByte = 162.5;
  t.vectorSimplePj = 0.9;
  t.vectorComplexPj = 14.8;
  t.instructionPj = 70.0;
  t.leakageWatts = 0.25;
  return c;
}

} // namespace adagp::sim
