//===- PromoteLoopAccumulators.cpp - Accumulators from memory to iter_args ===//
//
// A reduction lowered from linalg to loops reads and writes its accumulator
// in memory on every iteration. LLVM cannot keep it in a register when the
// loop also reads other buffers that it cannot prove distinct (pointers
// passed into OpenMP-outlined functions lose their provenance), so the loop
// stays scalar with a store per element. Here, where the buffers are still
// SSA values, the load and store move out of the loop and the value is
// carried in iter_args.
//
//===----------------------------------------------------------------------===//

#include "adagp/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace adagp {
#define GEN_PASS_DEF_PROMOTELOOPACCUMULATORS
#include "adagp/Transforms/Passes.h.inc"
} // namespace adagp

using namespace mlir;

namespace {

/// What identifies the buffer that `memref` views, or null if it is not
/// known to be distinct from every other identified buffer: an allocation,
/// a global (by name: two memref.get_global of one global are one buffer)
/// or an argument of a public function (distinct buffers by the calling
/// convention that `adagp-annotate-noalias` also relies on).
const void *bufferIdentity(Value memref) {
  while (Operation *def = memref.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      memref = view.getViewSource();
      continue;
    }
    if (isa<memref::AllocOp, memref::AllocaOp>(def))
      return def;
    if (auto global = dyn_cast<memref::GetGlobalOp>(def))
      return global.getNameAttr().getAsOpaquePointer();
    return nullptr;
  }
  // Only a public function's arguments: a private one may be called with a
  // view of a buffer it also reaches another way (as in
  // adagp-annotate-noalias, which marks public functions' arguments only).
  auto arg = cast<BlockArgument>(memref);
  auto function = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  if (function && function.isPublic() &&
      arg.getOwner() == &function.getFunctionBody().front())
    return arg.getAsOpaquePointer();
  return nullptr;
}

/// The buffers `loop` reads or writes, or failure if one is not identified
/// or an operation in it has effects we cannot attribute to a buffer.
FailureOr<SmallVector<std::pair<Operation *, const void *>>>
accessedBuffers(scf::ForOp loop) {
  SmallVector<std::pair<Operation *, const void *>> accesses;
  WalkResult result = loop.getBody()->walk([&](Operation *op) {
    Value memref;
    if (auto load = dyn_cast<memref::LoadOp>(op))
      memref = load.getMemRef();
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      memref = store.getMemRef();
    if (memref) {
      const void *id = bufferIdentity(memref);
      if (!id)
        return WalkResult::interrupt();
      accesses.push_back({op, id});
      return WalkResult::advance();
    }
    if (isMemoryEffectFree(op) ||
        op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  if (result.wasInterrupted())
    return failure();
  return accesses;
}

/// Moves one accumulator of `loop` into its iter_args if it has one: a
/// memref.load and a later memref.store of the same element, both directly
/// in the body, at indices defined outside the loop, of a buffer nothing
/// else in the loop touches. Returns the new loop, or null.
scf::ForOp promoteOne(RewriterBase &rewriter, scf::ForOp loop) {
  auto accesses = accessedBuffers(loop);
  if (failed(accesses))
    return nullptr;
  Block *body = loop.getBody();
  for (auto load : body->getOps<memref::LoadOp>()) {
    if (!llvm::all_of(
            load.getIndices(),
            [&](Value v) { return loop.isDefinedOutsideOfLoop(v); }) ||
        !loop.isDefinedOutsideOfLoop(load.getMemRef()))
      continue;
    memref::StoreOp store;
    for (Operation *op = load->getNextNode(); op; op = op->getNextNode()) {
      auto candidate = dyn_cast<memref::StoreOp>(op);
      if (candidate && candidate.getMemRef() == load.getMemRef() &&
          candidate.getIndices() == load.getIndices()) {
        store = candidate;
        break;
      }
    }
    if (!store)
      continue;
    const void *id = bufferIdentity(load.getMemRef());
    bool alone = llvm::all_of(*accesses, [&](auto access) {
      return access.second != id || access.first == load.getOperation() ||
             access.first == store.getOperation();
    });
    if (!alone)
      continue;
    // Load before the loop, carry the value, store after it.
    rewriter.setInsertionPoint(loop);
    Value initial = memref::LoadOp::create(rewriter, load.getLoc(),
                                           load.getMemRef(), load.getIndices());
    Value stored = store.getValueToStore();
    FailureOr<LoopLikeOpInterface> replaced =
        cast<LoopLikeOpInterface>(loop.getOperation())
            .replaceWithAdditionalYields(
                rewriter, ValueRange{initial},
                /*replaceInitOperandUsesInLoop=*/false,
                [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
                  return SmallVector<Value>{stored};
                });
    if (failed(replaced))
      return nullptr;
    auto newLoop = cast<scf::ForOp>(replaced->getOperation());
    BlockArgument carried = newLoop.getRegionIterArgs().back();
    rewriter.replaceAllUsesWith(load.getResult(), carried);
    rewriter.eraseOp(load);
    rewriter.setInsertionPointAfter(newLoop);
    memref::StoreOp::create(rewriter, store.getLoc(),
                            newLoop.getResults().back(), store.getMemRef(),
                            store.getIndices());
    rewriter.eraseOp(store);
    return newLoop;
  }
  return nullptr;
}

struct PromoteLoopAccumulators
    : adagp::impl::PromoteLoopAccumulatorsBase<PromoteLoopAccumulators> {
  void runOnOperation() override {
    // Innermost loops first, so a promoted accumulator's load and store,
    // now around the inner loop, are found again in the enclosing loop.
    SmallVector<scf::ForOp> loops;
    getOperation()->walk<WalkOrder::PostOrder>(
        [&](scf::ForOp loop) { loops.push_back(loop); });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : loops)
      while (scf::ForOp promoted = promoteOne(rewriter, loop))
        loop = promoted;
  }
};

} // namespace
