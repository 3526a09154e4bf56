//===- ISA.h - The adagp accelerator instruction set ------------*- C++ -*-===//
//
// The single definition of the accelerator's instruction encoding. The
// assembler, the disassembler, the simulator and the compiler's program
// emitter all use the tables in this header, so a field added here appears
// everywhere at once. No MLIR or LLVM dependency: the simulator and its
// fuzzers build from plain C++17.
//
// Every instruction is 256 bits (32 bytes, four little-endian 64-bit words).
// Bits [0,8) hold the opcode, [8,12) the phase label, [12,16) the dependency
// token flags, [16,24) the function code, and the opcode's fields follow from
// bit 24 in the order of its field table. Bits after the last field are
// reserved and must be zero. docs/isa.md describes every instruction.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_ISA_ISA_H
#define ADAGP_ISA_ISA_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace adagp::isa {

constexpr unsigned kInstructionBytes = 32;
constexpr unsigned kInstructionBits = 256;
constexpr unsigned kHeaderBits = 24;
constexpr unsigned kNumRegisters = 32;
/// On-chip addresses count 32-bit elements in one unified space: addresses
/// below kAccBase are scratchpad (SPAD), addresses from kAccBase on are the
/// accumulator (ACC). 24-bit fields give each memory up to 8 Mi elements.
constexpr uint32_t kAccBase = 0x800000;
constexpr unsigned kOnChipAddressBits = 24;
/// DMA boxes have up to five dimensions: dimension 0 (innermost) is carried by
/// LOAD/STORE itself, dimensions 1..4 by the queue's DMACFG registers.
constexpr unsigned kMaxDmaDims = 5;
constexpr unsigned kMaxFields = 16;
/// DRAM addresses are below 2^40 (1 TiB): DMA address fields are 40 bits.
constexpr uint64_t kDramAddressLimit = uint64_t(1) << 40;

//===----------------------------------------------------------------------===//
// Opcodes, queues, phases, dependency flags
//===----------------------------------------------------------------------===//

/// Opcode 0 is invalid so that zero-filled memory never decodes as a program.
enum class Opcode : uint8_t {
  Invalid = 0,
  Nop,
  Finish,
  Fence,
  Load,
  Store,
  DmaCfg,
  Gemm,
  Vec,
  Pool,
  Xent,
  Opt,
  Sop,
  Sopi,
  Branch,
  Jump,
  Sld,
  Sst,
  Recv,
  Send,
  NumOpcodes
};

/// Where an instruction executes. Control instructions run in the in-order
/// fetch stage (the scalar core); the others are dispatched into one of the
/// three in-order queues.
enum class Queue : uint8_t { Load = 0, Execute = 1, Store = 2, Control = 3 };
constexpr unsigned kNumQueues = 3;

/// Phase labels attribute cost in the report. 4 bits; values >= NumPhases are
/// rejected by the decoder.
enum class Phase : uint8_t {
  Other = 0,
  Forward,
  Backward,
  Update,
  Loss,
  Predictor,
  Reorg,
  Control,
  IO,
  Eval,
  NumPhases
};
constexpr unsigned kNumPhases = static_cast<unsigned>(Phase::NumPhases);

/// VTA-style dependency token flags. "prev" and "next" are relative to the
/// ring load -> execute -> store -> load: the load queue's prev is the store
/// queue, the store queue's next the load queue (VTA has no store/load
/// channel and orders such pairs through compute; a fence instead stops
/// fetch until the store queue drains).
enum DepFlag : uint8_t {
  kPopPrev = 1,
  kPopNext = 2,
  kPushPrev = 4,
  kPushNext = 8,
};

//===----------------------------------------------------------------------===//
// Function codes
//===----------------------------------------------------------------------===//

