//===- LowerNorm.cpp - Batch normalisation on the vector unit -------------===//
//
// A channel-last activation is a [pixels x C] matrix, so batch statistics
// are column reductions and the normalisation a per-column affine map
// (docs/isa.md section 5). The variance is a mean of centred squares, as in
// the CPU reference, not E[x^2] - mean^2, which cancels; but each chunk is
// centred on its own mean on chip and the chunks' statistics are merged, so
// that x is read once for both (the reference reads it twice). The
// normalised value is (x - mean) * (scale * invstd) + bias.
//
//   training forward:  pass 1 per chunk colsum -> chunk mean,
//                      colsumsq(x - chunk mean) -> chunk M2, merged into the
//                      mean and variance (Chan et al.); pass 2 y = (x - mean)
//                      * k + bias; running statistics on 1 x C rows
//   backward:          pass 1 colsum(dy), coldot(dy, x - mean); pass 2
//                      dx = (x - mean) * k2 + k3 + dy * k1
//   inference:         one pass with the running statistics
//
// Layer normalisation and softmax work on rows instead: a row-major tensor
// is an [R x D] matrix (D the normalised trailing dimensions), every chunk
// of whole rows is independent, and the per-row statistics are row
// reductions (`rowsum`, `rowsumsq`, `rowdot`) broadcast back with a
// per-row view (b_rs = 1, b_cs = 0); as for batch normalisation the
// variance is the mean of the centred squares.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;

namespace adagp::accel {
using isa::VecFunct;
namespace {

/// The [rows x channels] view of a batch-norm input.
LogicalResult normShape(Operation *op, LoweringContext &ctx, Value x,
                        int64_t &rows, int64_t &channels) {
  auto t = cast<RankedTensorType>(x.getType());
  channels = t.getDimSize(1);
  rows = t.getNumElements() / channels;
  ArrayRef<int64_t> layout = ctx.layout(x);
  bool channelLast =
      t.getRank() == 2 ||
      (t.getRank() == 4 && layout.size() == 4 && layout[3] == 1);
  if (!channelLast && rows != t.getDimSize(0))
    return op->emitError("batch normalisation needs a channel-last input");
  return success();
}

/// Scratchpad plan: `vectors` 1 x C rows at the top, then two buffers of
/// `tiles` row tiles each.
struct NormPlan {
  int64_t c = 1, rows = 1, chunk = 1;
  int64_t vecBase = 0;
  int64_t bufBase[2] = {0, 0};
  int64_t tileElems = 0;

