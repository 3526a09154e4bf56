//===- LowerMatmul.cpp - Matrix products on the array ---------------------===//
//
// nn.gemm (and 2-D nn.matmul) through the implicit-GEMM engine. Operands
// are row-major in DRAM; a transposed operand is loaded as it is stored and
// read transposed by the array (`ta`/`tb`), so no transposition ever goes
// through DRAM. `alpha`, `beta` and the bias are an epilogue on the
// accumulator tile.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;

namespace adagp::accel {
namespace {

struct MatmulOperands {
  Value a, b, c;
  bool transA = false, transB = false;
  double alpha = 1, beta = 1;
};

LogicalResult lowerMatmulLike(Operation *op, LoweringContext &ctx,
                              const MatmulOperands &mo) {
  auto aType = cast<RankedTensorType>(mo.a.getType());
  auto bType = cast<RankedTensorType>(mo.b.getType());
  Value result = op->getResult(0);
  if (aType.getRank() != 2 || bType.getRank() != 2)
    return op->emitError("only 2-D matrix products are supported on the "
                         "accelerator");
  for (Value v : {mo.a, mo.b, result})
    if (!ctx.layout(v).empty())
      return op->emitError("matrix operands must be stored row-major");
  int64_t m = mo.transA ? aType.getDimSize(1) : aType.getDimSize(0);
  int64_t k = mo.transA ? aType.getDimSize(0) : aType.getDimSize(1);
  int64_t n = mo.transB ? bType.getDimSize(0) : bType.getDimSize(1);
  uint64_t aAddr = ctx.addr(mo.a), bAddr = ctx.addr(mo.b),
           cAddr = ctx.addr(result);
  isa::TensorClass aCls = ctx.cls(mo.a), bCls = ctx.cls(mo.b),
                   cCls = ctx.cls(result);
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
  p.storeC = [&](InstBuilder &ib, const Span &mb, const Span &nb,
                 int64_t acc, int64_t ldc, int64_t scratch) {
    View cv{acc, ldc, 1};
    if (mo.alpha != 1.0)
      ib.vec(isa::VecFunct::MulImm, mb.size, nb.size, cv, cv, {},
             float(mo.alpha));
    if (mo.c) {
      // The bias block goes to the free scratchpad; a full [M, N] bias is
      // added a row chunk at a time so that it fits.
      int64_t rowsAtOnce = biasRowStride == 0
                               ? mb.size
                               : std::max<int64_t>(
                                     1, std::min<int64_t>(
                                            mb.size,
                                            (ctx.spadElems() - scratch) /
                                                std::max<int64_t>(1, nb.size)));
      for (int64_t r0 = 0; r0 < mb.size; r0 += rowsAtOnce) {
        int64_t rc = std::min(rowsAtOnce, mb.size - r0);
        int64_t lr = biasRowStride ? rc : 1, lc = biasColStride ? nb.size : 1;
        DmaBox box;
        box.dim[0] = {lc, 0, 0, biasColStride, 1};
        box.dim[1] = {lr, 0, 0, biasRowStride, lc};
        ib.load(biasAddr + 4 * uint64_t((mb.begin + r0) * biasRowStride +
                                        nb.begin * biasColStride),
                scratch, box, biasCls);
        View bias{scratch, biasRowStride ? lc : 0, biasColStride ? 1 : 0};
        View rows{acc + r0 * ldc, ldc, 1};
        ib.vec(isa::VecFunct::Axpy, rc, nb.size, rows, bias, rows,
               float(mo.beta));
      }
    }
    ib.store(cAddr + 4 * uint64_t(mb.begin * n + nb.begin), acc,
             DmaBox::rows(mb.size, nb.size, n, ldc), cCls);
  };
  return emitGemm(ctx.ib, p, ctx.cfg, op);
}

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