/// Vector unit operations (VEC). D is the destination view, A and B the
/// source views, imm the fp32 immediate. See docs/isa.md for each formula.
#define ADAGP_VEC_FUNCTS(X)                                                    \
  X(Copy, "copy")                                                              \
  X(Relu, "relu")                                                              \
  X(LeakyRelu, "lrelu")                                                        \
  X(Sigmoid, "sigmoid")                                                        \
  X(Tanh, "tanh")                                                              \
  X(Exp, "exp")                                                                \
  X(Log, "log")                                                                \
  X(Sqrt, "sqrt")                                                              \
  X(Rsqrt, "rsqrt")                                                            \
  X(Recip, "recip")                                                            \
  X(Abs, "abs")                                                                \
  X(Neg, "neg")                                                                \
  X(Square, "square")                                                          \
  X(Gelu, "gelu")                                                              \
  X(Erf, "erf")                                                                \
  X(Step, "step")                                                              \
  X(RoundBf16, "bf16")                                                         \
  X(CvtI2F, "i2f")                                                             \
  X(CvtF2I, "f2i")                                                             \
  X(Fill, "fill")                                                              \
  X(AddImm, "addi")                                                            \
  X(MulImm, "muli")                                                            \
  X(MaxImm, "maxi")                                                            \
  X(MinImm, "mini")                                                            \
  X(ClipImm, "clipi")                                                          \
  X(Add, "add")                                                                \
  X(Sub, "sub")                                                                \
  X(Mul, "mul")                                                                \
  X(Div, "div")                                                                \
  X(Max, "max")                                                                \
  X(Min, "min")                                                                \
  X(Axpy, "axpy")                                                              \
  X(Fma, "fma")                                                                \
  X(Select, "select")                                                          \
  X(CmpGt, "cmpgt")                                                            \
  X(CmpGe, "cmpge")                                                            \
  X(CmpEq, "cmpeq")                                                            \
  X(ReluGrad, "relu_grad")                                                     \
  X(LeakyReluGrad, "lrelu_grad")                                               \
  X(SigmoidGrad, "sigmoid_grad")                                               \
  X(TanhGrad, "tanh_grad")                                                     \
  X(GeluGrad, "gelu_grad")                                                     \
  X(Affine, "affine")                                                          \
  X(ColSum, "colsum")                                                          \
  X(ColMax, "colmax")                                                          \
  X(ColSumSq, "colsumsq")                                                      \
  X(ColDot, "coldot")                                                          \
  X(ColSumAcc, "colsum_acc")                                                   \
  X(ColMaxAcc, "colmax_acc")                                                   \
  X(ColSumSqAcc, "colsumsq_acc")                                               \
  X(ColDotAcc, "coldot_acc")                                                   \
  X(RowSum, "rowsum")                                                          \
  X(RowMax, "rowmax")                                                          \
  X(RowSumSq, "rowsumsq")                                                      \
  X(RowDot, "rowdot")                                                          \
  X(RowSumAcc, "rowsum_acc")                                                   \
  X(RowMaxAcc, "rowmax_acc")                                                   \
  X(RowSumSqAcc, "rowsumsq_acc")                                               \
  X(RowDotAcc, "rowdot_acc")                                                   \
  X(RowArgmax, "rowargmax")                                                    \
  X(SoftmaxRows, "softmax")

enum class VecFunct : uint8_t {
#define X(id, name) id,
  ADAGP_VEC_FUNCTS(X)
#undef X
      NumFuncts
};

/// Vector operand roles (docs/isa.md, "Vector unit"); the simulator and the
/// compiler's dependency analysis both read them from here.
/// Whether `f` reads its second source B.
inline bool vecReadsB(VecFunct f) {
  switch (f) {
  case VecFunct::Add:
  case VecFunct::Sub:
  case VecFunct::Mul:
  case VecFunct::Div:
  case VecFunct::Max:
  case VecFunct::Min:
  case VecFunct::Axpy:
  case VecFunct::Fma:
  case VecFunct::Select:
  case VecFunct::CmpGt:
  case VecFunct::CmpGe:
  case VecFunct::CmpEq:
  case VecFunct::ReluGrad:
  case VecFunct::LeakyReluGrad:
  case VecFunct::SigmoidGrad:
  case VecFunct::TanhGrad:
  case VecFunct::GeluGrad:
  case VecFunct::Affine:
  case VecFunct::ColDot:
  case VecFunct::ColDotAcc:
  case VecFunct::RowDot:
  case VecFunct::RowDotAcc:
    return true;
  default:
    return false;
  }
}

