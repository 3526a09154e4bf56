//===- SequentializeDims.cpp - scf.parallel dims to scf.for ---------------===//

#include "SequentializeDims.h"

using namespace mlir;

void adagp::sequentializeTrailingDims(RewriterBase &rewriter,
                                      scf::ParallelOp op, unsigned keep) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  SmallVector<Value> ivs;
  if (keep > 0) {
    auto outer = scf::ParallelOp::create(
        rewriter, loc, op.getLowerBound().take_front(keep),
        op.getUpperBound().take_front(keep), op.getStep().take_front(keep));
    llvm::append_range(ivs, outer.getInductionVars());
    rewriter.setInsertionPoint(outer.getBody()->getTerminator());
  }
  for (unsigned d = keep; d < op.getNumLoops(); ++d) {
    auto loop = scf::ForOp::create(rewriter, loc, op.getLowerBound()[d],
                                   op.getUpperBound()[d], op.getStep()[d]);
    ivs.push_back(loop.getInductionVar());
    rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  }
  Block *body = op.getBody();
  // The body ends in an scf.reduce with no operands (no reductions): the new
  // loops have terminators of their own.
  rewriter.eraseOp(body->getTerminator());
  rewriter.inlineBlockBefore(body, rewriter.getInsertionBlock(),
                             rewriter.getInsertionPoint(), ivs);
  rewriter.eraseOp(op);
}
