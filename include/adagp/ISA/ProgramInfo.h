//===- ProgramInfo.h - What a compiled program tells its host ---*- C++ -*-===//
//
// A program compiled from a model (adagp-compile --target=accel) carries,
// besides its instructions and initial DRAM contents, what a host needs to
// drive it and to read its results: a symbol table of DRAM regions (every
// parameter, optimizer state and batch-norm statistic under its ONNX
// initializer name, the input and label buffers, the loss and logits), the
// host protocol it speaks, and a tag per instruction naming the class of
// tensor each DMA moves (for the report's DRAM traffic by tensor class).
//
// Both travel in sections of the program file (ISA.h, Section):
//   "SYMTAB"  version 1: UTF-8 JSON, described in docs/accel-compiler.md;
//   "DMATAGS" version 1: one byte per instruction, a TensorClass value for
//             load/store and 0 elsewhere.
//
// No MLIR dependency: the simulator's driver reads this too.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_ISA_PROGRAMINFO_H
#define ADAGP_ISA_PROGRAMINFO_H

#include "adagp/ISA/ISA.h"

#include <cstdint>
#include <string>
#include <vector>

namespace adagp::isa {

/// Kinds of tensor a compiled program keeps in DRAM. The numeric values are
/// stored in files (DMATAGS); append new classes at the end.
#define ADAGP_TENSOR_CLASSES(X)                                                \
  X(Other, "other")                                                            \
  X(Weight, "weight")                                                          \
  X(Activation, "activation")                                                  \
  X(Gradient, "gradient")                                                      \
  X(OptimizerState, "optimizer_state")                                         \
  X(Predictor, "predictor")                                                    \
  X(Input, "input")                                                            \
  X(Statistics, "statistics")                                                  \
  X(Constant, "constant")

enum class TensorClass : uint8_t {
#define X(id, name) id,
  ADAGP_TENSOR_CLASSES(X)
#undef X
      NumClasses
};
constexpr unsigned kNumTensorClasses =
    static_cast<unsigned>(TensorClass::NumClasses);

const char *tensorClassName(TensorClass cls);
/// Returns false if `name` is not a class name.
bool parseTensorClass(const std::string &name, TensorClass &cls);

/// The host protocol of compiled training programs: RECV streams, SEND tags
/// and step kinds (docs/accel-compiler.md, "Host protocol").
namespace protocol {
/// RECV streams.
enum Stream : unsigned {
  /// The next training batch (inputs and int32 labels); 0 samples ends the
  /// epoch.
  kTrainStream = 0,
  /// The next evaluation batch (inputs only); 0 ends the evaluation.
  kEvalStream = 1,
  /// No data: the host answers 1 to start another epoch, 0 to finish.
  kControlStream = 2,
  /// No data, asked before each training step of an ADA-GP program: the
  /// host answers the step kind to run (kStepBP, kStepGP, or kStepBPPlain
  /// when the program has a plain BP step), following its schedule (a fixed
  /// BP/GP policy, or the sequence of a CPU training run's metrics).
  kScheduleStream = 3,
};
/// SEND tags.
enum Tag : unsigned {
  /// send.i64 of the step kind, sent when a step starts (all queues idle).
  kTagStepBegin = 1,
  /// send.i64 of the step kind, sent when a step has finished (after a fence).
  kTagStepEnd = 2,
  /// send.dram.f32 of the step's loss (1 value).
  kTagLoss = 3,
  /// send.dram.f32 of an evaluation batch's logits (batch x classes).
  kTagLogits = 4,
  /// send.i64 (0) at the end of each epoch, after its evaluation.
  kTagEpochEnd = 5,
};
/// The values of kTagStepBegin / kTagStepEnd (and the host's answers on
/// kScheduleStream). In an ADA-GP program kStepBP is the BP step that also
/// trains the gradient predictor; kStepBPPlain is the BP step without it
/// (@bp_plain_step, compiled only with predictor-every > 1), which an
/// ADA-GP program's main loop runs for every kind other than kStepBP and
/// kStepGP only if it has one (ProgramInfo::hasPlainBPStep).
enum StepKind : int64_t {
  kStepBP = 0,
  kStepGP = 1,
  kStepEval = 2,
  kStepBPPlain = 3,
};
} // namespace protocol

/// One tensor in DRAM.
struct DramRegion {
  /// The ONNX initializer (global) name for state; "input", "labels", "loss",
  /// "logits" for the host buffers.
  std::string name;
  /// "parameter" (trained), "state" (optimizer state, running statistics,
  /// the step counter, ...), "input", "labels", "loss", "logits".
  std::string role;
  TensorClass cls = TensorClass::Other;
  uint64_t offset = 0; // bytes
  uint64_t bytes = 0;
  std::string dtype = "f32"; // "f32", "i32" or "i64"
  /// The logical shape (ONNX order, e.g. OIHW for a convolution filter).
  std::vector<int64_t> shape;
  /// The storage order: DRAM holds the tensor row-major over the dimensions
  /// shape[layout[0]], shape[layout[1]], ...; empty means identity. An NCHW
  /// activation stored channel-last has layout [0, 2, 3, 1]; an OIHW filter
  /// stored as [KH][KW][I][O] has [2, 3, 1, 0].
  std::vector<int64_t> layout;

  int64_t numElements() const;
};

struct ProgramInfo {
  /// Where the program came from, for reports.
  std::string model, mode, config;
  int64_t batchSize = 0, classes = 0;
  /// ADA-GP's schedule: every predictorEvery-th BP step (counting all BP
  /// steps from the first, warm-up included: numbers 0, N, 2N, ...) trains
  /// the predictor (kStepBP), the others are plain BP steps (kStepBPPlain).
  /// 1 unless the program has a plain BP step.
  int64_t predictorEvery = 1;
  /// Whether the main loop runs @bp_plain_step for kStepBPPlain.
  bool hasPlainBPStep = false;
  std::vector<DramRegion> regions;
  /// One TensorClass value per instruction (0 for non-DMA instructions), or
  /// empty.
  std::vector<uint8_t> dramTags;

  const DramRegion *find(const std::string &name) const;
};

constexpr const char *kSymbolTableSection = "SYMTAB";
constexpr uint32_t kSymbolTableVersion = 1;
constexpr const char *kDramTagSection = "DMATAGS";
constexpr uint32_t kDramTagVersion = 1;

/// Stores `info` in the program's SYMTAB and DMATAGS sections (replacing
/// existing ones). Fails if the tag table does not match the instruction
/// count.
bool writeProgramInfo(const ProgramInfo &info, Program &program,
                      std::string &err);
/// Reads the sections back. A program without a SYMTAB section fails with
/// "the program has no symbol table (it was not compiled from a model)".
bool readProgramInfo(const Program &program, ProgramInfo &info,
                     std::string &err);

/// Copies a tensor between its logical row-major order and its storage
/// order (DramRegion::layout), element by element (`elementBytes` each).
void logicalToStorage(const void *logical, void *storage,
                      const std::vector<int64_t> &shape,
                      const std::vector<int64_t> &layout,
                      unsigned elementBytes);
void storageToLogical(const void *storage, void *logical,
                      const std::vector<int64_t> &shape,
                      const std::vector<int64_t> &layout,
                      unsigned elementBytes);

} // namespace adagp::isa

#endif // ADAGP_ISA_PROGRAMINFO_H