  int64_t vec(int i) const { return vecBase + i * c; }
  int64_t tile(unsigned parity, int i) const {
    return bufBase[parity] + i * tileElems;
  }
};

LogicalResult makePlan(Operation *op, LoweringContext &ctx, int64_t rows,
                       int64_t c, int numVectors, int numTiles,
                       NormPlan &plan) {
  plan.c = c;
  plan.rows = rows;
  int64_t spad = ctx.spadElems();
  int64_t vecElems = numVectors * c;
  int64_t avail = spad - vecElems;
  int64_t chunk = avail > 0 ? avail / (2 * numTiles * c) : 0;
  // Chunks of whole rows that move as one DMA run (16-bit size field).
  chunk = std::min<int64_t>({chunk, rows, std::max<int64_t>(1, 65536 / c)});
  if (chunk < 1)
    return op->emitError("batch normalisation over ")
           << c << " channels needs "
           << (vecElems + 2 * numTiles * c) * 4
           << " bytes of scratchpad but it holds " << spad * 4 << " (short by "
           << (vecElems + 2 * numTiles * c - spad) * 4 << " bytes)";
  plan.chunk = chunk;
  plan.tileElems = chunk * c;
  plan.bufBase[0] = 0;
  plan.bufBase[1] = numTiles * plan.tileElems;
  // The vectors at the top: a fused group's loop (the training forward's
  // normalising pass) may use everything below them.
  plan.vecBase = spad - vecElems;
  return success();
}

View rowsView(int64_t addr, int64_t c) { return View{addr, c, 1}; }
View rowVec(int64_t addr) { return View{addr, 0, 1}; }

void loadVector(LoweringContext &ctx, Value v, int64_t chip) {
  ctx.ib.load(ctx.addr(v), chip,
              DmaBox::contiguous(cast<RankedTensorType>(v.getType())
                                     .getNumElements()),
              ctx.cls(v));
}

void storeVector(LoweringContext &ctx, Value v, int64_t chip) {
  ctx.ib.store(ctx.addr(v), chip,
               DmaBox::contiguous(cast<RankedTensorType>(v.getType())
                                      .getNumElements()),
               ctx.cls(v));
}

/// Loads rows [r0, r0 + rc) of a [rows x c] tensor.
void loadRows(LoweringContext &ctx, Value v, int64_t r0, int64_t rc,
              int64_t c, int64_t chip) {
  ctx.ib.load(ctx.addr(v) + 4 * uint64_t(r0 * c), chip,
              DmaBox::rows(rc, c, c, c), ctx.cls(v));
}

void storeRows(LoweringContext &ctx, Value v, int64_t r0, int64_t rc,
               int64_t c, int64_t chip) {
  ctx.ib.store(ctx.addr(v) + 4 * uint64_t(r0 * c), chip,
               DmaBox::rows(rc, c, c, c), ctx.cls(v));
}

/// invstd = 1 / sqrt(var + eps) into `dst` (var at `var`).
void invStd(InstBuilder &ib, int64_t c, int64_t dst, int64_t var,
            double eps) {
  ib.vec(VecFunct::AddImm, 1, c, rowVec(dst), rowVec(var), {}, float(eps));
  ib.vec(VecFunct::Rsqrt, 1, c, rowVec(dst), rowVec(dst));
}

// Vector slots of the training forward pass.
enum TrainVec {
  kMean,
  kVar,
  kInvStd,
  kScale, // gamma, then gamma * invstd
  kBias,
  kRunMean,
  kRunVar,
  kTmp,
  kChunkM2,
  kDelta,
  kNumTrainVecs
};

LogicalResult lowerBatchNormTrain(Operation *op, LoweringContext &ctx) {
  auto bn = cast<nn::BatchNormTrainOp>(op);
  Value x = bn.getInput();
  int64_t rows, c;
  if (failed(normShape(op, ctx, x, rows, c)))
    return failure();
  NormPlan p;
  if (failed(makePlan(op, ctx, rows, c, kNumTrainVecs, 1, p)))
    return failure();
  InstBuilder &ib = ctx.ib;
  double n = double(rows);
  unsigned parity = 0;
  // Pass 1: the mean and the biased variance in one read of x. Each chunk's
  // mean and sum of squared deviations (M2) come from the chunk on chip,
  // centred on its own mean as the two-pass formula centres the whole, and
  // are merged into the running ones (Chan et al.): with delta = mean_b -
  // mean, mean += delta * nb / n and M2 += M2_b + delta^2 * na * nb / n.
  View mean = rowVec(p.vec(kMean)), m2 = rowVec(p.vec(kVar)),
       chunkMean = rowVec(p.vec(kTmp)), chunkM2 = rowVec(p.vec(kChunkM2)),
       delta = rowVec(p.vec(kDelta));
  for (int64_t r0 = 0; r0 < rows; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    int64_t t = p.tile(parity++ % 2, 0);
    loadRows(ctx, x, r0, rc, c, t);
    bool first = r0 == 0;
    View cm = first ? mean : chunkMean, cm2 = first ? m2 : chunkM2;
    ib.vec(VecFunct::ColSum, rc, c, cm, rowsView(t, c));
    ib.vec(VecFunct::MulImm, 1, c, cm, cm, {}, float(1.0 / double(rc)));
    ib.vec(VecFunct::Sub, rc, c, rowsView(t, c), rowsView(t, c), cm);
    ib.vec(VecFunct::ColSumSq, rc, c, cm2, rowsView(t, c));
    if (first)
      continue;
    double na = double(r0), nb = double(rc), nt = na + nb;
    ib.vec(VecFunct::Sub, 1, c, delta, chunkMean, mean);
    ib.vec(VecFunct::Axpy, 1, c, mean, delta, mean, float(nb / nt));
    ib.vec(VecFunct::Add, 1, c, m2, m2, chunkM2);
    ib.vec(VecFunct::Mul, 1, c, delta, delta, delta);
    ib.vec(VecFunct::Axpy, 1, c, m2, delta, m2, float(na * nb / nt));
  }
  ib.vec(VecFunct::MulImm, 1, c, m2, m2, {}, float(1.0 / n));
  invStd(ib, c, p.vec(kInvStd), p.vec(kVar), bn.getEpsilon().convertToDouble());
  loadVector(ctx, bn.getScale(), p.vec(kScale));
  loadVector(ctx, bn.getBias(), p.vec(kBias));
  ib.vec(VecFunct::Mul, 1, c, rowVec(p.vec(kScale)), rowVec(p.vec(kScale)),
         rowVec(p.vec(kInvStd)));
  // Pass 2: y = (x - mean) * scale + bias; `affine` reads its two rows
  // (scale, bias) `b_rs` apart. When y starts a fused element-wise group
  // (the ReLU after it, a residual sum), the group's loop computes y chunk
  // by chunk and only the results read after the group are stored.
  View affine{p.vec(kScale), p.vec(kBias) - p.vec(kScale), 1};
  GroupLeader leader;
  leader.inputs = {x};
  leader.body = [mean, affine](InstBuilder &ib, ArrayRef<View> in, View out,
                               int64_t rc, int64_t cols) {
    ib.vec(VecFunct::Sub, rc, cols, out, in[0], mean);
    ib.vec(VecFunct::Affine, rc, cols, out, out, affine);
  };
  auto xType = cast<RankedTensorType>(x.getType());
  leader.columnShape.assign(xType.getRank(), 1);
  leader.columnShape[1] = c;
  leader.spadLimit = p.vecBase;
  bool fused = false;
  if (ArrayRef<Operation *> group = ctx.elementwiseGroups().startingAt(op);
      !group.empty()) {
    FailureOr<bool> r = lowerElementwiseGroup(group, ctx, &leader);
    if (failed(r))
      return failure();
    fused = *r;
  }
  for (int64_t r0 = 0; r0 < rows && !fused; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    int64_t t = p.tile(parity++ % 2, 0);
    loadRows(ctx, x, r0, rc, c, t);
    leader.body(ib, {rowsView(t, c)}, rowsView(t, c), rc, c);
    storeRows(ctx, bn.getResult(), r0, rc, c, t);
  }
  // Running statistics (ONNX momentum): m * running + (1 - m) * batch, the
  // variance unbiased as PyTorch keeps it.
  double m = bn.getMomentum().convertToDouble();
  loadVector(ctx, bn.getRunningMean(), p.vec(kRunMean));
  loadVector(ctx, bn.getRunningVar(), p.vec(kRunVar));
  ib.vec(VecFunct::MulImm, 1, c, rowVec(p.vec(kTmp)), rowVec(p.vec(kMean)),
         {}, float(1.0 - m));
  ib.vec(VecFunct::Axpy, 1, c, rowVec(p.vec(kRunMean)),
         rowVec(p.vec(kRunMean)), rowVec(p.vec(kTmp)), float(m));
  ib.vec(VecFunct::MulImm, 1, c, rowVec(p.vec(kTmp)), rowVec(p.vec(kVar)), {},
         float(n / std::max(1.0, n - 1.0)));
  ib.vec(VecFunct::MulImm, 1, c, rowVec(p.vec(kTmp)), rowVec(p.vec(kTmp)), {},
         float(1.0 - m));
  ib.vec(VecFunct::Axpy, 1, c, rowVec(p.vec(kRunVar)), rowVec(p.vec(kRunVar)),
         rowVec(p.vec(kTmp)), float(m));
  storeVector(ctx, bn.getRunningMeanOut(), p.vec(kRunMean));
  storeVector(ctx, bn.getRunningVarOut(), p.vec(kRunVar));
  storeVector(ctx, bn.getBatchMean(), p.vec(kMean));
  storeVector(ctx, bn.getBatchVar(), p.vec(kVar));
  return success();
}

enum GradVec { kGMean, kGInvStd, kGScale, kDBias, kDot, kK1, kK2, kK3,
               kNumGradVecs };

LogicalResult lowerBatchNormGrad(Operation *op, LoweringContext &ctx) {
  auto bn = cast<nn::BatchNormGradOp>(op);
  Value dy = bn.getGrad(), x = bn.getInput();
  int64_t rows, c;
  if (failed(normShape(op, ctx, x, rows, c)))
    return failure();
  NormPlan p;
  if (failed(makePlan(op, ctx, rows, c, kNumGradVecs, 2, p)))
    return failure();
  InstBuilder &ib = ctx.ib;
  double n = double(rows);
  loadVector(ctx, bn.getBatchMean(), p.vec(kGMean));
  loadVector(ctx, bn.getBatchVar(), p.vec(kGInvStd));
  invStd(ib, c, p.vec(kGInvStd), p.vec(kGInvStd),
         bn.getEpsilon().convertToDouble());
  loadVector(ctx, bn.getScale(), p.vec(kGScale));
  unsigned parity = 0;
  // Pass 1: dbias = sum(dy), dot = sum(dy * (x - mean)).
  for (int64_t r0 = 0; r0 < rows; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    unsigned par = parity++ % 2;
    int64_t td = p.tile(par, 0), tx = p.tile(par, 1);
    loadRows(ctx, dy, r0, rc, c, td);
    loadRows(ctx, x, r0, rc, c, tx);
    ib.vec(r0 ? VecFunct::ColSumAcc : VecFunct::ColSum, rc, c,
           rowVec(p.vec(kDBias)), rowsView(td, c));
    ib.vec(VecFunct::Sub, rc, c, rowsView(tx, c), rowsView(tx, c),
           rowVec(p.vec(kGMean)));
    ib.vec(r0 ? VecFunct::ColDotAcc : VecFunct::ColDot, rc, c,
           rowVec(p.vec(kDot)), rowsView(td, c), rowsView(tx, c));
  }
  // dscale = dot * invstd (kept in kDot); k1 = scale * invstd;
  // k2 = -k1 * invstd * dscale / n; k3 = -k1 * dbias / n.
  ib.vec(VecFunct::Mul, 1, c, rowVec(p.vec(kDot)), rowVec(p.vec(kDot)),
         rowVec(p.vec(kGInvStd)));
  ib.vec(VecFunct::Mul, 1, c, rowVec(p.vec(kK1)), rowVec(p.vec(kGScale)),
         rowVec(p.vec(kGInvStd)));
  ib.vec(VecFunct::Mul, 1, c, rowVec(p.vec(kK2)), rowVec(p.vec(kK1)),
         rowVec(p.vec(kGInvStd)));
  ib.vec(VecFunct::Mul, 1, c, rowVec(p.vec(kK2)), rowVec(p.vec(kK2)),
         rowVec(p.vec(kDot)));
  ib.vec(VecFunct::MulImm, 1, c, rowVec(p.vec(kK2)), rowVec(p.vec(kK2)), {},
         float(-1.0 / n));
  ib.vec(VecFunct::Mul, 1, c, rowVec(p.vec(kK3)), rowVec(p.vec(kK1)),
         rowVec(p.vec(kDBias)));
  ib.vec(VecFunct::MulImm, 1, c, rowVec(p.vec(kK3)), rowVec(p.vec(kK3)), {},
         float(-1.0 / n));
  // Pass 2: dx = (x - mean) * k2 + k3 + dy * k1. k2 and k3 are adjacent
  // rows, as `affine` wants them.
  for (int64_t r0 = 0; r0 < rows; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    unsigned par = parity++ % 2;
    int64_t td = p.tile(par, 0), tx = p.tile(par, 1);
    loadRows(ctx, dy, r0, rc, c, td);
    loadRows(ctx, x, r0, rc, c, tx);
    ib.vec(VecFunct::Sub, rc, c, rowsView(tx, c), rowsView(tx, c),
           rowVec(p.vec(kGMean)));
    ib.vec(VecFunct::Affine, rc, c, rowsView(tx, c), rowsView(tx, c),
           View{p.vec(kK2), c, 1});
    ib.vec(VecFunct::Fma, rc, c, rowsView(tx, c), rowsView(td, c),
           rowVec(p.vec(kK1)));
    storeRows(ctx, bn.getInputGrad(), r0, rc, c, tx);
  }
  storeVector(ctx, bn.getScaleGrad(), p.vec(kDot));
  storeVector(ctx, bn.getBiasGrad(), p.vec(kDBias));
  return success();
}

enum InferVec { kIMean, kIScale, kIBias, kIVar, kNumInferVecs };

LogicalResult lowerBatchNormInference(Operation *op, LoweringContext &ctx) {
  auto bn = cast<nn::BatchNormInferenceOp>(op);
  Value x = bn.getInput();
  int64_t rows, c;
  if (failed(normShape(op, ctx, x, rows, c)))
    return failure();
  NormPlan p;
  if (failed(makePlan(op, ctx, rows, c, kNumInferVecs, 1, p)))
    return failure();
  InstBuilder &ib = ctx.ib;
  loadVector(ctx, bn.getMean(), p.vec(kIMean));
  loadVector(ctx, bn.getVar(), p.vec(kIVar));
  loadVector(ctx, bn.getScale(), p.vec(kIScale));
  loadVector(ctx, bn.getBias(), p.vec(kIBias));
  invStd(ib, c, p.vec(kIVar), p.vec(kIVar), bn.getEpsilon().convertToDouble());
  ib.vec(VecFunct::Mul, 1, c, rowVec(p.vec(kIScale)), rowVec(p.vec(kIScale)),
         rowVec(p.vec(kIVar)));
  unsigned parity = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    int64_t t = p.tile(parity++ % 2, 0);
    loadRows(ctx, x, r0, rc, c, t);
    ib.vec(VecFunct::Sub, rc, c, rowsView(t, c), rowsView(t, c),
           rowVec(p.vec(kIMean)));
    ib.vec(VecFunct::Affine, rc, c, rowsView(t, c), rowsView(t, c),
           View{p.vec(kIScale), p.vec(kIBias) - p.vec(kIScale), 1});
    storeRows(ctx, bn.getResult(), r0, rc, c, t);
  }
  return success();
}

/// The [rows x cols] matrix of a row-major tensor whose dimensions from
/// `axis` on are the columns.
LogicalResult rowMatrix(Operation *op, LoweringContext &ctx, Value x,
                        int64_t axis, int64_t &rows, int64_t &cols) {
  auto t = cast<RankedTensorType>(x.getType());
  if (axis < 0)
    axis += t.getRank();
  cols = 1;
  for (int64_t i = axis; i < t.getRank(); ++i)
    cols *= t.getDimSize(i);
  rows = t.getNumElements() / std::max<int64_t>(1, cols);
  ArrayRef<int64_t> layout = ctx.layout(x);
  for (auto [i, d] : llvm::enumerate(layout))
    if (int64_t(i) != d)
      return op->emitError("normalisation over the trailing dimensions needs "
                           "a row-major operand");
  return success();
}

/// Scratchpad plan of a row-wise op: `tiles` [chunk x cols] tiles and
/// `rowVecs` per-row vectors of `chunk`, double-buffered, then
/// `colVecs` 1 x cols rows.
LogicalResult makeRowPlan(Operation *op, LoweringContext &ctx, int64_t rows,
                          int64_t cols, int tiles, int rowVecs, int colVecs,
                          NormPlan &plan) {
  plan.c = cols;
  plan.rows = rows;
  int64_t avail = ctx.spadElems() - colVecs * cols;
  int64_t perRow = tiles * cols + rowVecs;
  int64_t chunk = avail > 0 ? avail / (2 * perRow) : 0;
  chunk = std::min<int64_t>(
      {chunk, rows, std::max<int64_t>(1, 65536 / cols), 65536});
  if (chunk < 1 || cols > 65536)
    return op->emitError("rows of ")
           << cols << " elements do not fit the scratchpad (" << perRow * 8
           << " bytes per row, double-buffered)";
  plan.chunk = chunk;
  plan.tileElems = chunk * cols;
  plan.bufBase[0] = 0;
  plan.bufBase[1] = chunk * perRow;
  plan.vecBase = 2 * chunk * perRow;
  return success();
}

/// Per-row vector `i` of buffer `parity` (after the plan's `tiles` tiles).
int64_t rowSlot(const NormPlan &p, unsigned parity, int tiles, int i) {
  return p.tile(parity, tiles) + i * p.chunk;
}

View perRow(int64_t addr) { return View{addr, 1, 0}; }

LogicalResult lowerSoftmax(Operation *op, LoweringContext &ctx) {
  auto sm = cast<nn::SoftmaxOp>(op);
  auto t = cast<RankedTensorType>(sm.getInput().getType());
  int64_t axis = int64_t(sm.getAxis());
  if (axis < 0)
    axis += t.getRank();
  if (axis != t.getRank() - 1)
    return op->emitError("softmax over another than the last axis is not "
                         "supported on the accelerator");
  int64_t rows, cols;
  if (failed(rowMatrix(op, ctx, sm.getInput(), axis, rows, cols)))
    return failure();
  NormPlan p;
  if (failed(makeRowPlan(op, ctx, rows, cols, 1, 0, 0, p)))
    return failure();
  unsigned parity = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    int64_t tile = p.tile(parity++ % 2, 0);
    loadRows(ctx, sm.getInput(), r0, rc, cols, tile);
    ctx.ib.vec(VecFunct::SoftmaxRows, rc, cols, rowsView(tile, cols),
               rowsView(tile, cols));
    storeRows(ctx, sm.getResult(), r0, rc, cols, tile);
  }
  return success();
}

