//===- CPUDialect.h - Calls into adagp's CPU kernel library -----*- C++ -*-===//

#ifndef ADAGP_DIALECT_CPU_CPUDIALECT_H
#define ADAGP_DIALECT_CPU_CPUDIALECT_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "adagp/Dialect/CPU/CPUOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "adagp/Dialect/CPU/CPUOps.h.inc"

namespace mlir {
class DialectRegistry;
}

namespace adagp::cpu {
/// Registers the bufferization of cpu.kernel_call into a function call.
void registerBufferizableOpInterfaceExternalModels(
    mlir::DialectRegistry &registry);

/// Registers adagp's bufferization of ml_program globals. Must come before
/// mlir::registerAllExtensions, whose models it replaces.
void registerMLProgramBufferization(mlir::DialectRegistry &registry);
} // namespace adagp::cpu

#endif // ADAGP_DIALECT_CPU_CPUDIALECT_H
