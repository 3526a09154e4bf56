//===- SequentializeDims.h - scf.parallel dims to scf.for -------*- C++ -*-===//

#ifndef ADAGP_LIB_TRANSFORMS_SEQUENTIALIZEDIMS_H
#define ADAGP_LIB_TRANSFORMS_SEQUENTIALIZEDIMS_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace adagp {

/// Replaces `op`, an scf.parallel without reductions, by an scf.parallel
/// over its first `keep` dimensions (none if `keep` is 0) around nested
/// scf.for loops over the others, in the same order, with the body moved
/// in. Used by --adagp-sequentialize-small-loops (keep = 0) and
/// --adagp-sequentialize-inner-dims.
void sequentializeTrailingDims(mlir::RewriterBase &rewriter,
                               mlir::scf::ParallelOp op, unsigned keep);

} // namespace adagp

#endif // ADAGP_LIB_TRANSFORMS_SEQUENTIALIZEDIMS_H
