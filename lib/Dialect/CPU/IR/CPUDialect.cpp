//===- CPUDialect.cpp - Calls into adagp's CPU kernel library -------------===//

#include "adagp/Dialect/CPU/CPUDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace adagp::cpu;

#include "adagp/Dialect/CPU/CPUOpsDialect.cpp.inc"

void CPUDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "adagp/Dialect/CPU/CPUOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "adagp/Dialect/CPU/CPUOps.cpp.inc"