// Column vectors of layer normalisation: the scale and bias rows (adjacent,
// for `affine`), and the gradients' accumulators.
enum LayerVec { kLScale, kLBias, kLDScale, kLDBias, kNumLayerVecs };

LogicalResult lowerLayerNorm(Operation *op, LoweringContext &ctx) {
  auto ln = cast<nn::LayerNormOp>(op);
  Value x = ln.getInput();
  int64_t rows, cols;
  if (failed(rowMatrix(op, ctx, x, ln.getAxis(), rows, cols)))
    return failure();
  NormPlan p;
  // One tile; per row: mean, invstd.
  if (failed(makeRowPlan(op, ctx, rows, cols, 1, 2, kNumLayerVecs, p)))
    return failure();
  InstBuilder &ib = ctx.ib;
  loadVector(ctx, ln.getScale(), p.vec(kLScale));
  if (ln.getBias())
    loadVector(ctx, ln.getBias(), p.vec(kLBias));
  float inv = float(1.0 / double(cols));
  unsigned parity = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    unsigned par = parity++ % 2;
    View t = rowsView(p.tile(par, 0), cols);
    int64_t mean = rowSlot(p, par, 1, 0), invstd = rowSlot(p, par, 1, 1);
    loadRows(ctx, x, r0, rc, cols, t.addr);
    ib.vec(VecFunct::RowSum, rc, cols, perRow(mean), t);
    ib.vec(VecFunct::MulImm, rc, 1, perRow(mean), perRow(mean), {}, inv);
    ib.vec(VecFunct::Sub, rc, cols, t, t, perRow(mean));
    ib.vec(VecFunct::RowSumSq, rc, cols, perRow(invstd), t);
    ib.vec(VecFunct::MulImm, rc, 1, perRow(invstd), perRow(invstd), {}, inv);
    ib.vec(VecFunct::AddImm, rc, 1, perRow(invstd), perRow(invstd), {},
           float(ln.getEpsilon().convertToDouble()));
    ib.vec(VecFunct::Rsqrt, rc, 1, perRow(invstd), perRow(invstd));
    ib.vec(VecFunct::Mul, rc, cols, t, t, perRow(invstd));
    if (ln.getBias())
      ib.vec(VecFunct::Affine, rc, cols, t, t,
             View{p.vec(kLScale), p.vec(kLBias) - p.vec(kLScale), 1});
    else
      ib.vec(VecFunct::Mul, rc, cols, t, t, rowVec(p.vec(kLScale)));
    storeRows(ctx, ln.getResult(), r0, rc, cols, t.addr);
    ib.store(ctx.addr(ln.getMean()) + 4 * uint64_t(r0), mean,
             DmaBox::contiguous(rc), ctx.cls(ln.getMean()));
    ib.store(ctx.addr(ln.getInvStdDev()) + 4 * uint64_t(r0), invstd,
             DmaBox::contiguous(rc), ctx.cls(ln.getInvStdDev()));
  }
  return success();
}

