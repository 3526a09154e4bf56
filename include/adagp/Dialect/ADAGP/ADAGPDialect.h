//===- ADAGPDialect.h - Adaptive gradient prediction ------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_ADAGP_ADAGPDIALECT_H
#define ADAGP_DIALECT_ADAGP_ADAGPDIALECT_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "adagp/Dialect/ADAGP/ADAGPOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "adagp/Dialect/ADAGP/ADAGPOps.h.inc"

#endif // ADAGP_DIALECT_ADAGP_ADAGPDIALECT_H
