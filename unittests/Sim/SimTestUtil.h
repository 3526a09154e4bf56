//===- SimTestUtil.h - Helpers for the simulator unit tests -----*- C++ -*-===//

#ifndef ADAGP_UNITTESTS_SIM_SIMTESTUTIL_H
#define ADAGP_UNITTESTS_SIM_SIMTESTUTIL_H

#include "adagp/ISA/Assembler.h"
#include "adagp/Sim/Simulator.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <memory>
#include <random>

namespace adagp::sim::test {

/// Assembles `text`; fails the test on an assembly error.
inline isa::Program asmOrDie(const std::string &text) {
  isa::Program p;
  std::string err;
  EXPECT_TRUE(isa::assemble(text, "test.s", p, err)) << err;
  return p;
}

/// A loaded simulator for an assembly program.
inline std::unique_ptr<Simulator> makeSim(const std::string &text,
                                          const Config &cfg = defaultConfig(),
                                          Host *host = nullptr,
                                          RunOptions opts = RunOptions()) {
  auto sim = std::make_unique<Simulator>(cfg, host, opts);
  std::string err;
  EXPECT_TRUE(sim->load(asmOrDie(text), err)) << err;
  return sim;
}

inline std::vector<float> randomFloats(size_t n, std::mt19937 &rng,
                                       float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

inline void putChip(Simulator &sim, uint32_t addr,
                    const std::vector<float> &v) {
  std::string err;
  ASSERT_TRUE(sim.writeOnChip(addr, v.data(), v.size(), err)) << err;
}

inline std::vector<float> getChip(Simulator &sim, uint32_t addr, size_t n) {
  std::vector<float> v(n);
  std::string err;
  EXPECT_TRUE(sim.readOnChip(addr, v.data(), n, err)) << err;
  return v;
}

inline void putDram(Simulator &sim, uint64_t addr,
                    const std::vector<float> &v) {
  std::string err;
  ASSERT_TRUE(sim.writeDram(addr, v.data(), 4 * v.size(), err)) << err;
}

inline std::vector<float> getDram(Simulator &sim, uint64_t addr, size_t n) {
  std::vector<float> v(n);
  std::string err;
  EXPECT_TRUE(sim.readDram(addr, v.data(), 4 * n, err)) << err;
  return v;
}

/// Runs to completion and expects success.
inline void runOk(Simulator &sim) {
  RunStatus s = sim.run();
  ASSERT_EQ(s, RunStatus::Finished) << sim.errorString();
}

/// Bitwise float equality that also accepts matching NaNs.
inline bool sameFloat(float a, float b) {
  return (a != a && b != b) || std::memcmp(&a, &b, 4) == 0;
}

#define EXPECT_FLOATS_IDENTICAL(expected, actual)                              \
  do {                                                                         \
    const auto &e_ = (expected);                                               \
    const auto &a_ = (actual);                                                 \
    ASSERT_EQ(e_.size(), a_.size());                                           \
    for (size_t i_ = 0; i_ < e_.size(); ++i_)                                  \
      ASSERT_TRUE(::adagp::sim::test::sameFloat(e_[i_], a_[i_]))               \
          << "element " << i_ << ": expected " << e_[i_] << " got " << a_[i_]; \
  } while (0)

} // namespace adagp::sim::test

#endif // ADAGP_UNITTESTS_SIM_SIMTESTUTIL_H
