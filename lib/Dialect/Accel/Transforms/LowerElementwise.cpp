//===- LowerElementwise.cpp - Activations, arithmetic and reductions ------===//
//
// Elementwise ops stream their operands through the scratchpad in chunks:
// load every operand's chunk, apply the vector functions, store the result.
// Operands may broadcast. The storage orders of the result and the operands
// are collapsed jointly into at most three dimensions [outer][rows][cols];
// a chunk is some rows of one outer index with all columns, and each
// operand reads its part with stride 0 along the dimensions it broadcasts
// over, so a per-channel bias on a channel-last tensor is a row-broadcast
// view (`b_rs = 0`) and a squeeze-excitation scale [N, C, 1, 1] a
// per-image one.
//
// Fused groups (findElementwiseGroups): consecutive element-wise ops of one
// result type that read what an earlier op of the run reads or computes run
// as one such loop. Each external operand's chunk is loaded once, every op
// writes its own tile, and only the results read after the group are
// stored: the predictor's baseline update b + k * (t - b) reads t and b and
// writes b (in place, --accel-plan-dram), where four loops read six and
// wrote four tensors. A batch normalisation's last pass may lead a group
// (LowerNorm.cpp), so the ReLU, residual sum or SiLU after it costs no DRAM
// traffic of its own.
//
// Reductions collapse the input's storage into kept and reduced dimensions
// and use the column (`colsum_acc`) or row (`rowsum`) reductions.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "llvm/ADT/TypeSwitch.h"

#include <numeric>

using namespace mlir;

