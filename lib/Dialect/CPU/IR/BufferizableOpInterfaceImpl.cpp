//===- BufferizableOpInterfaceImpl.cpp - cpu.kernel_call to a call --------===//
//
// cpu.kernel_call reads all its operands and writes fresh results, so its
// bufferization allocates the results and calls the kernel on buffers. The
// kernels take dense row-major data, so an operand that bufferizes to a
// strided view (a slice of a larger buffer) is copied to a dense buffer
// first.
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/CPU/CPUDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace adagp::cpu;

namespace {

/// The runtime function a call op bufferizes to, and its scalar
/// parameters.
ArrayRef<int64_t> intParams(KernelCallOp op) { return op.getParams(); }
ArrayRef<int64_t> intParams(HostCallOp) { return {}; }
ArrayRef<double> floatParams(KernelCallOp op) { return op.getFparams(); }
ArrayRef<double> floatParams(HostCallOp) { return {}; }
std::string calleeName(KernelCallOp op) {
  return ("adagp_" + op.getKernel()).str();
}
std::string calleeName(HostCallOp op) {
  return ("adagp_host_" + op.getFunction()).str();
}

template <typename CallOp>
struct RuntimeCallModel
    : BufferizableOpInterface::ExternalModel<RuntimeCallModel<CallOp>,
                                             CallOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }
  bool bufferizesToAllocation(Operation *, Value) const { return true; }

  FailureOr<BufferLikeType>
  getBufferType(Operation *op, Value value, const BufferizationOptions &,
                const BufferizationState &, SmallVector<Value> &) const {
    return cast<BufferLikeType>(getMemRefTypeWithStaticIdentityLayout(
        cast<TensorType>(value.getType())));
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto call = cast<CallOp>(op);
    Location loc = op->getLoc();
    SmallVector<Value> args;
    for (Value input : call.getInputs()) {
      FailureOr<Value> buffer = getBuffer(rewriter, input, options, state);
      if (failed(buffer))
        return failure();
      auto type = cast<MemRefType>(buffer->getType());
      if (!type.getLayout().isIdentity()) {
        auto dense = MemRefType::get(type.getShape(), type.getElementType());
        FailureOr<Value> copy = options.createAlloc(rewriter, loc, dense, {});
        if (failed(copy) ||
            failed(options.createMemCpy(rewriter, loc, *buffer, *copy)))
          return failure();
        buffer = copy;
      }
      args.push_back(*buffer);
    }
    SmallVector<Value> results;
    for (Value result : call.getResults()) {
      auto type = cast<MemRefType>(getMemRefTypeWithStaticIdentityLayout(
          cast<TensorType>(result.getType())));
      FailureOr<Value> alloc = options.createAlloc(rewriter, loc, type, {});
      if (failed(alloc))
        return failure();
      results.push_back(*alloc);
      args.push_back(*alloc);
    }
    // Kernels take plain pointers: pass each buffer's aligned address as an
    // i64 (ABI-compatible with a pointer argument on 64-bit targets), so
    // one declaration serves every shape.
    SmallVector<Value> operands;
    for (Value buffer : args) {
      Value address =
          memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, buffer);
      operands.push_back(arith::IndexCastOp::create(
          rewriter, loc, rewriter.getI64Type(), address));
    }
    args = std::move(operands);
    for (int64_t p : intParams(call))
      args.push_back(arith::ConstantIntOp::create(rewriter, loc, p, 64));
    for (double p : floatParams(call))
      args.push_back(arith::ConstantFloatOp::create(
          rewriter, loc, rewriter.getF64Type(), APFloat(p)));

    // Declare the kernel once per module.
    std::string name = calleeName(call);
    auto module = op->getParentOfType<ModuleOp>();
    auto callee = module.lookupSymbol<func::FuncOp>(name);
    auto type = rewriter.getFunctionType(ValueRange(args).getTypes(), {});
    if (!callee) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      callee = func::FuncOp::create(rewriter, loc, name, type);
      callee.setPrivate();
    } else if (callee.getFunctionType() != type) {
      return op->emitError("kernel ")
             << name << " is called with two signatures: "
             << callee.getFunctionType() << " and " << type;
    }
    // The buffers must stay alive until the call, which only sees their
    // addresses: deallocation happens at the end of the block.
    func::CallOp::create(rewriter, loc, callee, args);
    replaceOpWithBufferizedValues(rewriter, op, results);
    return success();
  }
};

} // namespace

void adagp::cpu::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, CPUDialect *) {
    KernelCallOp::attachInterface<RuntimeCallModel<KernelCallOp>>(*ctx);
    HostCallOp::attachInterface<RuntimeCallModel<HostCallOp>>(*ctx);
    ctx->loadDialect<arith::ArithDialect, func::FuncDialect,
                     memref::MemRefDialect>();
  });
}
