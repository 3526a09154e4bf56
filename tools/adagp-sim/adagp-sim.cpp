//===- adagp-sim.cpp - Assembler, disassembler and simulator driver -------===//
//
//   adagp-sim --assemble prog.s -o prog.agp
//   adagp-sim --disassemble prog.agp [-o prog.s]
//   adagp-sim prog.agp --config configs/default.json --report r.json
//             --trace t.json
//
// Errors go to stderr as "adagp-sim: error: FILE: instruction #N (OP): ..."
// with exit status 1; outputs are written atomically and only on success.
//
//===----------------------------------------------------------------------===//

#include "TrainingHost.h"

#include "adagp/ISA/Assembler.h"
#include "adagp/ISA/ProgramInfo.h"
#include "adagp/Sim/Simulator.h"
#include "adagp/Support/FileUtils.h"
#include "adagp/Support/Npy.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <string>
#include <vector>

using namespace adagp;
using namespace adagp::sim;

namespace {

const char *const kHelp =
    R"(adagp-sim: assembler, disassembler and simulator for the adagp accelerator

USAGE
  adagp-sim [options] PROGRAM.agp|PROGRAM.s      run a program
  adagp-sim --assemble FILE.s -o FILE.agp         assemble
  adagp-sim --disassemble FILE.agp [-o FILE.s]    disassemble (re-assembles
                                                  to the same bytes)

Running prints a summary (cycles, time, utilization, DRAM traffic, energy,
per-queue busy time and stall causes, per-phase costs, simulator speed) on
stdout. A .s program is assembled in memory first. docs/isa.md describes the
instruction set, docs/sim.md the timing and energy model.

OPTIONS
  --assemble            Treat the input as assembly text and write the binary
                        program to -o.
  --disassemble         Treat the input as a binary program and write assembly
                        text to -o (default: standard output).
  -o FILE               Output file of --assemble / --disassemble.
  --config FILE         Accelerator configuration (JSON, see configs/). Default:
                        the built-in default, identical to configs/default.json.
  --report FILE         Write the JSON report (cycles, seconds, instructions,
                        macs, utilization, DRAM bytes, energy, breakdowns by
                        phase and queue, metrics).
  --trace FILE          Write a Chrome trace-event JSON of every instruction on
                        the control/load/execute/store tracks; open it in
                        Perfetto (ui.perfetto.dev) or chrome://tracing.
  --trace-limit N       Keep at most N trace events (default 2000000).
  --timing-only         Skip the arithmetic (data stays as loaded); timing,
                        counts and energy are unchanged. Much faster on large
                        programs. Branches on computed data see stale values.
  --max-instructions N  Stop with an error after N executed instructions.
  --max-cycles N        Stop with an error once simulated time passes N cycles.
  --batches N           Synthetic host for RECV: batches per epoch (default 4).
  --batch-size N        Synthetic host: samples per batch (default 64).
  --classes N           Synthetic host: labels drawn from [0, N) (default 10).
  --dram-in ADDR=FILE   Before running, copy the data of a .npy array into DRAM
                        at byte address ADDR (repeatable).
  --dram-out ADDR:N=FILE
                        After running, write N fp32 values from DRAM at ADDR to
                        FILE as a .npy array (repeatable).
  --print-dram ADDR:N   After running, print N fp32 values from DRAM at ADDR
                        (repeatable).
  --quiet               Do not print the summary.

TRAINING PROGRAMS
A program compiled from a model (adagp-compile --target=accel) carries a
symbol table of its DRAM tensors and speaks the training protocol
(docs/accel-compiler.md): this driver then serves its batches, costs every
step and evaluates the test set from its logits. The report gains
bp_step_cycles, bp_step_energy_joules (and gp_/bp_plain_/eval_ ones), DRAM
bytes per step by tensor class, and per-epoch train loss and test accuracy.
  --inputs FILE.npy     Train on this preprocessed batch (float32 [N, C, H, W],
                        N = the compiled batch size); with --labels.
  --labels FILE.npy     Its labels (int64 [N]).
  --dataset NAME        fashion-mnist, synthetic (the default), or
                        idx:TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,TEST_LABELS;
                        shuffled per epoch as adagp-train does (--seed).
                        Synthetic images are 28x28 like Fashion-MNIST when
                        the model takes 28x28 or 32x32, else the model's size.
  --epochs N            Epochs (default 1).
  --steps N             Stop after N training steps (then no evaluation).
  --seed N              Seed of the epoch order (default 1).
  --train-images N      Use only the first N training images.
  --test-images N       Evaluate on the first N test images only.
  --dump-parameters DIR After the run, write every parameter and running
                        statistic to DIR/<ONNX name>.npy.
  --load-parameters DIR Before the run, read every tensor of the symbol table
                        that DIR/<name>.npy has (a --dump-parameters
                        directory, or the globals/ of an adagp-train
                        checkpoint): parameters, optimizer state, predictor.
ADA-GP programs (adagp-compile --mode=adagp) ask the host for each step's
kind (BP, GP, or plain BP: a BP step that does not train the predictor, in
programs compiled with --schedule-options 'predictor-every=N', N > 1):
  --schedule-from FILE  The BP/GP sequence of a CPU run: the "mode" of each
                        step record of adagp-train --metrics (repeated when
                        the simulation runs more steps); a "bp" record
                        without "quality" is a plain BP step when the
                        program has one.
  --warmup-steps N      Otherwise a fixed policy: N BP steps first (default:
                        one epoch), then runs of
  --bp-run N            N BP steps (default 4) and
  --gp-run N            N GP steps (default 8);
  --predictor-every N   of all BP steps (warm-up included), numbers 0, N,
                        2N, ... train the predictor, the others are plain
                        (default: the N the program was compiled with; N > 1
                        needs a program with a plain BP step).
  --help                Show this help.

Numbers accept decimal or 0x-prefixed hexadecimal. Exit status: 0 on success,
1 on any error (bad input, simulation error, limit reached, I/O failure); no
output file is written then.
)";