namespace adagp::accel {
using isa::VecFunct;

namespace {

/// Strides (elements) of a value's logical dimensions in its storage.
SmallVector<int64_t> storageStrides(ArrayRef<int64_t> shape,
                                    ArrayRef<int64_t> layout) {
  size_t rank = shape.size();
  SmallVector<int64_t> strides(rank, 0);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    int64_t d = layout.empty() ? int64_t(i) : layout[i];
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/// Three collapsed dimensions [outer][rows][cols] of the result, and each
/// operand's strides along them (0: broadcast).
struct StreamPlan {
  int64_t size[3] = {1, 1, 1};
  SmallVector<std::array<int64_t, 3>> strides; // per operand, result last
};

/// Collapses the result's storage dimensions, merging neighbours whenever
/// every operand can; fails when more than three dimensions remain.
bool planStream(
    ArrayRef<int64_t> outShape, ArrayRef<int64_t> outLayout,
    ArrayRef<std::pair<ArrayRef<int64_t>, ArrayRef<int64_t>>> operands,
    StreamPlan &plan) {
  size_t rank = outShape.size();
  // Storage-ordered sizes and per-operand strides.
  SmallVector<int64_t> dims;
  SmallVector<SmallVector<int64_t>> st(operands.size() + 1);
  SmallVector<SmallVector<int64_t>> logicalStrides;
  for (auto [shape, layout] : operands) {
    SmallVector<int64_t> ext(rank - shape.size(), 1);
    ext.append(shape.begin(), shape.end());
    SmallVector<int64_t> s = storageStrides(shape, layout);
    SmallVector<int64_t> extStrides(rank - shape.size(), 0);
    extStrides.append(s.begin(), s.end());
    for (size_t i = 0; i < rank; ++i)
      if (ext[i] == 1)
        extStrides[i] = 0;
    logicalStrides.push_back(extStrides);
  }
  logicalStrides.push_back(storageStrides(outShape, outLayout));
  for (size_t i = 0; i < rank; ++i) {
    int64_t d = outLayout.empty() ? int64_t(i) : outLayout[i];
    if (outShape[d] == 1)
      continue; // size-1 dimensions never matter
    dims.push_back(outShape[d]);
    for (size_t o = 0; o < logicalStrides.size(); ++o)
      st[o].push_back(logicalStrides[o][d]);
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (auto &s : st)
      s.push_back(0);
  }
  // Merge dimension i into i+1 when every operand is contiguous across them.
  for (size_t i = 0; i + 1 < dims.size();) {
    bool ok = true;
    for (auto &s : st)
      if (s[i] != s[i + 1] * dims[i + 1])
        ok = false;
    if (!ok) {
      ++i;
      continue;
    }
    dims[i + 1] *= dims[i];
    dims.erase(dims.begin() + i);
    for (auto &s : st)
      s.erase(s.begin() + i);
  }
  if (dims.size() > 3)
    return false;
  // A single dimension streams as rows of the widest column count that
  // divides it (up to 4096), so that chunks are whole rows.
  if (dims.size() == 1) {
    int64_t n = dims[0], cols = 1;
    for (int64_t c = std::min<int64_t>(n, 4096); c >= 1; --c)
      if (n % c == 0) {
        cols = c;
        break;
      }
    dims = {n / cols, cols};
    for (auto &s : st)
      s = {s[0] * cols, s[0]};
  }
  while (dims.size() < 3) {
    dims.insert(dims.begin(), 1);
    for (auto &s : st)
      s.insert(s.begin(), 0);
  }
  // A result column stride must be 1 or the tile is not dense.
  for (int i = 0; i < 3; ++i)
    plan.size[i] = dims[i];
  plan.strides.clear();
  for (auto &s : st)
    plan.strides.push_back({s[0], s[1], s[2]});
  return true;
}

/// Emits the chunk loop. `body` receives the on-chip views of the operands
/// and of the result tile and the chunk's rows x cols.
using ChunkBody = std::function<void(InstBuilder &, ArrayRef<View> in, View out,
                                     int64_t rows, int64_t cols)>;

/// Loads operand `v`'s part of chunk (o, rows r0..r0+rc) to `chip` and
/// returns its on-chip view (stride 0 along the dimensions it broadcasts
/// over).
View loadChunk(LoweringContext &ctx, Value v, const std::array<int64_t, 3> &s,
               int64_t o, int64_t r0, int64_t rc, int64_t cols, int64_t chip) {
  bool hasRows = s[1] != 0 && rc > 1, hasCols = s[2] != 0;
  int64_t lc = hasCols ? cols : 1, lr = hasRows ? rc : 1;
  DmaBox box;
  if (hasCols && s[2] == 1 && (!hasRows || s[1] == cols)) {
    box = DmaBox::contiguous(lr * lc);
  } else {
    box.dim[0] = {lc, 0, 0, hasCols ? s[2] : 0, 1};
    box.dim[1] = {lr, 0, 0, s[1], lc};
  }
  uint64_t src = ctx.addr(v) + 4 * uint64_t(o * s[0] + r0 * s[1]);
  ctx.ib.load(src, chip, box, ctx.cls(v));
  return View{chip, hasRows ? lc : 0, hasCols ? 1 : 0};
}

/// Rows per chunk when each of `tiles` double-buffered tiles holds
/// `capacity` elements.
int64_t chunkRowsFor(int64_t capacity, int64_t rows, int64_t cols) {
  // Dense operands move as one run per chunk, which the DMA's 16-bit size
  // field limits to 65536 elements.
  int64_t chunkRows = std::max<int64_t>(
      1, std::min<int64_t>({capacity / cols, 65536 / cols, 65536}));
  return std::min(chunkRows, rows);
}

/// What one element-wise op computes on a chunk: the operands it reads and
/// the vector instructions. The body may use its result tile as scratch but
/// never writes its operands' tiles, which other ops of a fused group may
/// still read.
struct ElementwiseKernel {
  SmallVector<Value, 2> inputs;
  ChunkBody body;
};

/// Emits one chunk loop in which `kernels[i]` computes `results[i]` (an
/// operand that is an earlier kernel's result is read from that kernel's
/// tile, every other one is loaded once per chunk) and the results at
/// `stored` go to DRAM; all stored results share one storage order. With a
/// `leader`, kernel 0 is its pass. Returns why it cannot (empty: emitted).
std::string streamKernels(LoweringContext &ctx,
                          ArrayRef<ElementwiseKernel> kernels,
                          ArrayRef<Value> results, ArrayRef<int64_t> stored,
                          const GroupLeader *leader = nullptr) {
  DenseMap<Value, int64_t> producedBy; // result -> kernel index
  SmallVector<Value> external;
  DenseMap<Value, int64_t> externalIndex;
  for (auto [i, k] : llvm::enumerate(kernels)) {
    for (Value in : k.inputs)
      if (!producedBy.count(in) && !externalIndex.count(in)) {
        externalIndex[in] = int64_t(external.size());
        external.push_back(in);
      }
    producedBy[results[i]] = int64_t(i);
  }
  Value first = results[stored.front()];
  ArrayRef<int64_t> layout = ctx.layout(first);
  for (int64_t i : stored)
    if (ctx.layout(results[i]) != layout)
      return "results stored in different orders";
  SmallVector<std::pair<ArrayRef<int64_t>, ArrayRef<int64_t>>> planned;
  for (Value v : external)
    planned.push_back(
        {cast<RankedTensorType>(v.getType()).getShape(), ctx.layout(v)});
  // A leader's per-channel vectors are rows of one column per channel: a
  // per-channel operand in the plan keeps the channels the columns.
  if (leader)
    planned.push_back({leader->columnShape, {}});
  StreamPlan plan;
  auto type = cast<RankedTensorType>(first.getType());
  if (!planStream(type.getShape(), layout, planned, plan))
    return "broadcast pattern not supported on the accelerator";
  int64_t outer = plan.size[0], rows = plan.size[1], cols = plan.size[2];
  const auto &outSt = plan.strides.back();
  if (cols > 1 && outSt[2] != 1)
    return "internal: non-dense result tile";
  if (leader) {
    const auto &st = plan.strides[external.size()];
    if (st[0] != 0 || st[1] != 0 || st[2] != 1 ||
        cols != std::accumulate(leader->columnShape.begin(),
                                leader->columnShape.end(), int64_t(1),
                                std::multiplies<int64_t>()))
      return "channels are not the columns";
  }
  // Tiles: one per external operand and per kernel, double-buffered.
  int64_t tiles = int64_t(external.size() + kernels.size());
  int64_t capacity =
      (leader ? leader->spadLimit : ctx.spadElems()) / (2 * tiles);
  if (cols > capacity || cols > 65536)
    return "rows of " + std::to_string(cols) +
           " elements do not fit the scratchpad (" + std::to_string(capacity) +
           " elements per tile)";
  int64_t chunkRows = chunkRowsFor(capacity, rows, cols);
  // Buffer placement: [parity][tile], each `capacity` elements.
  InstBuilder &ib = ctx.ib;
  int64_t parity = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t r0 = 0; r0 < rows; r0 += chunkRows) {
      int64_t rc = std::min(chunkRows, rows - r0);
      int64_t base = parity * tiles * capacity;
      parity ^= 1;
      SmallVector<View> loaded;
      for (auto [i, v] : llvm::enumerate(external))
        loaded.push_back(loadChunk(ctx, v, plan.strides[i], o, r0, rc, cols,
                                   base + int64_t(i) * capacity));
      auto resultTile = [&](int64_t i) {
        return View{base + int64_t(external.size() + i) * capacity, cols, 1};
      };
      for (auto [i, k] : llvm::enumerate(kernels)) {
        SmallVector<View> in;
        for (Value v : k.inputs) {
          auto it = producedBy.find(v);
          in.push_back(it != producedBy.end() ? resultTile(it->second)
                                              : loaded[externalIndex[v]]);
        }
        k.body(ib, in, resultTile(int64_t(i)), rc, cols);
      }
      for (int64_t i : stored)
        ib.store(ctx.addr(results[i]) +
                     4 * uint64_t(o * outSt[0] + r0 * outSt[1]),
                 resultTile(i).addr, DmaBox::rows(rc, cols, outSt[1], cols),
                 ctx.cls(results[i]));
    }
  }
  return "";
}

/// One element-wise op's chunk loop.
LogicalResult streamElementwise(Operation *op, LoweringContext &ctx,
                                ArrayRef<Value> inputs, Value result,
                                ChunkBody body) {
  std::string why = streamKernels(
      ctx, {ElementwiseKernel{SmallVector<Value, 2>(inputs), body}}, {result},
      {0});
  if (!why.empty())
    return op->emitError(why);
  return success();
}

ElementwiseKernel unaryKernel(Value x, VecFunct f, float imm = 0) {
  return {
      {x},
      [f, imm](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
               int64_t cols) { ib.vec(f, rows, cols, out, in[0], {}, imm); }};
}

/// A binary op, with an immediate form when the second operand is a scalar
/// constant (x + c is `addi`, x * c `muli`, ...).
ElementwiseKernel binaryKernel(Operation *op, VecFunct f) {
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  if (std::optional<double> c = constantScalar(rhs);
      c &&
      numElements(lhs.getType()) == numElements(op->getResult(0).getType())) {
    switch (f) {
    case VecFunct::Add:
      return unaryKernel(lhs, VecFunct::AddImm, float(*c));
    case VecFunct::Sub:
      return unaryKernel(lhs, VecFunct::AddImm, float(-*c));
    case VecFunct::Mul:
      return unaryKernel(lhs, VecFunct::MulImm, float(*c));
    case VecFunct::Max:
      return unaryKernel(lhs, VecFunct::MaxImm, float(*c));
    case VecFunct::Min:
      return unaryKernel(lhs, VecFunct::MinImm, float(*c));
    default:
      break;
    }
  }
  return {{lhs, rhs},
          [f](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
              int64_t cols) { ib.vec(f, rows, cols, out, in[0], in[1]); }};
}

/// Activation gradients take (grad, value); the vector unit's take
/// A = value, B = grad.
ElementwiseKernel gradKernel(Operation *op, VecFunct f, float imm = 0) {
  return {{op->getOperand(0), op->getOperand(1)},
          [f, imm](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
                   int64_t cols) {
            ib.vec(f, rows, cols, out, in[1], in[0], imm);
          }};
}

float attrFloat(FloatAttr a) { return float(a.getValueAsDouble()); }

/// A chunk-streamed op's kernel, if `op` is one (structural).
std::optional<ElementwiseKernel> kernelOf(Operation *op) {
  using VF = VecFunct;
  return llvm::TypeSwitch<Operation *, std::optional<ElementwiseKernel>>(op)
      .Case([](nn::ReluOp o) { return unaryKernel(o.getInput(), VF::Relu); })
      .Case([](nn::SigmoidOp o) {
        return unaryKernel(o.getInput(), VF::Sigmoid);
      })
      .Case([](nn::TanhOp o) { return unaryKernel(o.getInput(), VF::Tanh); })
      .Case([](nn::ExpOp o) { return unaryKernel(o.getInput(), VF::Exp); })
      .Case([](nn::LogOp o) { return unaryKernel(o.getInput(), VF::Log); })
      .Case([](nn::SqrtOp o) { return unaryKernel(o.getInput(), VF::Sqrt); })
      .Case([](nn::ErfOp o) { return unaryKernel(o.getInput(), VF::Erf); })
      .Case([](nn::NegOp o) { return unaryKernel(o.getInput(), VF::Neg); })
      .Case([](nn::AbsOp o) { return unaryKernel(o.getInput(), VF::Abs); })
      .Case([](nn::ReciprocalOp o) {
        return unaryKernel(o.getInput(), VF::Recip);
      })
      .Case([](nn::ScaleOp o) {
        return unaryKernel(o.getInput(), VF::MulImm,
                           attrFloat(o.getFactorAttr()));
      })
      .Case([](nn::LeakyReluOp o) {
        return unaryKernel(o.getInput(), VF::LeakyRelu,
                           attrFloat(o.getAlphaAttr()));
      })
      .Case([](nn::ClipOp o) -> std::optional<ElementwiseKernel> {
        float lo = attrFloat(o.getMinAttr()), hi = attrFloat(o.getMaxAttr());
        return ElementwiseKernel{
            {o.getInput()},
            [lo, hi](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
                     int64_t cols) {
              ib.vec(VecFunct::MaxImm, rows, cols, out, in[0], {}, lo);
              ib.vec(VecFunct::MinImm, rows, cols, out, out, {}, hi);
            }};
      })
      .Case([](nn::AddOp o) { return binaryKernel(o, VF::Add); })
      .Case([](nn::SubOp o) { return binaryKernel(o, VF::Sub); })
      .Case([](nn::MulOp o) { return binaryKernel(o, VF::Mul); })
      .Case([](nn::DivOp o) { return binaryKernel(o, VF::Div); })
      .Case([](nn::MaxOp o) { return binaryKernel(o, VF::Max); })
      .Case([](nn::MinOp o) { return binaryKernel(o, VF::Min); })
      .Case([](nn::ReluGradOp o) { return gradKernel(o, VF::ReluGrad); })
      .Case([](nn::SigmoidGradOp o) { return gradKernel(o, VF::SigmoidGrad); })
      .Case([](nn::TanhGradOp o) { return gradKernel(o, VF::TanhGrad); })
      .Case([](nn::LeakyReluGradOp o) {
        return gradKernel(o, VF::LeakyReluGrad, attrFloat(o.getAlphaAttr()));
      })
      .Default([](Operation *) { return std::nullopt; });
}

/// grad * (lo <= x <= hi). max(x, lo) == x is x >= lo and min(x, hi) == x
/// is x <= hi, both exact, so the mask matches the reference bit for bit.
/// (Not a kernel of fused groups: it needs a second scratch tile and uses
/// its gradient operand's.)
LogicalResult lowerClipGrad(Operation *op, LoweringContext &ctx) {
  auto g = cast<nn::ClipGradOp>(op);
  float lo = float(g.getMin().convertToDouble()),
        hi = float(g.getMax().convertToDouble());
  return streamElementwise(
      op, ctx, {g.getGrad(), g.getValue()}, g.getResult(),
      [&](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
          int64_t cols) {
        View grad = in[0], x = in[1];
        ib.vec(VecFunct::MaxImm, rows, cols, out, x, {}, lo);
        ib.vec(VecFunct::CmpEq, rows, cols, out, out, x);
        ib.vec(VecFunct::Mul, rows, cols, out, out, grad);
        // The gradient tile is free now: it holds the upper mask.
        ib.vec(VecFunct::MinImm, rows, cols, grad, x, {}, hi);
        ib.vec(VecFunct::CmpEq, rows, cols, grad, grad, x);
        ib.vec(VecFunct::Mul, rows, cols, out, out, grad);
      });
}

/// What a group member reads per chunk: a batch normalisation leading a
/// group reads its input (its statistics are computed before the loop).
SmallVector<Value, 2> chunkInputs(Operation *op) {
  if (auto bn = dyn_cast<nn::BatchNormTrainOp>(op))
    return {bn.getInput()};
  return kernelOf(op)->inputs;
}

/// Tiles a fused group needs per chunk: one per external operand and one
/// per op (its result).
int64_t groupTiles(ArrayRef<Operation *> ops) {
  DenseSet<Value> produced, external;
  for (Operation *op : ops) {
    for (Value in : chunkInputs(op))
      if (!produced.contains(in))
        external.insert(in);
    produced.insert(op->getResult(0));
  }
  return int64_t(external.size() + ops.size());
}

/// At most this many tiles per chunk: a chunk of a wide result keeps whole
/// rows in each.
constexpr int64_t kMaxGroupTiles = 10;

} // namespace

