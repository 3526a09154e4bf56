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
// Reductions collapse the input's storage into kept and reduced dimensions
// and use the column (`colsum_acc`) or row (`rowsum`) reductions.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

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

struct StreamOperand {
  Value value;
};

/// Emits the chunk loop. `body` receives the on-chip views of the operands
/// and of the result tile and the chunk's rows x cols.
using ChunkBody = std::function<void(InstBuilder &, ArrayRef<View> in, View out,
                                     int64_t rows, int64_t cols)>;

LogicalResult streamElementwise(Operation *op, LoweringContext &ctx,
                                ArrayRef<Value> inputs, Value result,
                                ChunkBody body) {
  auto outType = cast<RankedTensorType>(result.getType());
  SmallVector<std::pair<ArrayRef<int64_t>, ArrayRef<int64_t>>> ops;
  for (Value v : inputs)
    ops.push_back(
        {cast<RankedTensorType>(v.getType()).getShape(), ctx.layout(v)});
  StreamPlan plan;
  if (!planStream(outType.getShape(), ctx.layout(result), ops, plan))
    return op->emitError("broadcast pattern not supported on the "
                         "accelerator");
  int64_t outer = plan.size[0], rows = plan.size[1], cols = plan.size[2];
  const auto &outSt = plan.strides.back();
  if (outSt[2] != (cols > 1 ? 1 : 0) && cols > 1)
    return op->emitError("internal: non-dense result tile");
  // Tiles: one per operand and the result, double-buffered.
  int64_t tiles = int64_t(inputs.size()) + 1;
  int64_t capacity = ctx.spadElems() / (2 * tiles);
  if (cols > capacity || cols > 65536)
    return op->emitError("rows of ")
           << cols << " elements do not fit the scratchpad (" << capacity
           << " elements per tile)";
  // Dense operands move as one run per chunk, which the DMA's 16-bit size
  // field limits to 65536 elements.
  int64_t chunkRows = std::max<int64_t>(
      1, std::min<int64_t>({capacity / cols, 65536 / cols, 65536}));
  chunkRows = std::min(chunkRows, rows);
  // Buffer placement: [parity][tile], each `capacity` elements.
  InstBuilder &ib = ctx.ib;
  int64_t parity = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t r0 = 0; r0 < rows; r0 += chunkRows) {
      int64_t rc = std::min(chunkRows, rows - r0);
      int64_t base = parity * tiles * capacity;
      parity ^= 1;
      SmallVector<View> views;
      for (auto [i, v] : llvm::enumerate(inputs)) {
        const auto &s = plan.strides[i];
        int64_t chip = base + int64_t(i) * capacity;
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
        ib.load(src, chip, box, ctx.cls(v));
        views.push_back(View{chip, hasRows ? lc : 0, hasCols ? 1 : 0});
      }
      int64_t outChip = base + int64_t(inputs.size()) * capacity;
      body(ib, views, View{outChip, cols, 1}, rc, cols);
      DmaBox box = DmaBox::rows(rc, cols, outSt[1], cols);
      ib.store(ctx.addr(result) + 4 * uint64_t(o * outSt[0] + r0 * outSt[1]),
               outChip, box, ctx.cls(result));
    }
  }
  return success();
}

/// A unary op: one vector function, optionally with an immediate.
LowerFn unary(VecFunct f, std::function<float(Operation *)> imm = nullptr) {
  return [f, imm](Operation *op, LoweringContext &ctx) {
    float v = imm ? imm(op) : 0.0f;
    return streamElementwise(
        op, ctx, {op->getOperand(0)}, op->getResult(0),
        [&](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
            int64_t cols) { ib.vec(f, rows, cols, out, in[0], {}, v); });
  };
}

/// A binary op, with an immediate form when the second operand is a scalar
/// constant (x + c is `addi`, x * c `muli`, ...).
LowerFn binary(VecFunct f) {
  return [f](Operation *op, LoweringContext &ctx) -> LogicalResult {
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    if (std::optional<double> c = constantScalar(rhs)) {
      std::optional<std::pair<VecFunct, float>> immForm;
      switch (f) {
      case VecFunct::Add:
        immForm = {VecFunct::AddImm, float(*c)};
        break;
      case VecFunct::Sub:
        immForm = {VecFunct::AddImm, float(-*c)};
        break;
      case VecFunct::Mul:
        immForm = {VecFunct::MulImm, float(*c)};
        break;
      case VecFunct::Max:
        immForm = {VecFunct::MaxImm, float(*c)};
        break;
      case VecFunct::Min:
        immForm = {VecFunct::MinImm, float(*c)};
        break;
      default:
        break;
      }
      if (immForm &&
          numElements(lhs.getType()) == numElements(op->getResult(0).getType()))
        return streamElementwise(op, ctx, {lhs}, op->getResult(0),
                                 [&](InstBuilder &ib, ArrayRef<View> in,
                                     View out, int64_t rows, int64_t cols) {
                                   ib.vec(immForm->first, rows, cols, out,
                                          in[0], {}, immForm->second);
                                 });
    }
    return streamElementwise(
        op, ctx, {lhs, rhs}, op->getResult(0),
        [&](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
            int64_t cols) { ib.vec(f, rows, cols, out, in[0], in[1]); });
  };
}