/// Whether `f` also reads its destination D (accumulating forms, fma, select).
inline bool vecReadsD(VecFunct f) {
  switch (f) {
  case VecFunct::Fma:
  case VecFunct::Select:
  case VecFunct::ColSumAcc:
  case VecFunct::ColMaxAcc:
  case VecFunct::ColSumSqAcc:
  case VecFunct::ColDotAcc:
  case VecFunct::RowSumAcc:
  case VecFunct::RowMaxAcc:
  case VecFunct::RowSumSqAcc:
  case VecFunct::RowDotAcc:
    return true;
  default:
    return false;
  }
}

/// Reductions over the rows (one output row) and over the columns (one
/// output column).
inline bool isColReduction(VecFunct f) {
  return f >= VecFunct::ColSum && f <= VecFunct::ColDotAcc;
}
inline bool isRowReduction(VecFunct f) {
  return f >= VecFunct::RowSum && f <= VecFunct::RowArgmax;
}

#define ADAGP_POOL_FUNCTS(X)                                                   \
  X(MaxFwd, "max")                                                             \
  X(AvgFwd, "avg")                                                             \
  X(AvgValidFwd, "avg_valid")                                                  \
  X(AdaptiveAvgFwd, "adaptive_avg")                                            \
  X(MaxBwd, "max_grad")                                                        \
  X(AvgBwd, "avg_grad")                                                        \
  X(AvgValidBwd, "avg_valid_grad")                                             \
  X(AdaptiveAvgBwd, "adaptive_avg_grad")

enum class PoolFunct : uint8_t {
#define X(id, name) id,
  ADAGP_POOL_FUNCTS(X)
#undef X
      NumFuncts
};

#define ADAGP_OPT_FUNCTS(X)                                                    \
  X(Sgd, "sgd")                                                                \
  X(Momentum, "momentum")                                                      \
  X(Nesterov, "nesterov")                                                      \
  X(Adam, "adam")                                                              \
  X(AdamW, "adamw")

enum class OptFunct : uint8_t {
#define X(id, name) id,
  ADAGP_OPT_FUNCTS(X)
#undef X
      NumFuncts
};

/// Layout of the optimizer hyper-parameter block (fp32 words in SPAD/ACC)
/// that OPT reads at `hp`.
enum OptHyperParam : unsigned {
  kHpLearningRate = 0,
  kHpBeta1 = 1, // momentum for SGD variants
  kHpBeta2 = 2,
  kHpEpsilon = 3,
  kHpWeightDecay = 4,
  kHpDampening = 5,
  kHpBiasCorrection1 = 6, // 1 / (1 - beta1^t), written by the program
  kHpBiasCorrection2 = 7, // 1 / (1 - beta2^t)
  kHpGradScale = 8,       // the gradient is multiplied by this first
  kNumHyperParams = 9
};

