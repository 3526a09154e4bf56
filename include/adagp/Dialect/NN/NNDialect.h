//===- NNDialect.h - The nn dialect -----------------------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_NN_NNDIALECT_H
#define ADAGP_DIALECT_NN_NNDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Dialect.h"

#include "adagp/Dialect/NN/NNOpsDialect.h.inc"

#endif // ADAGP_DIALECT_NN_NNDIALECT_H
