//===- SequentializeSmallLoops.cpp - scf.parallel -> scf.for when small ---===//

#include "SequentializeDims.h"
#include "adagp/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace adagp {
#define GEN_PASS_DEF_SEQUENTIALIZESMALLLOOPS
#include "adagp/Transforms/Passes.h.inc"
} // namespace adagp

using namespace mlir;

namespace {

/// The product of the static trip counts of `op`'s loops and of every loop
/// nested in it (the deepest nest), or -1 if one is not static.
int64_t work(Operation *op) {
  int64_t own = 1;
  if (auto parallel = dyn_cast<scf::ParallelOp>(op)) {
    for (auto [lb, ub, step] :
         llvm::zip(parallel.getLowerBound(), parallel.getUpperBound(),
                   parallel.getStep())) {
      auto l = getConstantIntValue(lb), u = getConstantIntValue(ub),
           s = getConstantIntValue(step);
      if (!l || !u || !s || *s <= 0)
        return -1;
      own *= (*u - *l + *s - 1) / *s;
    }
  } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
    auto l = getConstantIntValue(loop.getLowerBound()),
         u = getConstantIntValue(loop.getUpperBound()),
         s = getConstantIntValue(loop.getStep());
    if (!l || !u || !s || *s <= 0)
      return -1;
    own = (*u - *l + *s - 1) / *s;
  }
  int64_t inner = 1;
  for (Region &region : op->getRegions())
    for (Operation &nested : region.getOps()) {
      if (!isa<scf::ParallelOp, scf::ForOp>(nested))
        continue;
      int64_t w = work(&nested);
      if (w < 0)
        return -1;
      inner = std::max(inner, w);
    }
  return own * inner;
}

struct SequentializeSmallLoops
    : adagp::impl::SequentializeSmallLoopsBase<SequentializeSmallLoops> {
  using SequentializeSmallLoopsBase::SequentializeSmallLoopsBase;

  void runOnOperation() override {
    SmallVector<scf::ParallelOp> small;
    getOperation()->walk([&](scf::ParallelOp op) {
      if (op->getParentOfType<scf::ParallelOp>())
        return;
      int64_t w = work(op);
      if (w >= 0 && w < minWork && op.getNumReductions() == 0)
        small.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp op : small)
      adagp::sequentializeTrailingDims(rewriter, op, /*keep=*/0);
  }
};

} // namespace