/// Scalar ALU operations (SOP: rd = rs1 op rs2; SOPI: rd = rs1 op imm).
/// Names starting with 'f' interpret registers and the immediate as IEEE
/// double; the others as 64-bit two's-complement integers.
#define ADAGP_SCALAR_FUNCTS(X)                                                 \
  X(Add, "add")                                                                \
  X(Sub, "sub")                                                                \
  X(Mul, "mul")                                                                \
  X(Div, "div")                                                                \
  X(Rem, "rem")                                                                \
  X(And, "and")                                                                \
  X(Or, "or")                                                                  \
  X(Xor, "xor")                                                                \
  X(Shl, "shl")                                                                \
  X(Shr, "shr")                                                                \
  X(Sra, "sra")                                                                \
  X(Slt, "slt")                                                                \
  X(Sltu, "sltu")                                                              \
  X(Seq, "seq")                                                                \
  X(Min, "min")                                                                \
  X(Max, "max")                                                                \
  X(FAdd, "fadd")                                                              \
  X(FSub, "fsub")                                                              \
  X(FMul, "fmul")                                                              \
  X(FDiv, "fdiv")                                                              \
  X(FMin, "fmin")                                                              \
  X(FMax, "fmax")                                                              \
  X(FPow, "fpow")                                                              \
  X(FLt, "flt")                                                                \
  X(FLe, "fle")                                                                \
  X(FEq, "feq")                                                                \
  X(FSqrt, "fsqrt")                                                            \
  X(FExp, "fexp")                                                              \
  X(FLog, "flog")                                                              \
  X(FAbs, "fabs")                                                              \
  X(I2F, "i2f")                                                                \
  X(F2I, "f2i")

enum class ScalarFunct : uint8_t {
#define X(id, name) id,
  ADAGP_SCALAR_FUNCTS(X)
#undef X
      NumFuncts
};

/// True if the scalar function reads its operands as doubles (and so SOPI's
/// immediate is written as a floating-point literal). I2F reads an integer.
inline bool isFloatScalarFunct(ScalarFunct f) {
  return f >= ScalarFunct::FAdd && f <= ScalarFunct::FAbs;
}
/// True if the scalar function ignores rs2 / the immediate.
inline bool isUnaryScalarFunct(ScalarFunct f) {
  return f >= ScalarFunct::FSqrt;
}

#define ADAGP_BRANCH_FUNCTS(X)                                                 \
  X(Eq, "eq")                                                                  \
  X(Ne, "ne")                                                                  \
  X(Lt, "lt")                                                                  \
  X(Ge, "ge")                                                                  \
  X(Ltu, "ltu")                                                                \
  X(Geu, "geu")

enum class BranchFunct : uint8_t {
#define X(id, name) id,
  ADAGP_BRANCH_FUNCTS(X)
#undef X
      NumFuncts
};

#define ADAGP_JUMP_FUNCTS(X)                                                   \
  X(J, "j")                                                                    \
  X(Jal, "jal")                                                                \
  X(Jr, "jr")

enum class JumpFunct : uint8_t {
#define X(id, name) id,
  ADAGP_JUMP_FUNCTS(X)
#undef X
      NumFuncts
};

/// Scalar memory access kinds for SLD/SST. On-chip words are 32 bits; DRAM
/// also allows 64-bit words. f32 values are widened to double in registers.
#define ADAGP_SMEM_FUNCTS(X)                                                   \
  X(ChipI32, "chip.i32")                                                       \
  X(ChipF32, "chip.f32")                                                       \
  X(DramI32, "dram.i32")                                                       \
  X(DramF32, "dram.f32")                                                       \
  X(DramI64, "dram.i64")                                                       \
  X(DramF64, "dram.f64")

enum class SMemFunct : uint8_t {
#define X(id, name) id,
  ADAGP_SMEM_FUNCTS(X)
#undef X
      NumFuncts
};

/// DMACFG selects which queue's descriptor registers and which pair of
/// dimensions (1-2 or 3-4) it writes.
#define ADAGP_DMACFG_FUNCTS(X)                                                 \
  X(LoadD12, "load.d12")                                                       \
  X(LoadD34, "load.d34")                                                       \
  X(StoreD12, "store.d12")                                                     \
  X(StoreD34, "store.d34")

enum class DmaCfgFunct : uint8_t {
#define X(id, name) id,
  ADAGP_DMACFG_FUNCTS(X)
#undef X
      NumFuncts
};

#define ADAGP_SEND_FUNCTS(X)                                                   \
  X(I64, "i64")                                                                \
  X(F64, "f64")                                                                \
  X(DramF32, "dram.f32")

