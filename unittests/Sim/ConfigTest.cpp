//===- ConfigTest.cpp - Configuration parsing and presets -----------------===//

#include "adagp/Sim/Config.h"

#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace adagp::sim;

namespace {

std::string readPreset(const std::string &name) {
  std::ifstream in(std::string(ADAGP_SOURCE_DIR) + "/configs/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string parseError(const std::string &text) {
  Config c;
  std::string err;
  EXPECT_FALSE(parseConfig(text, c, err));
  return err;
}

} // namespace

TEST(Config, DefaultPresetEqualsBuiltInDefault) {
  Config c, d = defaultConfig();
  std::string err;
  ASSERT_TRUE(parseConfig(readPreset("default.json"), c, err)) << err;
  EXPECT_EQ(c.name, d.name);
  EXPECT_EQ(c.clockGhz, d.clockGhz);
  EXPECT_EQ(c.arrayDim, d.arrayDim);
  EXPECT_EQ(c.spadBytes, d.spadBytes);
  EXPECT_EQ(c.spadBanks, d.spadBanks);
  EXPECT_EQ(c.accBytes, d.accBytes);
  EXPECT_EQ(c.accBanks, d.accBanks);
  EXPECT_EQ(c.vectorLanes, d.vectorLanes);
  EXPECT_EQ(c.vectorSimpleCycles, d.vectorSimpleCycles);
  EXPECT_EQ(c.vectorComplexCycles, d.vectorComplexCycles);
  EXPECT_EQ(c.vectorStartupCycles, d.vectorStartupCycles);
  EXPECT_EQ(c.dramBytes, d.dramBytes);
  EXPECT_EQ(c.dramBytesPerCycle, d.dramBytesPerCycle);
  EXPECT_EQ(c.dramLatencyCycles, d.dramLatencyCycles);
  EXPECT_EQ(c.dramBurstBytes, d.dramBurstBytes);
  EXPECT_EQ(c.loadQueueDepth, d.loadQueueDepth);
  EXPECT_EQ(c.executeQueueDepth, d.executeQueueDepth);
  EXPECT_EQ(c.storeQueueDepth, d.storeQueueDepth);
  EXPECT_EQ(c.scalarCyclesPerInstruction, d.scalarCyclesPerInstruction);
  EXPECT_EQ(c.takenBranchPenaltyCycles, d.takenBranchPenaltyCycles);
  EXPECT_EQ(c.hostBytesPerCycle, d.hostBytesPerCycle);
  EXPECT_EQ(c.hostLatencyCycles, d.hostLatencyCycles);
  EXPECT_EQ(c.energy.macF32Pj, d.energy.macF32Pj);
  EXPECT_EQ(c.energy.macBf16Pj, d.energy.macBf16Pj);
  EXPECT_EQ(c.energy.arrayOperandPjPerMac, d.energy.arrayOperandPjPerMac);
  EXPECT_EQ(c.energy.spadReadPjPerByte, d.energy.spadReadPjPerByte);
  EXPECT_EQ(c.energy.spadWritePjPerByte, d.energy.spadWritePjPerByte);
  EXPECT_EQ(c.energy.accReadPjPerByte, d.energy.accReadPjPerByte);
  EXPECT_EQ(c.energy.accWritePjPerByte, d.energy.accWritePjPerByte);
  EXPECT_EQ(c.energy.dramReadPjPerByte, d.energy.dramReadPjPerByte);
  EXPECT_EQ(c.energy.dramWritePjPerByte, d.energy.dramWritePjPerByte);
  EXPECT_EQ(c.energy.vectorSimplePj, d.energy.vectorSimplePj);
  EXPECT_EQ(c.energy.vectorComplexPj, d.energy.vectorComplexPj);
  EXPECT_EQ(c.energy.instructionPj, d.energy.instructionPj);
  EXPECT_EQ(c.energy.leakageWatts, d.energy.leakageWatts);
}

TEST(Config, EveryPresetParsesAndCitesEveryNumber) {
  for (const char *name : {"default.json", "edge.json", "cloud.json"}) {
    std::string text = readPreset(name);
    Config c;
    std::string err;
    ASSERT_TRUE(parseConfig(text, c, err)) << name << ": " << err;
    auto j = nlohmann::json::parse(text);
    for (auto &[key, value] : j.items()) {
      if (value.is_number()) {
        EXPECT_TRUE(j["sources"].contains(key)) << name << ": " << key;
      }
      if (!value.is_object() || key == "sources")
        continue;
      for (auto &[k, v] : value.items()) {
        if (k != "sources") {
          EXPECT_TRUE(value["sources"].contains(k))
              << name << ": " << key << "." << k << " has no source";
        }
      }
    }
  }
}

TEST(Config, MissingNegativeAndMalformedFieldsNameTheKey) {
  std::string text = readPreset("default.json");
  auto j = nlohmann::json::parse(text);
  auto without = j;
  without["dram"].erase("latency_cycles");
  EXPECT_EQ(parseError(without.dump()), "missing field 'dram.latency_cycles'");
  auto negative = j;
  negative["energy"]["mac_fp32_pj"] = -1.0;
  EXPECT_EQ(parseError(negative.dump()),
            "field 'energy.mac_fp32_pj' must be >= 0 (got -1.0)");
  auto zeroDim = j;
  zeroDim["array"]["dim"] = 0;
  EXPECT_NE(parseError(zeroDim.dump()).find("'array.dim'"), std::string::npos);
  auto wrongType = j;
  wrongType["scratchpad"]["bytes"] = "big";
  EXPECT_EQ(parseError(wrongType.dump()),
            "field 'scratchpad.bytes' must be a number");
  auto noSection = j;
  noSection.erase("vector");
  EXPECT_EQ(parseError(noSection.dump()), "missing section 'vector'");
  auto badType = j;
  badType["array"]["dtype"] = "int8";
  EXPECT_NE(parseError(badType.dump()).find("array.dtype"), std::string::npos);
  auto misspelt = j;
  misspelt["dram"]["latency_cyles"] = 5;
  EXPECT_EQ(parseError(misspelt.dump()), "unknown key 'dram.latency_cyles'");
  auto unknownSection = j;
  unknownSection["cache"] = nlohmann::json::object();
  EXPECT_EQ(parseError(unknownSection.dump()), "unknown key 'cache'");
  EXPECT_EQ(parseError("{ not json"), "not valid JSON");
  EXPECT_EQ(parseError("[1, 2]"), "the configuration must be a JSON object");
}
