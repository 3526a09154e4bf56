//===- Host.cpp - Host implementations ------------------------------------===//

#include "adagp/Sim/Host.h"

#include <algorithm>
#include <cstring>

namespace adagp::sim {

Host::~Host() = default;
void Host::sendMetric(const Metric &) {}
bool Host::decideBranch(uint64_t, bool computedTaken) { return computedTaken; }

int64_t MemoryHost::receiveBatch(unsigned, std::vector<uint8_t> &inputs,
                                 std::vector<uint8_t> &labels, bool fillData,
                                 std::string &error) {
  if (batches.empty()) {
    error = "the host has no batches";
    return -1;
  }
  if (next == batches.size()) {
    next = 0;
    ++epochsServed;
    return 0;
  }
  const Batch &b = batches[next++];
  if (b.inputs.size() > inputs.size() || b.labels.size() > labels.size()) {
    error = "a batch is larger than the program's receive buffers";
    return -1;
  }
  if (fillData) {
    std::copy(b.inputs.begin(), b.inputs.end(), inputs.begin());
    std::copy(b.labels.begin(), b.labels.end(), labels.begin());
  }
  return b.samples;
}

void MemoryHost::sendMetric(const Metric &metric) { metrics.push_back(metric); }

SyntheticHost::SyntheticHost(unsigned batchesPerEpoch, unsigned samplesPerBatch,
                             unsigned classes, uint64_t seed)
    : batchesPerEpoch(batchesPerEpoch), samplesPerBatch(samplesPerBatch),
      classes(classes ? classes : 1), state(seed ? seed : 1) {}

int64_t SyntheticHost::receiveBatch(unsigned, std::vector<uint8_t> &inputs,
                                    std::vector<uint8_t> &labels, bool fillData,
                                    std::string &) {
  if (served == batchesPerEpoch) {
    served = 0;
    return 0;
  }
  ++served;
  if (fillData) {
    // xorshift64*: deterministic and fast.
    auto next = [&]() {
      state ^= state >> 12;
      state ^= state << 25;
      state ^= state >> 27;
      return state * 0x2545F4914F6CDD1DULL;
    };
    for (size_t i = 0; i + 4 <= inputs.size(); i += 4) {
      float v = float(next() >> 40) / float(1 << 24) * 2.0f - 1.0f;
      std::memcpy(&inputs[i], &v, 4);
    }
    size_t n = std::min<size_t>(labels.size() / 4, samplesPerBatch);
    for (size_t i = 0; i < n; ++i) {
      int32_t y = int32_t(next() % classes);
      std::memcpy(&labels[4 * i], &y, 4);
    }
  }
  return samplesPerBatch;
}

void SyntheticHost::sendMetric(const Metric &metric) {
  if (metrics.size() < 100000)
    metrics.push_back(metric);
}

} // namespace adagp::sim