FailureOr<bool> lowerElementwiseGroup(ArrayRef<Operation *> ops,
                                      LoweringContext &ctx,
                                      const GroupLeader *leader) {
  SmallVector<ElementwiseKernel> kernels;
  SmallVector<Value> results;
  for (auto [i, op] : llvm::enumerate(ops)) {
    if (i == 0 && leader)
      kernels.push_back({leader->inputs, leader->body});
    else
      kernels.push_back(*kernelOf(op));
    results.push_back(op->getResult(0));
  }
  // The results read after the group are stored.
  DenseSet<Operation *> members(ops.begin(), ops.end());
  SmallVector<int64_t> outputs;
  for (auto [i, op] : llvm::enumerate(ops))
    if (llvm::any_of(op->getResult(0).getUsers(),
                     [&](Operation *u) { return !members.contains(u); }))
      outputs.push_back(int64_t(i));
  if (outputs.empty() ||
      !streamKernels(ctx, kernels, results, outputs, leader).empty())
    return false;
  for (Operation *op : ops.drop_front())
    ctx.done.insert(op);
  return true;
}

namespace {

LogicalResult lowerBroadcastTo(Operation *op, LoweringContext &ctx) {
  return streamElementwise(
      op, ctx, {op->getOperand(0)}, op->getResult(0),
      [&](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
          int64_t cols) { ib.vec(VecFunct::Copy, rows, cols, out, in[0]); });
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// A reduction's input in storage order as [outer][red][inner].
struct ReduceForm {
  int64_t outer = 1, red = 1, inner = 1;
};

/// Collapses `input`'s storage into kept and reduced runs; fails for
/// patterns other than [R], [R][K], [K][R], [K][R][K].
FailureOr<ReduceForm> reduceForm(Value input, ArrayRef<int64_t> axes,
                                 LoweringContext &ctx) {
  auto inType = cast<RankedTensorType>(input.getType());
  ArrayRef<int64_t> shape = inType.getShape();
  ArrayRef<int64_t> layout = ctx.layout(input);
  size_t rank = shape.size();
  SmallVector<bool> reduced(rank, false);
  for (int64_t a : axes)
    reduced[a] = true;
  // Storage-ordered dims, collapsed into runs of kept / reduced.
  SmallVector<int64_t> sizes;
  SmallVector<bool> isReduced;
  for (size_t i = 0; i < rank; ++i) {
    int64_t d = layout.empty() ? int64_t(i) : layout[i];
    if (shape[d] == 1)
      continue;
    if (!isReduced.empty() && isReduced.back() == reduced[d]) {
      sizes.back() *= shape[d];
      continue;
    }
    sizes.push_back(shape[d]);
    isReduced.push_back(reduced[d]);
  }
  ReduceForm f;
  if (sizes.empty()) {
    // Nothing to reduce: a copy.
  } else if (sizes.size() == 1) {
    (isReduced[0] ? f.red : f.inner) = sizes[0];
  } else if (sizes.size() == 2 && isReduced[0]) {
    f.red = sizes[0];
    f.inner = sizes[1];
  } else if (sizes.size() == 2) {
    f.outer = sizes[0];
    f.red = sizes[1];
  } else if (sizes.size() == 3 && !isReduced[0] && isReduced[1]) {
    f.outer = sizes[0];
    f.red = sizes[1];
    f.inner = sizes[2];
  } else {
    return failure();
  }
  return f;
}

/// The product `a * b` that a row sum (or mean) reads, when the reduction is
/// its only user and neither operand broadcasts: the reduction then
/// multiplies the operands' chunks on chip and the product never goes to
/// DRAM (the predictor's quality, sum(p * t) per row, would otherwise write
/// and read back a tensor as large as the predicted gradients, three times
/// per step).
nn::MulOp fusedRowProduct(Operation *reduce, LoweringContext &ctx) {
  if (!llvm::isa<nn::ReduceSumOp, nn::ReduceMeanOp>(reduce))
    return nullptr;
  Value input = reduce->getOperand(0);
  auto mul = input.getDefiningOp<nn::MulOp>();
  if (!mul || !input.hasOneUse())
    return nullptr;
  for (Value operand : mul->getOperands())
    if (operand.getType() != input.getType() ||
        ctx.layout(operand) != ctx.layout(input) || constantScalar(operand))
      return nullptr;
  ArrayRef<int64_t> axes = llvm::isa<nn::ReduceSumOp>(reduce)
                               ? cast<nn::ReduceSumOp>(reduce).getAxes()
                               : cast<nn::ReduceMeanOp>(reduce).getAxes();
  FailureOr<ReduceForm> f = reduceForm(input, axes, ctx);
  if (failed(f) || f->inner != 1)
    return nullptr;
  return mul;
}

/// An element-wise op: nothing when another op computes it (the epilogue
/// of the nn.gemm that defines one of its operands, LowerMatmul.cpp; the
/// product that a row sum reads), its group's loop when it starts a fused
/// group, its own loop otherwise.
LogicalResult lowerElementwiseOp(Operation *op, LoweringContext &ctx) {
  for (Value operand : op->getOperands())
    if (Operation *def = operand.getDefiningOp())
      if (fusedEpilogue(def, ctx) == op)
        return success();
  Value result = op->getResult(0);
  if (llvm::isa<nn::MulOp>(op) && result.hasOneUse() &&
      fusedRowProduct(*result.getUsers().begin(), ctx) == op)
    return success();
  if (ArrayRef<Operation *> group = ctx.elementwiseGroups().startingAt(op);
      !group.empty()) {
    FailureOr<bool> fused = lowerElementwiseGroup(group, ctx);
    if (failed(fused))
      return failure();
    if (*fused)
      return success();
  }
  ElementwiseKernel k = *kernelOf(op);
  return streamElementwise(op, ctx, k.inputs, result, k.body);
}

template <typename OpTy>
LogicalResult lowerReduce(Operation *op, LoweringContext &ctx) {
  auto red = cast<OpTy>(op);
  Value input = red.getInput();
  FailureOr<ReduceForm> form = reduceForm(input, red.getAxes(), ctx);
  if (failed(form))
    return op->emitError("reduction pattern not supported on the "
                         "accelerator");
  int64_t outer = form->outer, red_ = form->red, inner = form->inner;
  bool isMax = std::is_same_v<OpTy, nn::ReduceMaxOp>;
  bool isMean = std::is_same_v<OpTy, nn::ReduceMeanOp>;
  InstBuilder &ib = ctx.ib;
  uint64_t src = ctx.addr(input), dst = ctx.addr(red.getResult());
  isa::TensorClass srcCls = ctx.cls(input), dstCls = ctx.cls(red.getResult());
  int64_t half = ctx.spadElems() / 2;
  if (inner == 1) {
    // Row reductions: [outer][red] -> [outer]; chunks of whole rows when
    // they fit, partial rows combined with the _acc form otherwise. The row
    // sums of a fused product load both factors' chunks (a square's one
    // factor once) and multiply them on chip, in place of the first.
    nn::MulOp product = fusedRowProduct(op, ctx);
    Value a = product ? product.getLhs() : input;
    Value b = product ? product.getRhs() : Value();
    bool second = b && b != a;
    uint64_t srcA = ctx.addr(a), srcB = second ? ctx.addr(b) : 0;
    isa::TensorClass clsA = ctx.cls(a), clsB = second ? ctx.cls(b) : clsA;
    // Each of the two buffers holds one chunk, or two for a product.
    int64_t buffer = half / 2, tile = product ? buffer / 2 : buffer;
    int64_t colChunk = std::min<int64_t>({red_, 65536, tile});
    int64_t rowChunk = std::max<int64_t>(
        1, std::min<int64_t>({outer, tile / colChunk, 65536}));
    int64_t accAddr = half + half / 2; // results
    unsigned parity = 0;
    for (int64_t o0 = 0; o0 < outer; o0 += rowChunk) {
      int64_t rc = std::min(rowChunk, outer - o0);
      for (int64_t c0 = 0; c0 < red_; c0 += colChunk) {
        int64_t cc = std::min(colChunk, red_ - c0);
        int64_t chip = (parity++ % 2) * buffer, chipB = chip + tile;
        uint64_t offset = 4 * uint64_t(o0 * red_ + c0);
        ib.load(srcA + offset, chip, DmaBox::rows(rc, cc, red_, cc), clsA);
        if (second)
          ib.load(srcB + offset, chipB, DmaBox::rows(rc, cc, red_, cc), clsB);
        if (product)
          ib.vec(VecFunct::Mul, rc, cc, View{chip, cc, 1}, View{chip, cc, 1},
                 View{second ? chipB : chip, cc, 1});
        VecFunct f = c0 == 0
                         ? (isMax ? VecFunct::RowMax : VecFunct::RowSum)
                         : (isMax ? VecFunct::RowMaxAcc : VecFunct::RowSumAcc);
        ib.vec(f, rc, cc, View{accAddr, 1, 0}, View{chip, cc, 1});
      }
      if (isMean)
        ib.vec(VecFunct::MulImm, rc, 1, View{accAddr, 1, 0},
               View{accAddr, 1, 0}, {}, float(1.0 / double(red_)));
      ib.store(dst + 4 * uint64_t(o0), accAddr, DmaBox::contiguous(rc), dstCls);
    }
    return success();
  }
  // Column reductions: per outer index, [red][inner] -> [inner], in column
  // blocks when a row does not fit (a weight gradient summed over the
  // batch of a batched matrix product).
  int64_t colBlock = std::min<int64_t>({inner, half / 2, 65536});
  int64_t rowChunk = std::max<int64_t>(
      1, std::min<int64_t>({red_, (half / 2) / colBlock, 65536 / colBlock}));
  int64_t resAddr = half + half / 2;
  unsigned parity = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c0 = 0; c0 < inner; c0 += colBlock) {
      int64_t cw = std::min(colBlock, inner - c0);
      for (int64_t r0 = 0; r0 < red_; r0 += rowChunk) {
        int64_t rc = std::min(rowChunk, red_ - r0);
        int64_t chip = (parity++ % 2) * (half / 2);
        ib.load(src + 4 * uint64_t((o * red_ + r0) * inner + c0), chip,
                DmaBox::rows(rc, cw, inner, cw), srcCls);
        VecFunct f = r0 == 0
                         ? (isMax ? VecFunct::ColMax : VecFunct::ColSum)
                         : (isMax ? VecFunct::ColMaxAcc : VecFunct::ColSumAcc);
        ib.vec(f, rc, cw, View{resAddr, 0, 1}, View{chip, cw, 1});
      }
      if (isMean)
        ib.vec(VecFunct::MulImm, 1, cw, View{resAddr, 0, 1},
               View{resAddr, 0, 1}, {}, float(1.0 / double(red_)));
      ib.store(dst + 4 * uint64_t(o * inner + c0), resAddr,
               DmaBox::contiguous(cw), dstCls);
    }
  }
  return success();
}

} // namespace