enum class SendFunct : uint8_t {
#define X(id, name) id,
  ADAGP_SEND_FUNCTS(X)
#undef X
      NumFuncts
};

//===----------------------------------------------------------------------===//
// Field tables
//===----------------------------------------------------------------------===//

/// How a field's bits map to its value.
enum class FieldKind : uint8_t {
  Unsigned, // plain unsigned integer
  Signed,   // two's complement
  Count,    // stores value - 1, so values are 1..2^width and 0 bits mean 1
  Reg,      // scalar register number, written rN
  OnChip,   // unified on-chip element address (SPAD or ACC+offset)
  F32,      // IEEE single bit pattern, written as a decimal float
  Imm64,    // 64 bits: integer, or double bits for float scalar functs
  Target,   // instruction index (branch target)
  Bool,     // one bit, written 0/1
};

struct FieldInfo {
  const char *name;
  uint8_t width;
  FieldKind kind;
  /// The assembler rejects an instruction that omits a required field.
  bool required;
};

// Each opcode's fields, in encoding order. X(enumerator, name, width, kind,
// required). The enumerators index Instruction::field.
#define ADAGP_DMA_FIELDS(X)                                                    \
  X(DramReg, "dram_reg", 5, Reg, false)                                        \
  X(DramAddr, "dram", 40, Unsigned, false)                                     \
  X(ChipReg, "chip_reg", 5, Reg, false)                                        \
  X(ChipAddr, "chip", 24, OnChip, false)                                       \
  X(Size, "size", 16, Count, true)                                             \
  X(Start, "start", 20, Signed, false)                                         \
  X(Extent, "extent", 20, Unsigned, false)                                     \
  X(DramStride, "dstride", 32, Signed, true)                                   \
  X(ChipStride, "cstride", 20, Signed, true)                                   \
  X(Pad, "pad", 32, F32, false)

#define ADAGP_DMACFG_FIELDS(X)                                                 \
  X(SizeA, "size_a", 16, Count, false)                                         \
  X(StartA, "start_a", 20, Signed, false)                                      \
  X(ExtentA, "extent_a", 20, Unsigned, false)                                  \
  X(DramStrideA, "dstride_a", 32, Signed, false)                               \
  X(ChipStrideA, "cstride_a", 20, Signed, false)                               \
  X(SizeB, "size_b", 16, Count, false)                                         \
  X(StartB, "start_b", 20, Signed, false)                                      \
  X(ExtentB, "extent_b", 20, Unsigned, false)                                  \
  X(DramStrideB, "dstride_b", 32, Signed, false)                               \
  X(ChipStrideB, "cstride_b", 20, Signed, false)

#define ADAGP_GEMM_FIELDS(X)                                                   \
  X(TransA, "ta", 1, Bool, false)                                              \
  X(TransB, "tb", 1, Bool, false)                                              \
  X(TransC, "tc", 1, Bool, false)                                              \
  X(Accumulate, "acc", 1, Bool, false)                                         \
  X(KeepWeights, "keep", 1, Bool, false)                                       \
  X(AReg, "a_reg", 5, Reg, false)                                              \
  X(A, "a", 24, OnChip, true)                                                  \
  X(Lda, "lda", 20, Unsigned, true)                                            \
  X(B, "b", 24, OnChip, false)                                                 \
  X(Ldb, "ldb", 20, Unsigned, false)                                           \
  X(CReg, "c_reg", 5, Reg, false)                                              \
  X(C, "c", 24, OnChip, true)                                                  \
  X(Ldc, "ldc", 20, Unsigned, true)                                            \
  X(M, "m", 20, Count, true)                                                   \
  X(K, "k", 8, Count, true)                                                    \
  X(N, "n", 8, Count, true)

