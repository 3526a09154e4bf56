//===- Passes.h - Code-generation passes of the pipelines -------*- C++ -*-===//

#ifndef ADAGP_TRANSFORMS_PASSES_H
#define ADAGP_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace adagp {

#define GEN_PASS_DECL
#include "adagp/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "adagp/Transforms/Passes.h.inc"

} // namespace adagp

#endif // ADAGP_TRANSFORMS_PASSES_H