bool isFusibleElementwise(Operation *op) {
  std::optional<ElementwiseKernel> k = kernelOf(op);
  if (!k)
    return false;
  auto isF32Tensor = [](Value v) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    return t && t.getElementType().isF32() &&
           !v.getDefiningOp<train::LRScheduleOp>();
  };
  if (!llvm::all_of(op->getOperands(), isF32Tensor) ||
      !isF32Tensor(op->getResult(0)))
    return false;
  for (Value operand : op->getOperands())
    if (Operation *def = operand.getDefiningOp())
      if (epilogueCandidate(def) == op)
        return false;
  Value result = op->getResult(0);
  if (llvm::isa<nn::MulOp>(op) && result.hasOneUse() &&
      llvm::isa<nn::ReduceSumOp, nn::ReduceMeanOp>(*result.getUsers().begin()))
    return false;
  return true;
}

ElementwiseGroups findElementwiseGroups(Block &body) {
  ElementwiseGroups g;
  SmallVector<Operation *, 4> run;
  DenseSet<Value> touched; // what the run reads or computes
  auto close = [&] {
    if (run.size() >= 2) {
      for (Operation *op : run)
        g.groupOf[op] = unsigned(g.groups.size());
      g.groups.push_back(run);
    }
    run.clear();
    touched.clear();
  };
  for (Operation &op : body) {
    if (llvm::isa<ml_program::GlobalLoadOp, arith::ConstantOp>(op))
      continue;
    // A batch normalisation's last pass may lead a group (LowerNorm.cpp).
    if (auto bn = dyn_cast<nn::BatchNormTrainOp>(op);
        bn && bn.getResult().getType().getElementType().isF32()) {
      close();
      run.push_back(&op);
      touched.insert(bn.getResult());
      continue;
    }
    if (!isFusibleElementwise(&op)) {
      close();
      continue;
    }
    bool joins =
        !run.empty() &&
        op.getResult(0).getType() == run.front()->getResult(0).getType() &&
        llvm::any_of(op.getOperands(),
                     [&](Value v) { return touched.contains(v); });
    if (joins) {
      run.push_back(&op);
      if (groupTiles(run) > kMaxGroupTiles) {
        run.pop_back();
        joins = false;
      }
    }
    if (!joins) {
      close();
      run.push_back(&op);
    }
    for (Value v : op.getOperands())
      touched.insert(v);
    touched.insert(op.getResult(0));
  }
  close();
  return g;
}