#define ADAGP_VEC_FIELDS(X)                                                    \
  X(Rows, "rows", 16, Count, true)                                             \
  X(Cols, "cols", 16, Count, true)                                             \
  X(D, "d", 24, OnChip, true)                                                  \
  X(DRowStride, "d_rs", 20, Signed, false)                                     \
  X(DColStride, "d_cs", 12, Signed, false)                                     \
  X(A, "a", 24, OnChip, false)                                                 \
  X(ARowStride, "a_rs", 20, Signed, false)                                     \
  X(AColStride, "a_cs", 12, Signed, false)                                     \
  X(B, "b", 24, OnChip, false)                                                 \
  X(BRowStride, "b_rs", 20, Signed, false)                                     \
  X(BColStride, "b_cs", 12, Signed, false)                                     \
  X(Imm, "imm", 32, F32, false)

#define ADAGP_POOL_FIELDS(X)                                                   \
  X(N, "n", 16, Count, true)                                                   \
  X(H, "h", 12, Count, true)                                                   \
  X(W, "w", 12, Count, true)                                                   \
  X(C, "c", 16, Count, true)                                                   \
  X(OH, "oh", 12, Count, true)                                                 \
  X(OW, "ow", 12, Count, true)                                                 \
  X(KH, "kh", 8, Count, false)                                                 \
  X(KW, "kw", 8, Count, false)                                                 \
  X(SH, "sh", 4, Count, false)                                                 \
  X(SW, "sw", 4, Count, false)                                                 \
  X(PadTop, "pt", 4, Unsigned, false)                                          \
  X(PadLeft, "pl", 4, Unsigned, false)                                         \
  X(In, "in", 24, OnChip, true)                                                \
  X(Aux, "aux", 24, OnChip, false)                                             \
  X(Out, "out", 24, OnChip, true)

#define ADAGP_XENT_FIELDS(X)                                                   \
  X(Batch, "b", 16, Count, true)                                               \
  X(Classes, "k", 16, Count, true)                                             \
  X(Logits, "logits", 24, OnChip, true)                                        \
  X(LogitsRowStride, "logits_rs", 20, Unsigned, true)                          \
  X(Labels, "labels", 24, OnChip, true)                                        \
  X(Grad, "grad", 24, OnChip, true)                                            \
  X(GradRowStride, "grad_rs", 20, Unsigned, true)                              \
  X(Loss, "loss", 24, OnChip, true)                                            \
  X(Scale, "scale", 32, F32, false)

#define ADAGP_OPT_FIELDS(X)                                                    \
  X(N, "n", 24, Count, true)                                                   \
  X(Param, "param", 24, OnChip, true)                                          \
  X(Grad, "grad", 24, OnChip, true)                                            \
  X(M, "m", 24, OnChip, false)                                                 \
  X(V, "v", 24, OnChip, false)                                                 \
  X(Hp, "hp", 24, OnChip, true)

#define ADAGP_SOP_FIELDS(X)                                                    \
  X(Rd, "rd", 5, Reg, true)                                                    \
  X(Rs1, "rs1", 5, Reg, false)                                                 \
  X(Rs2, "rs2", 5, Reg, false)

#define ADAGP_SOPI_FIELDS(X)                                                   \
  X(Rd, "rd", 5, Reg, true)                                                    \
  X(Rs1, "rs1", 5, Reg, false)                                                 \
  X(Imm, "imm", 64, Imm64, false)

#define ADAGP_BRANCH_FIELDS(X)                                                 \
  X(Rs1, "rs1", 5, Reg, false)                                                 \
  X(Rs2, "rs2", 5, Reg, false)                                                 \
  X(Target, "target", 32, Target, true)

#define ADAGP_JUMP_FIELDS(X)                                                   \
  X(Rd, "rd", 5, Reg, false)                                                   \
  X(Rs1, "rs1", 5, Reg, false)                                                 \
  X(Target, "target", 32, Target, false)

#define ADAGP_SMEM_FIELDS(X)                                                   \
  X(Reg, "r", 5, Reg, true)                                                    \
  X(Base, "base", 5, Reg, false)                                               \
  X(Addr, "addr", 40, Signed, false)