LogicalResult lowerClip(Operation *op, LoweringContext &ctx) {
  auto clip = cast<nn::ClipOp>(op);
  float lo = float(clip.getMin().convertToDouble()),
        hi = float(clip.getMax().convertToDouble());
  return streamElementwise(
      op, ctx, {clip.getInput()}, clip.getResult(),
      [&](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
          int64_t cols) {
        ib.vec(VecFunct::MaxImm, rows, cols, out, in[0], {}, lo);
        ib.vec(VecFunct::MinImm, rows, cols, out, out, {}, hi);
      });
}

/// grad * (lo <= x <= hi). max(x, lo) == x is x >= lo and min(x, hi) == x
/// is x <= hi, both exact, so the mask matches the reference bit for bit.
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

/// `lower`, or nothing when the op is the epilogue of the nn.gemm that
/// defines one of its operands (LowerMatmul.cpp stores its result).
LowerFn computedByProduct(LowerFn lower) {
  return [lower](Operation *op, LoweringContext &ctx) -> LogicalResult {
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        if (fusedEpilogue(def, ctx) == op)
          return success();
    return lower(op, ctx);
  };
}

/// The product's own lowering: nothing when its reduction computes it.
LogicalResult lowerMul(Operation *op, LoweringContext &ctx) {
  Value product = op->getResult(0);
  if (product.hasOneUse() &&
      fusedRowProduct(*product.getUsers().begin(), ctx) == op)
    return success();
  static const LowerFn plain = binary(VecFunct::Mul);
  return plain(op, ctx);
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

void populateElementwiseLowerings(LoweringRegistry &r) {
  r.add(nn::ReluOp::getOperationName(),
        computedByProduct(unary(VecFunct::Relu)));
  r.add(nn::SigmoidOp::getOperationName(), unary(VecFunct::Sigmoid));
  r.add(nn::TanhOp::getOperationName(), unary(VecFunct::Tanh));
  r.add(nn::ExpOp::getOperationName(), unary(VecFunct::Exp));
  r.add(nn::LogOp::getOperationName(), unary(VecFunct::Log));
  r.add(nn::SqrtOp::getOperationName(), unary(VecFunct::Sqrt));
  r.add(nn::ErfOp::getOperationName(), unary(VecFunct::Erf));
  r.add(nn::NegOp::getOperationName(), unary(VecFunct::Neg));
  r.add(nn::AbsOp::getOperationName(), unary(VecFunct::Abs));
  r.add(nn::ReciprocalOp::getOperationName(), unary(VecFunct::Recip));
  r.add(nn::ScaleOp::getOperationName(),
        unary(VecFunct::MulImm, [](Operation *op) {
          return float(cast<nn::ScaleOp>(op).getFactor().convertToDouble());
        }));
  r.add(nn::LeakyReluOp::getOperationName(),
        unary(VecFunct::LeakyRelu, [](Operation *op) {
          return float(cast<nn::LeakyReluOp>(op).getAlpha().convertToDouble());
        }));
  r.add(nn::ClipOp::getOperationName(), lowerClip);
  r.add(nn::ClipGradOp::getOperationName(), lowerClipGrad);
  r.add(nn::AddOp::getOperationName(),
        computedByProduct(binary(VecFunct::Add)));
  r.add(nn::SubOp::getOperationName(), binary(VecFunct::Sub));
  r.add(nn::MulOp::getOperationName(), lowerMul);
  r.add(nn::DivOp::getOperationName(), binary(VecFunct::Div));
  r.add(nn::MaxOp::getOperationName(), binary(VecFunct::Max));
  r.add(nn::MinOp::getOperationName(), binary(VecFunct::Min));
  // Activation gradients take (grad, value); the vector unit's take
  // A = value, B = grad.
  auto grad = [](VecFunct f,
                 std::function<float(Operation *)> imm = nullptr) -> LowerFn {
    return [f, imm](Operation *op, LoweringContext &ctx) {
      float v = imm ? imm(op) : 0.0f;
      return streamElementwise(
          op, ctx, {op->getOperand(0), op->getOperand(1)}, op->getResult(0),
          [&](InstBuilder &ib, ArrayRef<View> in, View out, int64_t rows,
              int64_t cols) { ib.vec(f, rows, cols, out, in[1], in[0], v); });
    };
  };
  r.add(nn::ReluGradOp::getOperationName(), grad(VecFunct::ReluGrad));
  r.add(nn::SigmoidGradOp::getOperationName(), grad(VecFunct::SigmoidGrad));
  r.add(nn::TanhGradOp::getOperationName(), grad(VecFunct::TanhGrad));
  r.add(nn::LeakyReluGradOp::getOperationName(),
        grad(VecFunct::LeakyReluGrad, [](Operation *op) {
          return float(
              cast<nn::LeakyReluGradOp>(op).getAlpha().convertToDouble());
        }));
  r.add(nn::BroadcastToOp::getOperationName(), lowerBroadcastTo);
  r.add(nn::ReduceSumOp::getOperationName(), lowerReduce<nn::ReduceSumOp>);
  r.add(nn::ReduceMeanOp::getOperationName(), lowerReduce<nn::ReduceMeanOp>);
  r.add(nn::ReduceMaxOp::getOperationName(), lowerReduce<nn::ReduceMaxOp>);
}

} // namespace adagp::accel
