//===- AnnotateNoAlias.cpp - Tell LLVM that buffers do not alias ----------===//

#include "adagp/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace adagp {
#define GEN_PASS_DEF_ANNOTATENOALIAS
#include "adagp/Transforms/Passes.h.inc"
} // namespace adagp

using namespace mlir;

namespace {
struct AnnotateNoAlias : adagp::impl::AnnotateNoAliasBase<AnnotateNoAlias> {
  void runOnOperation() override {
    UnitAttr unit = UnitAttr::get(&getContext());
    StringRef noalias = LLVM::LLVMDialect::getNoAliasAttrName();
    for (auto func : getOperation().getOps<LLVM::LLVMFuncOp>()) {
      StringRef name = func.getName();
      bool allocator = name == "malloc" || name == "aligned_alloc" ||
                       name == "_mlir_memref_to_llvm_alloc" ||
                       name == "_mlir_memref_to_llvm_aligned_alloc";
      if (allocator && func.isExternal()) {
        func.setResultAttr(0, noalias, unit);
        continue;
      }
      if (func.isExternal() || func.isPrivate() ||
          func.getLinkage() == LLVM::Linkage::Internal)
        continue;
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        if (isa<LLVM::LLVMPointerType>(func.getArgument(i).getType()))
          func.setArgAttr(i, noalias, unit);
    }
  }
};
} // namespace