int errorExit(const std::string &msg) {
  std::fprintf(stderr, "adagp-sim: error: %s\n", msg.c_str());
  return 1;
}

bool parseU64(const std::string &s, uint64_t &v) {
  if (s.empty() || s[0] == '-')
    return false;
  char *end = nullptr;
  errno = 0;
  v = std::strtoull(s.c_str(), &end, 0);
  return errno == 0 && end == s.c_str() + s.size();
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct DramIn {
  uint64_t addr;
  std::string file;
};
struct DramOut {
  uint64_t addr, count;
  std::string file;
};

} // namespace

int main(int argc, char **argv) {
  bool assembleMode = false, disassembleMode = false, timingOnly = false,
       quiet = false;
  std::string input, output, configPath, reportPath, tracePath;
  uint64_t traceLimit = 2000000, maxInstructions = UINT64_MAX,
           maxCycles = UINT64_MAX, batches = 4, batchSize = 64, classes = 10;
  std::vector<DramIn> dramIn;
  std::vector<DramOut> dramOut, printDram;
  TrainingOptions training;
  std::string dumpDir, loadDir;
  uint64_t warmupSteps = UINT64_MAX, bpRun = 4, gpRun = 8, predictorEvery = 0;
  bool trainingFlags = false;
  uint64_t epochs = 1, steps = 0, seed = 1, trainImages = 0, testImages = 0;

  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &out) {
      size_t eq = a.find('=');
      if (a.rfind("--", 0) == 0 && eq != std::string::npos &&
          a.compare(0, 10, "--dram-in=") != 0 &&
          a.compare(0, 11, "--dram-out=") != 0) {
        out = a.substr(eq + 1);
        return true;
      }
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    std::string flag = a.substr(0, a.find('='));
    if (a.rfind("--dram-", 0) == 0 || a.rfind("--print-dram", 0) == 0)
      flag = a;
    std::string v;
    auto number = [&](uint64_t &out) {
      if (!value(v))
        return errorExit(fmt::format("{} needs a value", flag)) == 0;
      if (!parseU64(v, out))
        return errorExit(fmt::format("{}: '{}' is not a non-negative integer",
                                     flag, v)) == 0;
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--assemble") {
      assembleMode = true;
    } else if (a == "--disassemble") {
      disassembleMode = true;
    } else if (a == "--timing-only") {
      timingOnly = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "-o") {
      if (!value(output))
        return errorExit("-o needs a file name");
    } else if (flag == "--config" || flag == "--report" || flag == "--trace") {
      std::string &dst = flag == "--config"   ? configPath
                         : flag == "--report" ? reportPath
                                              : tracePath;
      if (!value(dst))
        return errorExit(fmt::format("{} needs a file name", flag));
    } else if (flag == "--trace-limit") {
      if (!number(traceLimit))
        return 1;
    } else if (flag == "--max-instructions") {
      if (!number(maxInstructions))
        return 1;
    } else if (flag == "--max-cycles") {
      if (!number(maxCycles))
        return 1;
    } else if (flag == "--batches") {
      if (!number(batches))
        return 1;
    } else if (flag == "--batch-size") {
      if (!number(batchSize))
        return 1;
    } else if (flag == "--classes") {
      if (!number(classes))
        return 1;
    } else if (flag == "--inputs" || flag == "--labels" ||
               flag == "--dataset" || flag == "--dump-parameters" ||
               flag == "--load-parameters" || flag == "--schedule-from") {
      std::string &dst = flag == "--inputs"            ? training.inputsFile
                         : flag == "--labels"          ? training.labelsFile
                         : flag == "--dataset"         ? training.dataset
                         : flag == "--load-parameters" ? loadDir
                         : flag == "--schedule-from"   ? training.scheduleFrom
                                                       : dumpDir;
      if (!value(dst))
        return errorExit(fmt::format("{} needs a value", flag));
      trainingFlags = true;
    } else if (flag == "--epochs" || flag == "--steps" || flag == "--seed" ||
               flag == "--train-images" || flag == "--test-images" ||
               flag == "--warmup-steps" || flag == "--bp-run" ||
               flag == "--gp-run" || flag == "--predictor-every") {
      uint64_t &dst = flag == "--epochs"            ? epochs
                      : flag == "--steps"           ? steps
                      : flag == "--seed"            ? seed
                      : flag == "--train-images"    ? trainImages
                      : flag == "--warmup-steps"    ? warmupSteps
                      : flag == "--bp-run"          ? bpRun
                      : flag == "--gp-run"          ? gpRun
                      : flag == "--predictor-every" ? predictorEvery
                                                    : testImages;
      if (!number(dst))
        return 1;
      if (flag == "--predictor-every" && predictorEvery == 0)
        return errorExit("--predictor-every must be at least 1 (1: every BP "
                         "step trains the predictor)");
      trainingFlags = true;
    } else if (a == "--dram-in" || a == "--dram-out" || a == "--print-dram") {
      if (i + 1 >= argc)
        return errorExit(fmt::format("{} needs a value", a));
      std::string spec = argv[++i];
      size_t eq = spec.find('='), colon = spec.find(':');
      if (a == "--dram-in") {
        uint64_t addr;
        if (eq == std::string::npos || !parseU64(spec.substr(0, eq), addr))
          return errorExit("--dram-in expects ADDR=FILE.npy");
        dramIn.push_back({addr, spec.substr(eq + 1)});
      } else {
        uint64_t addr, count;
        std::string file;
        size_t countEnd = a == "--dram-out" ? eq : spec.size();
        if (colon == std::string::npos || countEnd == std::string::npos ||
            colon > countEnd || !parseU64(spec.substr(0, colon), addr) ||
            !parseU64(spec.substr(colon + 1, countEnd - colon - 1), count))
          return errorExit(fmt::format("{} expects ADDR:COUNT{}", a,
                                       a == "--dram-out" ? "=FILE.npy" : ""));
        if (a == "--dram-out")
          file = spec.substr(eq + 1);
        (a == "--dram-out" ? dramOut : printDram)
            .push_back({addr, count, file});
      }
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return errorExit(fmt::format("unknown option '{}' (see --help)", a));
    } else if (input.empty()) {
      input = a;
    } else {
      return errorExit(
          fmt::format("more than one input file ('{}' and '{}')", input, a));
    }
  }
  if (input.empty())
    return errorExit("no input file (see --help)");
  if (assembleMode && disassembleMode)
    return errorExit("--assemble and --disassemble are exclusive");

  std::string bytes, err;
  if (!readFile(input, bytes, err))
    return errorExit(err);

  isa::Program program;
  bool isText = assembleMode || (!disassembleMode && endsWith(input, ".s"));
  if (isText) {
    if (!isa::assemble(bytes, input, program, err))
      return errorExit(err);
  } else if (!isa::readProgram(reinterpret_cast<const uint8_t *>(bytes.data()),
                               bytes.size(), program, err)) {
    return errorExit(fmt::format("{}: {}", input, err));
  }

  if (assembleMode) {
    if (output.empty())
      return errorExit("--assemble needs -o FILE.agp");
    std::vector<uint8_t> bin;
    if (!isa::writeProgram(program, bin, err))
      return errorExit(fmt::format("{}: {}", input, err));
    if (!writeFileAtomically(
            output,
            std::string_view(reinterpret_cast<const char *>(bin.data()),
                             bin.size()),
            err))
      return errorExit(err);
    return 0;
  }
  if (disassembleMode) {
    std::string text = isa::disassemble(program);
    if (output.empty() || output == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
    if (!writeFileAtomically(output, text, err))
      return errorExit(err);
    return 0;
  }
  if (!output.empty())
    return errorExit("-o is for --assemble/--disassemble; use --report and "
                     "--trace for simulation outputs");

  Config config = defaultConfig();
  if (!configPath.empty() && !loadConfig(configPath, config, err))
    return errorExit(err);

  if (training.inputsFile.empty() != training.labelsFile.empty())
    return errorExit("--inputs and --labels go together");
  if (!training.inputsFile.empty() && !training.dataset.empty())
    return errorExit("--inputs and --dataset are exclusive");
  training.epochs = int64_t(epochs);
  training.steps = int64_t(steps);
  training.seed = seed;
  training.trainImages = int64_t(trainImages);
  training.testImages = int64_t(testImages);
  training.warmupSteps = warmupSteps == UINT64_MAX ? -1 : int64_t(warmupSteps);
  training.bpRun = int64_t(bpRun);
  training.gpRun = int64_t(gpRun);
  if (predictorEvery > uint64_t(INT64_MAX))
    return errorExit("--predictor-every is too large");
  training.predictorEvery = int64_t(predictorEvery);

  // A compiled training program carries its symbol table; plain programs
  // run against the synthetic host.
  isa::ProgramInfo info;
  std::string infoErr;
  bool hasInfo = isa::readProgramInfo(program, info, infoErr);
  if (!hasInfo && program.findSection(isa::kSymbolTableSection))
    return errorExit(fmt::format("{}: {}", input, infoErr));
  // Training programs have host buffers; others only describe their data.
  bool isTraining = hasInfo && info.find("input") && info.find("labels");
  if (hasInfo && !isTraining)
    infoErr = "its symbol table has no input and labels buffers";
  if (!isTraining && trainingFlags)
    return errorExit(fmt::format("{}: --inputs, --dataset, --epochs, "
                                 "--steps and --dump-parameters need a "
                                 "program compiled from a model: {}",
                                 input, infoErr));

  RunOptions opts;
  opts.timingOnly = timingOnly;
  opts.dramTags = info.dramTags;
  opts.maxInstructions = maxInstructions;
  opts.maxCycles = maxCycles;
  opts.trace = !tracePath.empty();
  opts.traceLimit = traceLimit;
  SyntheticHost synthetic{static_cast<unsigned>(batches),
                          static_cast<unsigned>(batchSize),
                          static_cast<unsigned>(classes)};
  TrainingHost trainingHost(info, config, training);
  if (isTraining && !trainingHost.prepare(err))
    return errorExit(err);
  for (const std::string &w : trainingHost.getWarnings())
    std::fprintf(stderr, "adagp-sim: warning: %s\n", w.c_str());
  Host *host = isTraining ? static_cast<Host *>(&trainingHost) : &synthetic;
  Simulator sim(config, host, opts);
  trainingHost.attach(&sim);
  if (!sim.load(program, err))
    return errorExit(fmt::format("{}: {}", input, err));
  for (const DramIn &d : dramIn) {
    NpyArray arr;
    if (!readNpy(d.file, arr, err))
      return errorExit(err);
    if (!sim.writeDram(d.addr, arr.data.data(), arr.data.size(), err))
      return errorExit(fmt::format("{}: {}", d.file, err));
  }

  if (!loadDir.empty()) {
    int64_t loaded = 0;
    if (!loadParameters(sim, info, loadDir, loaded, err))
      return errorExit(err);
    if (loaded == 0)
      return errorExit(fmt::format("--load-parameters: '{}' has no .npy "
                                   "file named like a tensor of {}",
                                   loadDir, input));
  }

  RunStatus status = sim.run();
  if (status == RunStatus::Error)
    return errorExit(fmt::format("{}: {}", input, sim.errorString()));
  if (status == RunStatus::InstructionLimit)
    return errorExit(fmt::format("{}: stopped after {} instructions "
                                 "(--max-instructions); the program did not "
                                 "finish",
                                 input, maxInstructions));
  if (status == RunStatus::CycleLimit)
    return errorExit(fmt::format("{}: stopped at cycle {} (--max-cycles); "
                                 "the program did not finish",
                                 input, maxCycles));

  Report report = sim.report();
  if (isTraining)
    trainingHost.addToReport(report, timingOnly);
  if (!dumpDir.empty()) {
    if (timingOnly)
      return errorExit("--dump-parameters needs a functional run (not "
                       "--timing-only)");
    if (!dumpParameters(sim, info, dumpDir, err))
      return errorExit(err);
  }
  for (const DramOut &d : printDram) {
    std::vector<float> vals(d.count);
    if (!sim.readDram(d.addr, vals.data(), 4 * d.count, err))
      return errorExit(err);
    std::string line = fmt::format("dram[0x{:x}]:", d.addr);
    for (float f : vals)
      line += fmt::format(" {}", f);
    std::puts(line.c_str());
  }
  for (const DramOut &d : dramOut) {
    std::vector<float> vals(d.count);
    if (!sim.readDram(d.addr, vals.data(), 4 * d.count, err))
      return errorExit(err);
    NpyArray arr = NpyArray::fromFloats({int64_t(d.count)}, vals.data());
    if (!writeNpy(d.file, arr, err))
      return errorExit(err);
  }
  if (!reportPath.empty() &&
      !writeFileAtomically(reportPath, reportToJson(report, config, input),
                           err))
    return errorExit(err);
  if (!tracePath.empty() &&
      !writeFileAtomically(tracePath, sim.traceJson(), err))
    return errorExit(err);
  if (!quiet) {
    std::string s = fmt::format("program:         {}\n", input) +
                    reportSummary(report, config);
    if (isTraining)
      s += trainingHost.summary(timingOnly);
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  return 0;
}