/// With g = dy * scale and xhat = (x - mean) * invstd, per row:
///   dx = (g - mean(g) - xhat * mean(g * xhat)) * invstd,
/// and over the rows dscale = sum(dy * xhat), dbias = sum(dy).
LogicalResult lowerLayerNormGrad(Operation *op, LoweringContext &ctx) {
  auto ln = cast<nn::LayerNormGradOp>(op);
  Value dy = ln.getGrad(), x = ln.getInput();
  int64_t rows, cols;
  if (failed(rowMatrix(op, ctx, x, ln.getAxis(), rows, cols)))
    return failure();
  NormPlan p;
  // Tiles dy, x; per row: mean, invstd, the two row sums.
  if (failed(makeRowPlan(op, ctx, rows, cols, 2, 4, kNumLayerVecs, p)))
    return failure();
  InstBuilder &ib = ctx.ib;
  loadVector(ctx, ln.getScale(), p.vec(kLScale));
  float inv = float(1.0 / double(cols));
  unsigned parity = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += p.chunk) {
    int64_t rc = std::min(p.chunk, rows - r0);
    unsigned par = parity++ % 2;
    View g = rowsView(p.tile(par, 0), cols), h = rowsView(p.tile(par, 1), cols);
    int64_t mean = rowSlot(p, par, 2, 0), invstd = rowSlot(p, par, 2, 1),
            s1 = rowSlot(p, par, 2, 2), s2 = rowSlot(p, par, 2, 3);
    loadRows(ctx, dy, r0, rc, cols, g.addr);
    loadRows(ctx, x, r0, rc, cols, h.addr);
    ib.load(ctx.addr(ln.getMean()) + 4 * uint64_t(r0), mean,
            DmaBox::contiguous(rc), ctx.cls(ln.getMean()));
    ib.load(ctx.addr(ln.getInvStdDev()) + 4 * uint64_t(r0), invstd,
            DmaBox::contiguous(rc), ctx.cls(ln.getInvStdDev()));
    // xhat
    ib.vec(VecFunct::Sub, rc, cols, h, h, perRow(mean));
    ib.vec(VecFunct::Mul, rc, cols, h, h, perRow(invstd));
    // The parameter gradients, accumulated over the chunks.
    ib.vec(r0 ? VecFunct::ColDotAcc : VecFunct::ColDot, rc, cols,
           rowVec(p.vec(kLDScale)), g, h);
    ib.vec(r0 ? VecFunct::ColSumAcc : VecFunct::ColSum, rc, cols,
           rowVec(p.vec(kLDBias)), g);
    // g, its row mean and the row mean of g * xhat.
    ib.vec(VecFunct::Mul, rc, cols, g, g, rowVec(p.vec(kLScale)));
    ib.vec(VecFunct::RowSum, rc, cols, perRow(s1), g);
    ib.vec(VecFunct::RowDot, rc, cols, perRow(s2), g, h);
    ib.vec(VecFunct::MulImm, rc, 1, perRow(s1), perRow(s1), {}, inv);
    ib.vec(VecFunct::MulImm, rc, 1, perRow(s2), perRow(s2), {}, inv);
    ib.vec(VecFunct::Mul, rc, cols, h, h, perRow(s2));
    ib.vec(VecFunct::Sub, rc, cols, g, g, h);
    ib.vec(VecFunct::Sub, rc, cols, g, g, perRow(s1));
    ib.vec(VecFunct::Mul, rc, cols, g, g, perRow(invstd));
    storeRows(ctx, ln.getInputGrad(), r0, rc, cols, g.addr);
  }
  storeVector(ctx, ln.getScaleGrad(), p.vec(kLDScale));
  storeVector(ctx, ln.getBiasGrad(), p.vec(kLDBias));
  return success();
}

} // namespace

void populateNormLowerings(LoweringRegistry &r) {
  r.add(nn::SoftmaxOp::getOperationName(), lowerSoftmax);
  r.add(nn::LayerNormOp::getOperationName(), lowerLayerNorm);
  r.add(nn::LayerNormGradOp::getOperationName(), lowerLayerNormGrad);
  r.add(nn::BatchNormTrainOp::getOperationName(), lowerBatchNormTrain);
  r.add(nn::BatchNormGradOp::getOperationName(), lowerBatchNormGrad);
  r.add(nn::BatchNormInferenceOp::getOperationName(),
        lowerBatchNormInference);
}

} // namespace adagp::accel
