//===- Host.h - The host side of RECV and SEND ------------------*- C++ -*-===//
//
// The accelerator program pulls training data with RECV and pushes metrics
// with SEND. A Host implementation supplies both; the simulator calls it
// synchronously from the control core. Datasets plug in by subclassing.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_SIM_HOST_H
#define ADAGP_SIM_HOST_H

#include <cstdint>
#include <string>
#include <vector>

namespace adagp::sim {

/// One SEND from the program.
struct Metric {
  enum Kind { Int, Float, Array } kind = Int;
  uint32_t tag = 0;
  int64_t intValue = 0;
  double floatValue = 0;
  std::vector<float> array; // Array kind: the DRAM block
  uint64_t pc = 0;          // instruction index of the SEND
  uint64_t cycle = 0;       // control-core time when it was sent
};

class Host {
public:
  virtual ~Host();
  /// RECV: `inputs` and `labels` arrive sized to the instruction's byte counts
  /// and zero-filled; the host fills a prefix and returns the number of
  /// samples in the batch, 0 for "no more data" (end of epoch or of the
  /// dataset), or a negative value to abort the run with `error` set. With
  /// `fillData` false (timing-only simulation) the host need not write the
  /// buffers, only return the count.
  virtual int64_t receiveBatch(unsigned stream, std::vector<uint8_t> &inputs,
                               std::vector<uint8_t> &labels, bool fillData,
                               std::string &error) = 0;
  /// SEND.
  virtual void sendMetric(const Metric &metric);
  /// Timing-only simulation skips arithmetic, so a branch on a value the
  /// program computed (a loss, a predictor score) sees stale data. The
  /// simulator asks the host for such decisions: every conditional branch in
  /// timing-only mode calls this with the outcome computed from the registers;
  /// the returned value is used. The default keeps the computed outcome.
  virtual bool decideBranch(uint64_t pc, bool computedTaken);
};

/// Serves batches held in memory, in order; after the last batch it returns 0
/// once (end of epoch) and then starts again from the first. Records metrics.
class MemoryHost : public Host {
public:
  struct Batch {
    std::vector<uint8_t> inputs;
    std::vector<uint8_t> labels;
    int64_t samples = 0;
  };
  std::vector<Batch> batches;
  std::vector<Metric> metrics;
  unsigned epochsServed = 0;

  int64_t receiveBatch(unsigned stream, std::vector<uint8_t> &inputs,
                       std::vector<uint8_t> &labels, bool fillData,
                       std::string &error) override;
  void sendMetric(const Metric &metric) override;

private:
  size_t next = 0;
};

/// Deterministic synthetic data for the command-line tool: `batchesPerEpoch`
/// batches of `samplesPerBatch` samples, inputs uniform in [-1, 1) (fp32),
/// labels uniform in [0, classes) (int32), from a fixed-seed generator.
class SyntheticHost : public Host {
public:
  SyntheticHost(unsigned batchesPerEpoch, unsigned samplesPerBatch,
                unsigned classes, uint64_t seed = 1);
  std::vector<Metric> metrics;

  int64_t receiveBatch(unsigned stream, std::vector<uint8_t> &inputs,
                       std::vector<uint8_t> &labels, bool fillData,
                       std::string &error) override;
  void sendMetric(const Metric &metric) override;

private:
  unsigned batchesPerEpoch, samplesPerBatch, classes;
  uint64_t state;
  unsigned served = 0;
};

} // namespace adagp::sim

#endif // ADAGP_SIM_HOST_H