#define ADAGP_FENCE_FIELDS(X)                                                  \
  X(WaitLoad, "load", 1, Bool, false)                                          \
  X(WaitExecute, "execute", 1, Bool, false)                                    \
  X(WaitStore, "store", 1, Bool, false)

#define ADAGP_RECV_FIELDS(X)                                                   \
  X(Rd, "rd", 5, Reg, true)                                                    \
  X(Stream, "stream", 8, Unsigned, false)                                      \
  X(InReg, "in_reg", 5, Reg, false)                                            \
  X(In, "in", 40, Unsigned, false)                                             \
  X(InBytes, "in_bytes", 32, Unsigned, false)                                  \
  X(LabelReg, "label_reg", 5, Reg, false)                                      \
  X(Labels, "labels", 40, Unsigned, false)                                     \
  X(LabelBytes, "label_bytes", 32, Unsigned, false)

#define ADAGP_SEND_FIELDS(X)                                                   \
  X(Tag, "tag", 16, Unsigned, false)                                           \
  X(Rs, "rs", 5, Reg, false)                                                   \
  X(Base, "base", 5, Reg, false)                                               \
  X(Addr, "addr", 40, Unsigned, false)                                         \
  X(Count, "count", 24, Unsigned, false)

#define ADAGP_FIELD_ENUM(id, name, width, kind, req) id,
namespace dma {
enum Field : unsigned { ADAGP_DMA_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace dmacfg {
enum Field : unsigned { ADAGP_DMACFG_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace gemm {
enum Field : unsigned { ADAGP_GEMM_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace vec {
enum Field : unsigned { ADAGP_VEC_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace pool {
enum Field : unsigned { ADAGP_POOL_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace xent {
enum Field : unsigned { ADAGP_XENT_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace opt {
enum Field : unsigned { ADAGP_OPT_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace sop {
enum Field : unsigned { ADAGP_SOP_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace sopi {
enum Field : unsigned { ADAGP_SOPI_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace branch {
enum Field : unsigned { ADAGP_BRANCH_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace jump {
enum Field : unsigned { ADAGP_JUMP_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace smem {
enum Field : unsigned { ADAGP_SMEM_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace fence {
enum Field : unsigned { ADAGP_FENCE_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace recv {
enum Field : unsigned { ADAGP_RECV_FIELDS(ADAGP_FIELD_ENUM) };
}
namespace send {
enum Field : unsigned { ADAGP_SEND_FIELDS(ADAGP_FIELD_ENUM) };
}
#undef ADAGP_FIELD_ENUM

/// Static description of one opcode.
struct OpcodeInfo {
  const char *name;
  Queue queue;
  const FieldInfo *fields;
  unsigned numFields;
  /// Function code names (the mnemonic suffix after '.'); empty means the
  /// function code must be zero.
  const char *const *functNames;
  unsigned numFuncts;
};

/// Returns the description of a valid opcode (Opcode::Invalid < op <
/// NumOpcodes).
const OpcodeInfo &opcodeInfo(Opcode op);
/// "load", "vec", ... or "invalid(0xNN)" for an unknown value.
std::string opcodeName(uint8_t op);
/// Mnemonic with function code, e.g. "vec.relu_grad".
std::string mnemonic(Opcode op, uint8_t funct);
const char *phaseName(Phase phase);
/// Returns false if `name` is not a phase label.
bool parsePhase(const std::string &name, Phase &phase);
const char *queueName(Queue q);

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

/// A decoded instruction. `field[i]` holds the value of the opcode's i-th
/// field: counts as counts (not minus one), signed fields sign-extended, F32
/// fields as their bit pattern, Imm64 as the raw 64 bits.
struct Instruction {
  Opcode opcode = Opcode::Nop;
  uint8_t funct = 0;
  Phase phase = Phase::Other;
  uint8_t deps = 0;
  int64_t field[kMaxFields] = {};

