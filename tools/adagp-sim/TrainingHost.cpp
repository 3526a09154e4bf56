//===- TrainingHost.cpp - The host side of compiled training programs -----===//

#include "TrainingHost.h"

#include "adagp/Support/FileUtils.h"
#include "adagp/Support/Npy.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace adagp::sim {

using namespace isa::protocol;
namespace fs = std::filesystem;

TrainingHost::TrainingHost(const isa::ProgramInfo &info, const Config &config,
                           TrainingOptions options)
    : info(info), config(config), opts(std::move(options)) {}

bool TrainingHost::prepare(std::string &error) {
  // Which BP steps of the fixed policy train the predictor.
  if (opts.predictorEvery < 0) {
    error = fmt::format("--predictor-every must be at least 1, got {}",
                        opts.predictorEvery);
    return false;
  }
  if (opts.predictorEvery > 0 && !opts.scheduleFrom.empty()) {
    error = "--predictor-every is for the fixed policy; with "
            "--schedule-from, the file's \"bp\" records without a "
            "\"quality\" are the plain BP steps";
    return false;
  }
  predictorEvery =
      opts.predictorEvery > 0 ? opts.predictorEvery : info.predictorEvery;
  if (predictorEvery > 1 && !info.hasPlainBPStep) {
    error = fmt::format(
        "--predictor-every {}: the program has no plain BP step (compile it "
        "with adagp-compile --mode=adagp --schedule-options "
        "'predictor-every=N', N > 1)",
        predictorEvery);
    return false;
  }
  if (!opts.scheduleFrom.empty()) {
    int64_t trainedBP = 0, plainBP = 0;
    std::string text;
    if (!readFile(opts.scheduleFrom, text, error))
      return false;
    size_t pos = 0;
    int64_t line = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      std::string l = text.substr(pos, end == std::string::npos
                                           ? std::string::npos
                                           : end - pos);
      pos = end == std::string::npos ? text.size() : end + 1;
      ++line;
      if (l.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      auto j = nlohmann::json::parse(l, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        error = fmt::format("{}:{}: not a JSON object", opts.scheduleFrom,
                            line);
        return false;
      }
      if (!j.contains("mode") || !j.contains("step"))
        continue; // epoch records
      std::string mode = j["mode"].is_string() ? j["mode"].get<std::string>()
                                               : "";
      if (mode != "bp" && mode != "gp") {
        error = fmt::format("{}:{}: step mode '{}' is neither bp nor gp",
                            opts.scheduleFrom, line, mode);
        return false;
      }
      // adagp-train writes the predictor's loss and quality only for the
      // BP steps that trained it (all of them unless --predictor-every).
      bool plain = mode == "bp" && !j.contains("quality");
      trainedBP += mode == "bp" && !plain;
      plainBP += plain;
      schedule.push_back(mode == "gp"                   ? kStepGP
                         : plain && info.hasPlainBPStep ? kStepBPPlain
                                                        : kStepBP);
    }
    if (trainedBP && plainBP && !info.hasPlainBPStep)
      warnings.push_back(fmt::format(
          "{}: {} of its {} BP steps did not train the predictor, but the "
          "program has no plain BP step: they run as BP steps that do "
          "(compile with --schedule-options 'predictor-every=N')",
          opts.scheduleFrom, plainBP, trainedBP + plainBP));
    if (schedule.empty()) {
      error = fmt::format("{}: no step records with a \"mode\" (write them "
                          "with adagp-train --metrics, without "
                          "--no-step-metrics)",
                          opts.scheduleFrom);
      return false;
    }
  }
  input = info.find("input");
  labelsRegion = info.find("labels");
  if (!input || !labelsRegion || input->shape.size() != 4) {
    error = "the program's symbol table has no 4-D 'input' and 'labels' "
            "buffers";
    return false;
  }
  batch = input->shape[0];
  shape = {input->shape[1], input->shape[2], input->shape[3]};
  classes = info.classes > 0 ? info.classes : 10;
  if (!opts.inputsFile.empty()) {
    NpyArray x, y;
    if (!readNpy(opts.inputsFile, x, error) ||
        !readNpy(opts.labelsFile, y, error))
      return false;
    if (x.dtype != "f4" || x.numElements() != batch * shape.size() ||
        x.shape.empty() || x.shape[0] != batch) {
      error = fmt::format("{} has shape {} but the program takes [{}, {}, "
                          "{}, {}] float32 (compiled for batch {})",
                          opts.inputsFile, x.shapeString(), batch,
                          shape.channels, shape.height, shape.width, batch);
      return false;
    }
    if (y.dtype != "i8" || y.numElements() != batch) {
      error = fmt::format("{}: expected int64 labels [{}]", opts.labelsFile,
                          batch);
      return false;
    }
    rawInputs.assign(x.as<float>(), x.as<float>() + x.numElements());
    rawLabels.assign(y.as<int64_t>(), y.as<int64_t>() + y.numElements());
    for (size_t i = 0; i < rawLabels.size(); ++i)
      if (rawLabels[i] < 0 || rawLabels[i] >= classes) {
        error = fmt::format("{}: label {} of example {} is outside [0, {})",
                            opts.labelsFile, rawLabels[i], i, classes);
        return false;
      }
    preprocessed = true;
    batchesPerEpoch = 1;
    totalSteps = opts.steps > 0 ? opts.steps : opts.epochs;
    return true;
  }
  std::string spec = opts.dataset.empty() ? "synthetic" : opts.dataset;
  if (spec == "fashion-mnist") {
    if (!data::loadFashionMNIST(data::kFashionMNISTDir, train, test, error))
      return false;
  } else if (spec == "synthetic") {
    // Fashion-MNIST-sized images, as adagp-train makes them, when the model
    // takes those (28x28, or 32x32 after padding); otherwise images of the
    // model's own size, so that any compiled model runs without data.
    bool mnistSized = (shape.height == 28 && shape.width == 28) ||
                      (shape.height == 32 && shape.width == 32);
    int64_t h = mnistSized ? 28 : shape.height;
    int64_t w = mnistSized ? 28 : shape.width;
    train = data::synthetic(2048, classes, h, w, opts.seed);
    test = data::synthetic(512, classes, h, w, opts.seed + 1);
  } else if (spec.rfind("idx:", 0) == 0) {
    std::vector<std::string> parts;
    size_t pos = 4;
    while (true) {
      size_t comma = spec.find(',', pos);
      parts.push_back(spec.substr(pos, comma - pos));
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
    if (parts.size() != 4) {
      error = "--dataset idx: needs TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,"
              "TEST_LABELS";
      return false;
    }
    if (!data::loadIdxPair(parts[0], parts[1], train, error) ||
        !data::loadIdxPair(parts[2], parts[3], test, error))
      return false;
  } else {
    error = "unknown --dataset '" + spec +
            "' (fashion-mnist, synthetic, idx:...)";
    return false;
  }
  for (data::Images *set : {&train, &test}) {
    if (!data::checkShape(*set, shape, error))
      return false;
    for (int64_t i = 0; i < set->count; ++i)
      if (set->labels[i] < 0 || set->labels[i] >= classes) {
        error = fmt::format("label {} of example {} is outside [0, {})",
                            set->labels[i], i, classes);
        return false;
      }
  }
  if (opts.trainImages > 0 && opts.trainImages < train.count)
    train.count = opts.trainImages;
  if (opts.testImages > 0 && opts.testImages < test.count)
    test.count = opts.testImages;
  if (train.count < batch) {
    error = fmt::format("{} training images are fewer than one batch of {}",
                        train.count, batch);
    return false;
  }
  // As adagp-train: the last partial training batch is dropped.
  batchesPerEpoch = train.count / batch;
  totalSteps = opts.steps > 0 ? opts.steps : opts.epochs * batchesPerEpoch;
  return true;
}

void TrainingHost::writeInputs(const float *logical,
                               std::vector<uint8_t> &inputs) const {
  std::vector<int64_t> full = input->shape;
  inputs.assign(inputs.size(), 0);
  isa::logicalToStorage(logical, inputs.data(), full, input->layout, 4);
}

void TrainingHost::fillTrain(std::vector<uint8_t> &inputs,
                             std::vector<uint8_t> &labels) {
  std::vector<float> x(batch * shape.size());
  std::vector<int32_t> y(batch);
  if (preprocessed) {
    x = rawInputs;
    for (int64_t i = 0; i < batch; ++i)
      y[i] = int32_t(rawLabels[i]);
  } else {
    const int64_t *idx = order.data() + batchInEpoch * batch;
    data::preprocess(train, idx, batch, shape, data::kFashionMNISTMean,
                     data::kFashionMNISTStd, x.data());
    for (int64_t i = 0; i < batch; ++i)
      y[i] = int32_t(train.labels[idx[i]]);
  }
  writeInputs(x.data(), inputs);
  std::memcpy(labels.data(), y.data(),
              std::min<size_t>(labels.size(), 4 * y.size()));
}

void TrainingHost::fillEval(std::vector<uint8_t> &inputs, int64_t first,
                            int64_t n) {
  // A partial last batch repeats its first image; only n count (as
  // adagp-train evaluates).
  std::vector<int64_t> idx(batch);
  for (int64_t i = 0; i < batch; ++i)
    idx[i] = first + (i < n ? i : 0);
  std::vector<float> x(batch * shape.size());
  data::preprocess(test, idx.data(), batch, shape, data::kFashionMNISTMean,
                   data::kFashionMNISTStd, x.data());
  writeInputs(x.data(), inputs);
}

int64_t TrainingHost::receiveBatch(unsigned stream,
                                   std::vector<uint8_t> &inputs,
                                   std::vector<uint8_t> &labels,
                                   bool fillData, std::string &error) {
  switch (stream) {
  case kControlStream:
    if (stepsDone >= totalSteps)
      return 0;
    ++epoch;
    batchInEpoch = 0;
    evalPos = 0;
    interrupted = false;
    epochs.emplace_back();
    if (!preprocessed)
      order = data::epochPermutation(train.count, opts.seed, uint64_t(epoch));
    return 1;
  case kTrainStream:
    if (batchInEpoch >= batchesPerEpoch || stepsDone >= totalSteps) {
      interrupted = batchInEpoch < batchesPerEpoch;
      return 0;
    }
    if (fillData)
      fillTrain(inputs, labels);
    ++batchInEpoch;
    ++stepsDone;
    return batch;
  case kEvalStream: {
    if (interrupted || preprocessed || evalPos >= test.count)
      return 0;
    int64_t n = std::min<int64_t>(batch, test.count - evalPos);
    if (fillData)
      fillEval(inputs, evalPos, n);
    evalLabels.assign(test.labels.begin() + evalPos,
                      test.labels.begin() + evalPos + n);
    evalValid = n;
    evalPos += n;
    return batch;
  }
  case kScheduleStream: {
    // The step just received is number stepsDone - 1.
    int64_t step = std::max<int64_t>(stepsDone - 1, 0);
    if (!schedule.empty())
      return schedule[size_t(step) % schedule.size()];
    return fixedPolicyKind(step);
  }
  default:
    error = fmt::format("the program asked for stream {}, which this host "
                        "does not serve",
                        stream);
    return -1;
  }
}

int64_t TrainingHost::fixedPolicyKind(int64_t step) const {
  int64_t warmup = opts.warmupSteps >= 0 ? opts.warmupSteps : batchesPerEpoch;
  int64_t period = opts.bpRun + opts.gpRun;
  // Whether `step` is a BP step, and how many BP steps came before it.
  bool isBP = true;
  int64_t bpBefore = step;
  if (step >= warmup && period > 0) {
    int64_t t = step - warmup;
    isBP = t % period < opts.bpRun;
    bpBefore =
        warmup + t / period * opts.bpRun + std::min(t % period, opts.bpRun);
  }
  if (!isBP)
    return kStepGP;
  return bpBefore % predictorEvery == 0 ? kStepBP : kStepBPPlain;
}

void TrainingHost::sendMetric(const Metric &m) {
  switch (m.tag) {
  case kTagStepBegin:
    if (sim)
      stepStart = sim->snapshot();
    break;
  case kTagStepEnd: {
    if (!sim)
      break;
    Snapshot end = sim->snapshot();
    StepStats &s = steps[m.intValue];
    ++s.count;
    uint64_t cycles = end.fetchCycle - stepStart.fetchCycle;
    s.cycles += cycles;
    ActionCounts delta = end.counts;
    // Subtract field by field: ActionCounts only adds.
    const ActionCounts &b = stepStart.counts;
    delta.instructions -= b.instructions;
    delta.macs -= b.macs;
    delta.spadReadBytes -= b.spadReadBytes;
    delta.spadWriteBytes -= b.spadWriteBytes;
    delta.accReadBytes -= b.accReadBytes;
    delta.accWriteBytes -= b.accWriteBytes;
    delta.dramReadBytes -= b.dramReadBytes;
    delta.dramWriteBytes -= b.dramWriteBytes;
    delta.hostBytes -= b.hostBytes;
    delta.vectorSimpleOps -= b.vectorSimpleOps;
    delta.vectorComplexOps -= b.vectorComplexOps;
    s.energy += computeEnergy(delta, config,
                              double(cycles) / (config.clockGhz * 1e9))
                    .total();
    s.dram += end.dramTagBytes - stepStart.dramTagBytes;
    break;
  }
  case kTagLoss:
    if (!m.array.empty()) {
      losses.push_back(m.array[0]);
      if (!epochs.empty()) {
        epochs.back().lossSum += m.array[0];
        ++epochs.back().steps;
      }
    }
    break;
  case kTagLogits: {
    if (epochs.empty() || int64_t(m.array.size()) < evalValid * classes)
      break;
    EpochStats &e = epochs.back();
    for (int64_t i = 0; i < evalValid; ++i) {
      const float *row = m.array.data() + i * classes;
      double mx = row[0];
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (row[c] > mx)
          mx = row[c], best = c;
      double sum = 0;
      for (int64_t c = 0; c < classes; ++c)
        sum += std::exp(row[c] - mx);
      int64_t label = evalLabels[i];
      e.testLossSum += std::log(sum) + mx - row[label];
      e.correct += best == label;
      ++e.tested;
    }
    break;
  }
  default:
    break;
  }
}

namespace {
/// The order of the step kinds in the report and the summary.
std::vector<int64_t> stepKindOrder() {
  return {kStepBP, kStepBPPlain, kStepGP, kStepEval};
}

const char *kindName(int64_t kind) {
  switch (kind) {
  case kStepBP:
    return "bp";
  case kStepGP:
    return "gp";
  case kStepBPPlain:
    return "bp_plain";
  default:
    return "eval";
  }
}
} // namespace

void TrainingHost::addToReport(Report &report, bool timingOnly) const {
  using nlohmann::ordered_json;
  auto put = [&](const std::string &key, const ordered_json &v) {
    report.extraJson.emplace_back(key, v.dump());
  };
  ordered_json program;
  program["model"] = info.model;
  program["mode"] = info.mode;
  program["config"] = info.config;
  program["batch_size"] = batch;
  if (info.mode == "adagp") {
    program["predictor_every"] = info.predictorEvery;
    program["bp_plain_step"] = info.hasPlainBPStep;
  }
  put("program", program);
  if (info.mode == "adagp") {
    // Where the steps' kinds came from.
    ordered_json sched;
    if (!schedule.empty()) {
      sched["from"] = opts.scheduleFrom;
    } else {
      sched["warmup_steps"] =
          opts.warmupSteps >= 0 ? opts.warmupSteps : batchesPerEpoch;
      sched["bp_run"] = opts.bpRun;
      sched["gp_run"] = opts.gpRun;
      sched["predictor_every"] = predictorEvery;
    }
    put("schedule", sched);
  }
  for (int64_t kind : stepKindOrder()) {
    auto it = steps.find(kind);
    if (it == steps.end() || !it->second.count)
      continue;
    const StepStats &s = it->second;
    std::string k = kindName(kind);
    put(k + "_steps", s.count);
    put(k + "_step_cycles", double(s.cycles) / double(s.count));
    put(k + "_step_energy_joules", s.energy / double(s.count));
    ordered_json bytes = ordered_json::object();
    for (unsigned t = 0; t < isa::kNumTensorClasses; ++t) {
      uint64_t b = s.dram.read[t] + s.dram.write[t];
      if (b)
        bytes[isa::tensorClassName(isa::TensorClass(t))] =
            double(b) / double(s.count);
    }
    put(k + "_step_dram_bytes", bytes);
  }
  ordered_json byClass = ordered_json::object();
  for (unsigned t = 0; t < isa::kNumTensorClasses; ++t) {
    const DramTagBytes &d = report.dramTagBytes;
    if (d.read[t] || d.write[t])
      byClass[isa::tensorClassName(isa::TensorClass(t))] = {
          {"read", d.read[t]}, {"write", d.write[t]}};
  }
  put("dram_bytes_by_class", byClass);
  ordered_json ep = ordered_json::array();
  for (size_t i = 0; i < epochs.size(); ++i) {
    const EpochStats &e = epochs[i];
    ordered_json j;
    j["epoch"] = i + 1;
    j["steps"] = e.steps;
    if (!timingOnly && e.steps)
      j["train_loss"] = e.lossSum / double(e.steps);
    if (!timingOnly && e.tested) {
      j["test_loss"] = e.testLossSum / double(e.tested);
      j["test_accuracy"] = double(e.correct) / double(e.tested);
    }
    ep.push_back(j);
  }
  put("epochs", ep);
  if (!timingOnly && !epochs.empty() && epochs.back().tested)
    put("test_accuracy",
        double(epochs.back().correct) / double(epochs.back().tested));
  if (!timingOnly && !losses.empty())
    put("final_loss", losses.back());
  // Logits are bulky and already summarised as accuracy.
  std::vector<Metric> kept;
  for (const Metric &m : report.metrics)
    if (m.tag != kTagLogits)
      kept.push_back(m);
  report.metrics = std::move(kept);
}

std::string TrainingHost::summary(bool timingOnly) const {
  std::string s;
  for (int64_t kind : stepKindOrder()) {
    auto it = steps.find(kind);
    if (it == steps.end() || !it->second.count)
      continue;
    const StepStats &st = it->second;
    s += fmt::format("{:<17}{} steps, {:.0f} cycles and {:.4g} J per step\n",
                     std::string(kindName(kind)) + " step:", st.count,
                     double(st.cycles) / double(st.count),
                     st.energy / double(st.count));
  }
  if (!timingOnly) {
    for (size_t i = 0; i < epochs.size(); ++i) {
      const EpochStats &e = epochs[i];
      std::string line = fmt::format("epoch {}: {} steps", i + 1, e.steps);
      if (e.steps)
        line += fmt::format(", train loss {:.4f}", e.lossSum / e.steps);
      if (e.tested)
        line += fmt::format(", test loss {:.4f}, test accuracy {:.2f}%",
                            e.testLossSum / double(e.tested),
                            100.0 * double(e.correct) / double(e.tested));
      s += line + "\n";
    }
  }
  return s;
}

bool loadParameters(Simulator &sim, const isa::ProgramInfo &info,
                    const std::string &dir, int64_t &loaded,
                    std::string &error) {
  loaded = 0;
  if (!fs::is_directory(dir)) {
    error = fmt::format("--load-parameters: '{}' is not a directory", dir);
    return false;
  }
  for (const isa::DramRegion &r : info.regions) {
    std::string path = dir + "/" + r.name + ".npy";
    if (!fs::exists(path))
      continue;
    NpyArray a;
    if (!readNpy(path, a, error))
      return false;
    int64_t n = r.numElements();
    bool f32 = r.dtype == "f32" && a.dtype == "f4";
    bool i64 = r.dtype == "i64" && a.dtype == "i8";
    if ((!f32 && !i64) || a.numElements() != n) {
      error = fmt::format("{}: {} {} does not match the program's {} [{}]",
                          path, a.dtype, a.shapeString(), r.dtype,
                          fmt::join(r.shape, ", "));
      return false;
    }
    if (i64) {
      if (!sim.writeDram(r.offset, a.data.data(), 8 * uint64_t(n), error))
        return false;
    } else {
      std::vector<float> storage(n);
      isa::logicalToStorage(a.as<float>(), storage.data(), r.shape, r.layout,
                            4);
      if (!sim.writeDram(r.offset, storage.data(), 4 * uint64_t(n), error))
        return false;
    }
    ++loaded;
  }
  return true;
}

bool dumpParameters(const Simulator &sim, const isa::ProgramInfo &info,
                    const std::string &dir, std::string &error) {
  std::string staging = dir + ".partial";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) {
    error = fmt::format("cannot create '{}': {}", staging, ec.message());
    return false;
  }
  for (const isa::DramRegion &r : info.regions) {
    bool dumped = r.role == "parameter" ||
                  (r.role == "state" && r.cls == isa::TensorClass::Statistics);
    if (!dumped || r.dtype != "f32")
      continue;
    int64_t n = r.numElements();
    std::vector<float> storage(n), logical(n);
    if (!sim.readDram(r.offset, storage.data(), 4 * uint64_t(n), error))
      return false;
    isa::storageToLogical(storage.data(), logical.data(), r.shape, r.layout,
                          4);
    if (!writeNpy(staging + "/" + r.name + ".npy",
                  NpyArray::fromFloats(r.shape, logical.data()), error))
      return false;
  }
  return replaceDirectory(staging, dir, error);
}

} // namespace adagp::sim
