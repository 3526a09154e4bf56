//===- TrainDialect.h - Losses and optimizers -------------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_TRAIN_TRAINDIALECT_H
#define ADAGP_DIALECT_TRAIN_TRAINDIALECT_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "adagp/Dialect/Train/TrainOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "adagp/Dialect/Train/TrainOps.h.inc"

namespace mlir {
class DialectRegistry;
}

namespace adagp::train {
/// Registers the gradient rules of the losses.
void registerGradientInterfaces(mlir::DialectRegistry &registry);
} // namespace adagp::train

#endif // ADAGP_DIALECT_TRAIN_TRAINDIALECT_H
