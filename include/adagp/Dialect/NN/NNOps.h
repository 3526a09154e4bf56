//===- NNOps.h - Operations of the nn dialect -------------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_NN_NNOPS_H
#define ADAGP_DIALECT_NN_NNOPS_H

#include "adagp/Dialect/NN/NNDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "adagp/Dialect/NN/NNInterfaces.h.inc"

#define GET_OP_CLASSES
#include "adagp/Dialect/NN/NNOps.h.inc"

namespace adagp::nn {

/// The NumPy broadcast of two shapes, or failure if they do not broadcast.
llvm::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs);

/// Output size of one spatial dimension of a convolution or pooling window.
/// Returns a value < 1 when the window does not fit.
int64_t windowOutputSize(int64_t input, int64_t kernel, int64_t stride,
                         int64_t padBegin, int64_t padEnd, int64_t dilation,
                         bool ceilMode);

/// Registers the gradient rules (DifferentiableOpInterface external models)
/// of every nn operation.
void registerGradientInterfaces(mlir::DialectRegistry &registry);

} // namespace adagp::nn

#endif // ADAGP_DIALECT_NN_NNOPS_H