void populateElementwiseLowerings(LoweringRegistry &r) {
  for (StringRef name : {nn::ReluOp::getOperationName(),
                         nn::SigmoidOp::getOperationName(),
                         nn::TanhOp::getOperationName(),
                         nn::ExpOp::getOperationName(),
                         nn::LogOp::getOperationName(),
                         nn::SqrtOp::getOperationName(),
                         nn::ErfOp::getOperationName(),
                         nn::NegOp::getOperationName(),
                         nn::AbsOp::getOperationName(),
                         nn::ReciprocalOp::getOperationName(),
                         nn::ScaleOp::getOperationName(),
                         nn::LeakyReluOp::getOperationName(),
                         nn::ClipOp::getOperationName(),
                         nn::AddOp::getOperationName(),
                         nn::SubOp::getOperationName(),
                         nn::MulOp::getOperationName(),
                         nn::DivOp::getOperationName(),
                         nn::MaxOp::getOperationName(),
                         nn::MinOp::getOperationName(),
                         nn::ReluGradOp::getOperationName(),
                         nn::SigmoidGradOp::getOperationName(),
                         nn::TanhGradOp::getOperationName(),
                         nn::LeakyReluGradOp::getOperationName()})
    r.add(name, lowerElementwiseOp);
  r.add(nn::ClipGradOp::getOperationName(), lowerClipGrad);
  r.add(nn::BroadcastToOp::getOperationName(), lowerBroadcastTo);
  r.add(nn::ReduceSumOp::getOperationName(), lowerReduce<nn::ReduceSumOp>);
  r.add(nn::ReduceMeanOp::getOperationName(), lowerReduce<nn::ReduceMeanOp>);
  r.add(nn::ReduceMaxOp::getOperationName(), lowerReduce<nn::ReduceMaxOp>);
}

} // namespace adagp::accel