  int64_t get(unsigned i) const { return field[i]; }
  Instruction &set(unsigned i, int64_t v) {
    field[i] = v;
    return *this;
  }
  float getF32(unsigned i) const;
  Instruction &setF32(unsigned i, float v);
  double getF64(unsigned i) const;
  Instruction &setF64(unsigned i, double v);
};

/// Builds an instruction with all fields at their zero defaults (Count fields
/// at 1).
Instruction makeInstruction(Opcode op, uint8_t funct = 0,
                            Phase phase = Phase::Other, uint8_t deps = 0);

/// The smallest and largest value field `info` can hold.
void fieldRange(const FieldInfo &info, int64_t &lo, int64_t &hi);

/// Encodes into 32 bytes. Returns false (with a message naming the field) if
/// a value does not fit its field, the funct or phase is invalid, or a
/// dependency flag is not allowed for the opcode's queue.
bool encode(const Instruction &inst, uint8_t out[kInstructionBytes],
            std::string &err);
/// Decodes 32 bytes. Returns false with a message (unknown opcode, invalid
/// function code or phase, reserved bits set, illegal dependency flags).
bool decode(const uint8_t in[kInstructionBytes], Instruction &inst,
            std::string &err);
/// The dependency flags legal for a queue (none for control instructions).
uint8_t allowedDeps(Queue q);

//===----------------------------------------------------------------------===//
// Program files
//===----------------------------------------------------------------------===//

/// Bytes written to DRAM before the program starts (constants, initial
/// weights).
struct DataSegment {
  uint64_t dramAddr = 0;
  std::vector<uint8_t> bytes;
};

/// A named, versioned block of metadata that follows the data segments
/// (program files of version 2). The simulator itself ignores sections; tools
/// read the ones they know (the compiler's symbol table of DRAM regions, see
/// ProgramInfo.h) and skip the others, so new sections need no new file
/// version.
struct Section {
  std::string name; // 1..8 printable ASCII characters, unique in a program
  uint32_t version = 1;
  std::vector<uint8_t> bytes;
};

struct Program {
  std::vector<Instruction> instructions;
  std::vector<DataSegment> segments;
  std::vector<Section> sections;

  /// The section called `name`, or null.
  const Section *findSection(const std::string &name) const;
};

/// File layout (little-endian):
///   0  char[8]  magic "ADAGPPRG"
///   8  u32      version (1: no sections, 2: sections follow the segments)
///   12 u32      header size in bytes (32)
///   16 u64      instruction count
///   24 u32      data segment count
///   28 u32      reserved, zero
///   32          instructions, 32 bytes each
///   then per segment: u64 DRAM address, u64 byte count, the bytes
///   version 2 only: u32 section count, u32 reserved (zero), then per
///   section: char[8] name (NUL-padded), u32 section version, u32 reserved
///   (zero), u64 byte count, the bytes
/// A program without sections is written as version 1, so files that need
/// no metadata stay readable by older tools.
constexpr char kProgramMagic[8] = {'A', 'D', 'A', 'G', 'P', 'P', 'R', 'G'};
constexpr uint32_t kProgramVersion = 2;
constexpr uint32_t kProgramVersionWithoutSections = 1;
constexpr unsigned kSectionNameBytes = 8;
constexpr uint32_t kProgramHeaderBytes = 32;
/// Guards against absurd counts in corrupt headers (16 GiB of instructions).
constexpr uint64_t kMaxProgramInstructions = uint64_t(1) << 29;

/// Serialises a program. Returns false if an instruction does not encode.
bool writeProgram(const Program &program, std::vector<uint8_t> &bytes,
                  std::string &err);
/// Parses and validates a program file: header, every instruction, branch
/// targets, segment bounds, no trailing bytes. Errors name the instruction
/// index ("instruction #N (OPCODE): ...") or the header field.
bool readProgram(const uint8_t *data, size_t size, Program &program,
                 std::string &err);
/// Checks what decode cannot: branch/jump targets inside the program.
bool validateProgram(const Program &program, std::string &err);

} // namespace adagp::isa

#endif // ADAGP_ISA_ISA_H
