//===- SequentializeInnerDims.cpp - Parallel outer dims, scf.for inner ----===//
//
// Keeps the leading dimensions of an scf.parallel loop parallel and turns
// the rest into nested scf.for loops, so that the OpenMP lowering does not
// collapse the innermost, unit-stride dimension into a flat index (which
// defeats LLVM's loop vectoriser).
//
//===----------------------------------------------------------------------===//

#include "SequentializeDims.h"
#include "adagp/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace adagp {
#define GEN_PASS_DEF_SEQUENTIALIZEINNERDIMS
#include "adagp/Transforms/Passes.h.inc"
} // namespace adagp

using namespace mlir;

namespace {

/// How many leading dimensions of `op` to keep parallel: the fewest whose
/// static trip counts multiply to at least `minParallel` (all of them if
/// they never do), or 0 if a trip count is not static.
unsigned parallelDims(scf::ParallelOp op, int64_t minParallel) {
  int64_t product = 1;
  unsigned dims = 0;
  for (auto [lb, ub, step] :
       llvm::zip(op.getLowerBound(), op.getUpperBound(), op.getStep())) {
    auto l = getConstantIntValue(lb), u = getConstantIntValue(ub),
         s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0)
      return 0;
    if (product >= minParallel)
      return dims;
    product *= (*u - *l + *s - 1) / *s;
    ++dims;
  }
  return dims;
}

struct SequentializeInnerDims
    : adagp::impl::SequentializeInnerDimsBase<SequentializeInnerDims> {
  using SequentializeInnerDimsBase::SequentializeInnerDimsBase;

  void runOnOperation() override {
    SmallVector<std::pair<scf::ParallelOp, unsigned>> work;
    getOperation()->walk([&](scf::ParallelOp op) {
      if (op.getNumReductions() != 0 || op.getNumLoops() < 2)
        return;
      unsigned keep = parallelDims(op, minParallel);
      if (keep > 0 && keep < op.getNumLoops())
        work.push_back({op, keep});
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, keep] : work)
      adagp::sequentializeTrailingDims(rewriter, op, keep);
  }
};

} // namespace
