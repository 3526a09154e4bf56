//===- MLProgramBufferization.cpp - Globals to memref.globals -------------===//
//
// Bufferization of ml_program globals for the CPU back end. Upstream MLIR
// 22 provides models too, but its ml_program.global_store claims not to
// read its operand, so One-Shot Bufferize may let a later operation write
// into the buffer of a value that is still to be stored (seen as an
// optimizer update whose new parameter was overwritten by the new momentum
// before the store). These models are registered before upstream's, which
// are then ignored.
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/CPU/CPUDialect.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {

template <typename Model, typename Op>
struct NoAliasModel : BufferizableOpInterface::ExternalModel<Model, Op> {
  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }
};

/// A global becomes a memref.global with the same initial value (mutable
/// unless the ml_program global is immutable).
struct GlobalModel : NoAliasModel<GlobalModel, ml_program::GlobalOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return false;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  bool hasTensorSemantics(Operation *) const { return true; }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &,
                          BufferizationState &) const {
    auto global = cast<ml_program::GlobalOp>(op);
    if (!global.getValue())
      return global.emitError("a global needs an initial value to be "
                              "compiled");
    auto type = cast<MemRefType>(getMemRefTypeWithStaticIdentityLayout(
        cast<TensorType>(global.getType())));
    replaceOpWithNewBufferizedOp<memref::GlobalOp>(
        rewriter, op, global.getSymName(), global.getSymVisibilityAttr(),
        type, *global.getValue(), !global.getIsMutable(),
        /*alignment=*/rewriter.getI64IntegerAttr(64));
    return success();
  }
};

/// A load is a view of the global's memory, which the program must not
/// write through (stores copy into it).
struct GlobalLoadModel
    : NoAliasModel<GlobalLoadModel, ml_program::GlobalLoadOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return false;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  bool isWritable(Operation *, Value, const AnalysisState &) const {
    return false;
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &,
                          BufferizationState &) const {
    auto load = cast<ml_program::GlobalLoadOp>(op);
    auto type = cast<MemRefType>(getMemRefTypeWithStaticIdentityLayout(
        cast<TensorType>(load.getType())));
    replaceOpWithNewBufferizedOp<memref::GetGlobalOp>(
        rewriter, op, type, load.getGlobalAttr().getLeafReference());
    return success();
  }
};

/// A store copies its operand into the global: it reads the operand.
struct GlobalStoreModel
    : NoAliasModel<GlobalStoreModel, ml_program::GlobalStoreOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto store = cast<ml_program::GlobalStoreOp>(op);
    auto type = cast<MemRefType>(getMemRefTypeWithStaticIdentityLayout(
        cast<TensorType>(store.getValue().getType())));
    Value target = memref::GetGlobalOp::create(
        rewriter, op->getLoc(), type,
        store.getGlobalAttr().getLeafReference());
    FailureOr<Value> source =
        getBuffer(rewriter, store.getValue(), options, state);
    if (failed(source) ||
        failed(options.createMemCpy(rewriter, op->getLoc(), *source, target)))
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void adagp::cpu::registerMLProgramBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, ml_program::MLProgramDialect *) {
    ml_program::GlobalOp::attachInterface<GlobalModel>(*ctx);
    ml_program::GlobalLoadOp::attachInterface<GlobalLoadModel>(*ctx);
    ml_program::GlobalStoreOp::attachInterface<GlobalStoreModel>(*ctx);
    ctx->loadDialect<memref::MemRefDialect>();
  });
}
