//===- LowerMatmul.cpp - Matrix products on the array ---------------------===//
//
// nn.gemm and nn.matmul through the implicit-GEMM engine. Operands are
// row-major in DRAM; a transposed operand is loaded as it is stored and
// read transposed by the array (`ta`/`tb`), so no transposition ever goes
// through DRAM. `alpha`, `beta` and the bias are an epilogue on the
// accumulator tile, and so is an nn.relu or nn.add that is the product's
// only user (`epilogueCandidate`): the tile is stored once, as that op's
// result, instead of being stored, loaded, changed and stored again.
//
// A batched nn.matmul is a sequence of 2-D products, one per batch index,
// at offsets that follow the broadcasting (a broadcast operand's offset does
// not move along that batch dimension). When the right operand is one
// matrix for every batch index (a linear layer applied to [batch, tokens,
// features]), the left operand's batch dimensions fold into its rows
// instead: one product with M = batch * tokens.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"

using namespace mlir;

namespace adagp::accel {

Operation *epilogueCandidate(Operation *gemm) {
  if (!llvm::isa<nn::GemmOp, nn::Conv2DOp>(gemm))
    return nullptr;
  Value product = gemm->getResult(0);
  auto type = cast<RankedTensorType>(product.getType());
  if (!type.getElementType().isF32() || !product.hasOneUse())
    return nullptr;
  Operation *user = *product.getUsers().begin();
  if (user->getBlock() != gemm->getBlock() ||
      user->getResult(0).getType() != type)
    return nullptr;
  // A convolution's epilogue is a ReLU only.
  if (llvm::isa<nn::Conv2DOp>(gemm) && !llvm::isa<nn::ReluOp>(user))
    return nullptr;
  if (llvm::isa<nn::AddOp>(user)) {
    Value other = user->getOperand(0) == product ? user->getOperand(1)
                                                 : user->getOperand(0);
    if (other == product || other.getType() != type)
      return nullptr;
    // The addend must exist when the product runs.
    Operation *def = other.getDefiningOp();
    if (def && !llvm::isa<ml_program::GlobalLoadOp>(def) &&
        !(def->getBlock() == gemm->getBlock() && def->isBeforeInBlock(gemm)))
      return nullptr;
  } else if (!llvm::isa<nn::ReluOp>(user)) {
    return nullptr;
  }
  // Nothing in between may allocate DRAM: a region it frees could become
  // the user's result region, written early by the epilogue.
  for (Operation *op = gemm->getNextNode(); op != user; op = op->getNextNode())
    if (!op || !llvm::isa<ml_program::GlobalLoadOp, arith::ConstantOp>(op))
      return nullptr;
  return user;
}

Operation *fusedEpilogue(Operation *gemm, LoweringContext &ctx) {
  Operation *user = epilogueCandidate(gemm);
  if (!user)
    return nullptr;
  // A convolution on the array stores its tile in the result's order; one
  // on the vector unit (depthwise) has no epilogue.
  if (llvm::isa<nn::Conv2DOp>(gemm)) {
    ConvGeometry g;
    if (failed(getConvGeometry(gemm, g)) || depthwiseOnVectorUnit(g, ctx.cfg))
      return nullptr;
    return ctx.layout(user->getResult(0)) == ctx.layout(gemm->getResult(0))
               ? user
               : nullptr;
  }
  auto rowMajor = [&](Value v) {
    for (auto [i, d] : llvm::enumerate(ctx.layout(v)))
      if (int64_t(i) != d)
        return false;
    return true;
  };
  for (Value v : user->getOperands())
    if (!rowMajor(v))
      return nullptr;
  return rowMajor(user->getResult(0)) ? user : nullptr;
}

namespace {

/// The 2-D products of a (possibly batched) matrix product.
struct Batches {
  int64_t m = 1, k = 1, n = 1;
  /// Element offsets of A, B and C per product.
  SmallVector<std::array<int64_t, 3>> offsets;
};

FailureOr<Batches> planBatches(Operation *op, Value a, Value b, bool ta,
                               bool tb) {
  auto at = cast<RankedTensorType>(a.getType());
  auto bt = cast<RankedTensorType>(b.getType());
  auto ct = cast<RankedTensorType>(op->getResult(0).getType());
  if (at.getRank() < 2 || bt.getRank() < 2)
    return op->emitError("matrix products need operands of rank 2 or more "
                         "on the accelerator");
  Batches r;
  int64_t ra = at.getRank(), rb = bt.getRank(), rc = ct.getRank();
  r.m = ta ? at.getDimSize(ra - 1) : at.getDimSize(ra - 2);
  r.k = ta ? at.getDimSize(ra - 2) : at.getDimSize(ra - 1);
  r.n = tb ? bt.getDimSize(rb - 2) : bt.getDimSize(rb - 1);
  int64_t batches = 1;
  for (int64_t i = 0; i < rc - 2; ++i)
    batches *= ct.getDimSize(i);
  int64_t bBatches = 1;
  for (int64_t i = 0; i < rb - 2; ++i)
    bBatches *= bt.getDimSize(i);
  int64_t aBatches = 1;
  for (int64_t i = 0; i < ra - 2; ++i)
    aBatches *= at.getDimSize(i);
  if (!ta && bBatches == 1 && aBatches == batches) {
    // One B for all: A's batch rows are consecutive rows of one matrix.
    r.m *= batches;
    r.offsets.push_back({0, 0, 0});
    return r;
  }
  // Strides of each operand along the result's batch dimensions (0 where
  // it broadcasts).
  auto strides = [&](RankedTensorType t) {
    SmallVector<int64_t> st(rc - 2, 0);
    int64_t r2 = t.getRank(), s = t.getDimSize(r2 - 1) * t.getDimSize(r2 - 2);
    for (int64_t i = r2 - 3, j = rc - 3; i >= 0 && j >= 0; --i, --j) {
      if (t.getDimSize(i) != 1)
        st[j] = s;
      s *= t.getDimSize(i);
    }
    return st;
  };
  SmallVector<int64_t> sa = strides(at), sb = strides(bt), sc = strides(ct);
  for (int64_t idx = 0; idx < batches; ++idx) {
    std::array<int64_t, 3> off = {0, 0, 0};
    int64_t rest = idx;
    for (int64_t j = rc - 3; j >= 0; --j) {
      int64_t i = rest % ct.getDimSize(j);
      rest /= ct.getDimSize(j);
      off[0] += i * sa[j];
      off[1] += i * sb[j];
      off[2] += i * sc[j];
    }
    r.offsets.push_back(off);
  }
  return r;
}

struct MatmulOperands {
  Value a, b, c;
  bool transA = false, transB = false;
  double alpha = 1, beta = 1;
  /// The nn.relu or nn.add applied in the epilogue (its result is stored
  /// instead of the product), or null.
  Operation *epilogue = nullptr;
};

LogicalResult lowerMatmulLike(Operation *op, LoweringContext &ctx,
                              const MatmulOperands &mo) {
  Value result = op->getResult(0);
  FailureOr<Batches> batches =
      planBatches(op, mo.a, mo.b, mo.transA, mo.transB);
  if (failed(batches))
    return failure();
  for (Value v : {mo.a, mo.b, result}) {
    ArrayRef<int64_t> layout = ctx.layout(v);
    for (auto [i, d] : llvm::enumerate(layout))
      if (int64_t(i) != d)
        return op->emitError("matrix operands must be stored row-major");
  }
  int64_t m = batches->m, k = batches->k, n = batches->n;
  uint64_t aAddr = 0, bAddr = 0, cAddr = 0, addendAddr = 0;
  isa::TensorClass aCls = ctx.cls(mo.a), bCls = ctx.cls(mo.b);
  // The bias: a row vector [N] / [1, N], a column [M, 1], a full [M, N], or
  // a scalar.
  int64_t biasRowStride = 0, biasColStride = 0;
  uint64_t biasAddr = 0;
  isa::TensorClass biasCls = isa::TensorClass::Weight;
  if (mo.c) {
    auto cType = cast<RankedTensorType>(mo.c.getType());
    SmallVector<int64_t> shape(2 - std::min<int64_t>(2, cType.getRank()), 1);
    shape.append(cType.getShape().begin(), cType.getShape().end());
    if (shape.size() != 2)
      return op->emitError("bias of rank > 2");
    biasRowStride = shape[0] == 1 ? 0 : shape[1];
    biasColStride = shape[1] == 1 ? 0 : 1;
    biasAddr = ctx.addr(mo.c);
    biasCls = ctx.cls(mo.c);
  }

  GemmProblem p;
  p.shape = matmulShape(m, k, n);
  p.kMajorA = mo.transA;
  p.nMajorB = mo.transB;
  if (!readTile(op, p.tile)) {
    std::string why;
    if (!chooseGemmTile(p.shape, ctx.cfg, p.tile, why))
      return op->emitError("does not fit the accelerator: ") << why;
  }
  p.loadA = [&](InstBuilder &ib, const Span &mb, const Span &kb,
                int64_t chip, int64_t ld) {
    if (!mo.transA)
      ib.load(aAddr + 4 * uint64_t(mb.begin * k + kb.begin), chip,
              DmaBox::rows(mb.size, kb.size, k, ld), aCls);
    else
      ib.load(aAddr + 4 * uint64_t(kb.begin * m + mb.begin), chip,
              DmaBox::rows(kb.size, mb.size, m, ld), aCls);
  };
  p.loadB = [&](InstBuilder &ib, const Span &kb, const Span &nb,
                int64_t chip, int64_t ld) {
    if (!mo.transB)
      ib.load(bAddr + 4 * uint64_t(kb.begin * n + nb.begin), chip,
              DmaBox::rows(kb.size, nb.size, n, ld), bCls);
    else
      ib.load(bAddr + 4 * uint64_t(nb.begin * k + kb.begin), chip,
              DmaBox::rows(nb.size, kb.size, k, ld), bCls);
  };
  // A full [M, N] addend (the bias or the epilogue's nn.add operand) is
  // loaded into the free scratchpad a row chunk at a time, so that it
  // fits, and added to the accumulator tile times `factor`.
  auto addBlock = [&](InstBuilder &ib, const Span &mb, const Span &nb,
                      int64_t acc, int64_t ldc, int64_t scratch, uint64_t addr,
                      int64_t rowStride, int64_t colStride,
                      isa::TensorClass cls, float factor) {
    int64_t rowsAtOnce =
        rowStride == 0
            ? mb.size
            : std::max<int64_t>(
                  1, std::min<int64_t>(mb.size,
                                       (ctx.spadElems() - scratch) /
                                           std::max<int64_t>(1, nb.size)));
    for (int64_t r0 = 0; r0 < mb.size; r0 += rowsAtOnce) {
      int64_t rc = std::min(rowsAtOnce, mb.size - r0);
      int64_t lr = rowStride ? rc : 1, lc = colStride ? nb.size : 1;
      DmaBox box;
      box.dim[0] = {lc, 0, 0, colStride, 1};
      box.dim[1] = {lr, 0, 0, rowStride, lc};
      ib.load(addr + 4 * uint64_t((mb.begin + r0) * rowStride +
                                  nb.begin * colStride),
              scratch, box, cls);
      View block{scratch, rowStride ? lc : 0, colStride ? 1 : 0};
      View rows{acc + r0 * ldc, ldc, 1};
      ib.vec(isa::VecFunct::Axpy, rc, nb.size, rows, block, rows, factor);
    }
  };
  Value stored = mo.epilogue ? mo.epilogue->getResult(0) : result;
  Value addend;
  if (mo.epilogue && llvm::isa<nn::AddOp>(mo.epilogue))
    addend = mo.epilogue->getOperand(0) == result ? mo.epilogue->getOperand(1)
                                                  : mo.epilogue->getOperand(0);
  p.storeC = [&](InstBuilder &ib, const Span &mb, const Span &nb,
                 int64_t acc, int64_t ldc, int64_t scratch) {
    View cv{acc, ldc, 1};
    if (mo.alpha != 1.0)
      ib.vec(isa::VecFunct::MulImm, mb.size, nb.size, cv, cv, {},
             float(mo.alpha));
    if (mo.c)
      addBlock(ib, mb, nb, acc, ldc, scratch, biasAddr, biasRowStride,
               biasColStride, biasCls, float(mo.beta));
    if (addend)
      addBlock(ib, mb, nb, acc, ldc, scratch, addendAddr, n, 1, ctx.cls(addend),
               1.0f);
    else if (mo.epilogue)
      ib.vec(isa::VecFunct::Relu, mb.size, nb.size, cv, cv);
    ib.store(cAddr + 4 * uint64_t(mb.begin * n + nb.begin), acc,
             DmaBox::rows(mb.size, nb.size, n, ldc), ctx.cls(stored));
  };
  for (const std::array<int64_t, 3> &off : batches->offsets) {
    aAddr = ctx.addr(mo.a) + 4 * uint64_t(off[0]);
    bAddr = ctx.addr(mo.b) + 4 * uint64_t(off[1]);
    cAddr = ctx.addr(stored) + 4 * uint64_t(off[2]);
    if (addend)
      addendAddr = ctx.addr(addend) + 4 * uint64_t(off[2]);
    if (failed(emitGemm(ctx.ib, p, ctx.cfg, op)))
      return failure();
  }
  return success();
}

} // namespace

FailureOr<GemmShape> matmulGemmShape(Operation *op) {
  if (auto g = dyn_cast<nn::GemmOp>(op)) {
    FailureOr<Batches> b =
        planBatches(op, g.getA(), g.getB(), g.getTransA(), g.getTransB());
    if (failed(b))
      return failure();
    return matmulShape(b->m, b->k, b->n);
  }
  auto mm = cast<nn::MatMulOp>(op);
  FailureOr<Batches> b =
      planBatches(op, mm.getLhs(), mm.getRhs(), false, false);
  if (failed(b))
    return failure();
  return matmulShape(b->m, b->k, b->n);
}

namespace {

LogicalResult lowerGemm(Operation *op, LoweringContext &ctx) {
  auto g = cast<nn::GemmOp>(op);
  MatmulOperands mo;
  mo.a = g.getA();
  mo.b = g.getB();
  mo.c = g.getC();
  mo.transA = g.getTransA();
  mo.transB = g.getTransB();
  mo.alpha = g.getAlpha().convertToDouble();
  mo.beta = g.getBeta().convertToDouble();
  mo.epilogue = fusedEpilogue(op, ctx);
  return lowerMatmulLike(op, ctx, mo);
}

LogicalResult lowerMatmul(Operation *op, LoweringContext &ctx) {
  auto mm = cast<nn::MatMulOp>(op);
  MatmulOperands mo;
  mo.a = mm.getLhs();
  mo.b = mm.getRhs();
  return lowerMatmulLike(op, ctx, mo);
}

} // namespace

void populateMatmulLowerings(LoweringRegistry &r) {
  r.add(nn::GemmOp::getOperationName(), lowerGemm);
  r.add(nn::MatMulOp::getOperationName(), lowerMatmul);
}

} // namespace adagp::accel
