//===- TrainingHost.h - The host side of compiled training programs -------===//
//
// A program compiled from a model (its SYMTAB section, adagp/ISA/
// ProgramInfo.h) speaks the training protocol: it asks for epochs, training
// and evaluation batches and reports step boundaries, losses and logits.
// This host serves the data (a preprocessed batch from .npy files, or a
// dataset with its seeded epoch order, exactly as adagp-train does), costs
// every step from simulator snapshots, computes test accuracy from the
// logits, and dumps parameters by their ONNX names afterwards.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TOOLS_ADAGP_SIM_TRAININGHOST_H
#define ADAGP_TOOLS_ADAGP_SIM_TRAININGHOST_H

#include "adagp/Data/Dataset.h"
#include "adagp/ISA/ProgramInfo.h"
#include "adagp/Sim/Simulator.h"

#include <map>
#include <string>
#include <vector>

namespace adagp::sim {

struct TrainingOptions {
  std::string inputsFile, labelsFile;
  /// "fashion-mnist", "synthetic", "idx:TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,
  /// TEST_LABELS"; empty with --inputs.
  std::string dataset;
  int64_t epochs = 1;
  int64_t steps = 0; // 0: every batch of every epoch
  int64_t trainImages = 0, testImages = 0;
  uint64_t seed = 1;
  /// ADA-GP programs ask the host for each step's kind. From a metrics
  /// file of adagp-train (its step records' "mode", repeated cyclically
  /// when the run is longer; a "bp" record without "quality" did not train
  /// the predictor: a plain BP step when the program has one), or else the
  /// fixed policy: `warmupSteps` BP steps (-1: one epoch), then runs of
  /// `bpRun` BP and `gpRun` GP steps, of which BP steps number 0, N, 2N,
  /// ... (warm-up included) train the predictor and the others are plain,
  /// N = `predictorEvery` (0: the program's).
  std::string scheduleFrom;
  int64_t warmupSteps = -1, bpRun = 4, gpRun = 8;
  int64_t predictorEvery = 0;
};

class TrainingHost : public Host {
public:
  TrainingHost(const isa::ProgramInfo &info, const Config &config,
               TrainingOptions options);

  /// Loads the data (and the schedule) and checks it against the program's
  /// buffers.
  bool prepare(std::string &error);
  void attach(Simulator *s) { sim = s; }

  int64_t receiveBatch(unsigned stream, std::vector<uint8_t> &inputs,
                       std::vector<uint8_t> &labels, bool fillData,
                       std::string &error) override;
  void sendMetric(const Metric &metric) override;

  /// Adds the training figures to the report (step costs by kind, DRAM
  /// bytes by tensor class, losses, accuracy) and drops the bulky logits
  /// metrics.
  void addToReport(Report &report, bool timingOnly) const;
  /// Human-readable lines for the summary.
  std::string summary(bool timingOnly) const;
  /// What prepare() found questionable but ran anyway.
  const std::vector<std::string> &getWarnings() const { return warnings; }

private:
  struct StepStats {
    uint64_t count = 0, cycles = 0;
    double energy = 0;
    DramTagBytes dram;
  };
  struct EpochStats {
    double lossSum = 0;
    int64_t steps = 0;
    double testLossSum = 0;
    int64_t correct = 0, tested = 0;
  };

  void fillTrain(std::vector<uint8_t> &inputs, std::vector<uint8_t> &labels);
  void fillEval(std::vector<uint8_t> &inputs, int64_t first, int64_t n);
  void writeInputs(const float *logical, std::vector<uint8_t> &inputs) const;
  /// The fixed policy's kind of training step `step` (from 0).
  int64_t fixedPolicyKind(int64_t step) const;

  isa::ProgramInfo info;
  const Config &config;
  TrainingOptions opts;
  Simulator *sim = nullptr;
  const isa::DramRegion *input = nullptr, *labelsRegion = nullptr;
  data::InputShape shape;
  int64_t batch = 0, classes = 0;

  // Data.
  bool preprocessed = false;
  std::vector<float> rawInputs;
  std::vector<int64_t> rawLabels;
  data::Images train, test;
  int64_t batchesPerEpoch = 0, totalSteps = 0;

  // Protocol state.
  int64_t epoch = -1, batchInEpoch = 0, stepsDone = 0, evalPos = 0,
          evalValid = 0;
  bool interrupted = false;
  std::vector<int64_t> order, evalLabels;
  std::vector<int64_t> schedule; // step kinds from --schedule-from
  int64_t scheduleIndex = 0;
  int64_t predictorEvery = 1; // of the fixed policy

  // Costs and results.
  Snapshot stepStart;
  std::map<int64_t, StepStats> steps; // by step kind
  std::vector<EpochStats> epochs;
  std::vector<double> losses;
  std::vector<std::string> warnings;
};

/// Before a run: overwrites every tensor of the symbol table that has a
/// DIR/<name>.npy (as --dump-parameters or adagp-train's checkpoint
/// globals write them) with that array, in the tensor's storage order.
/// Sets `loaded` to the number of tensors read.
bool loadParameters(Simulator &sim, const isa::ProgramInfo &info,
                    const std::string &dir, int64_t &loaded,
                    std::string &error);

/// Writes every parameter and running statistic of the program to
/// DIR/<name>.npy in its logical (ONNX) shape, atomically (the directory
/// appears complete or not at all).
bool dumpParameters(const Simulator &sim, const isa::ProgramInfo &info,
                    const std::string &dir, std::string &error);

} // namespace adagp::sim

#endif // ADAGP_TOOLS_ADAGP_SIM_TRAININGHOST_H
