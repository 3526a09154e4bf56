//===- Passes.h - Passes on the nn dialect ----------------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_NN_PASSES_H
#define ADAGP_DIALECT_NN_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace adagp::nn {

#define GEN_PASS_DECL
#include "adagp/Dialect/NN/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "adagp/Dialect/NN/Passes.h.inc"

} // namespace adagp::nn

#endif // ADAGP_DIALECT_NN_PASSES_H
