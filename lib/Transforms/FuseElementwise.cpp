//===- FuseElementwise.cpp - Fusion without recomputation -----------------===//

#include "adagp/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace adagp {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "adagp/Transforms/Passes.h.inc"
} // namespace adagp

using namespace mlir;

namespace {
struct FuseElementwise : adagp::impl::FuseElementwiseBase<FuseElementwise> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *operand) {
          auto consumer = dyn_cast<linalg::GenericOp>(operand->getOwner());
          auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
          if (!consumer || !producer)
            return false;
          // Only element-for-element reads: a broadcast would recompute the
          // producer for every element of the consumer.
          return consumer.getMatchingIndexingMap(operand).isPermutation();
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
