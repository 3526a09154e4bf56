//===- Passes.h - Conversion passes -----------------------------*- C++ -*-===//

#ifndef ADAGP_CONVERSION_PASSES_H
#define ADAGP_CONVERSION_PASSES_H

#include "adagp/Dialect/CPU/CPUDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace adagp {

#define GEN_PASS_DECL
#include "adagp/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "adagp/Conversion/Passes.h.inc"

} // namespace adagp

#endif // ADAGP_CONVERSION_PASSES_H
