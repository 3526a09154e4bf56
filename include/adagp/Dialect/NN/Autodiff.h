//===- Autodiff.h - Reverse-mode differentiation ----------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_NN_AUTODIFF_H
#define ADAGP_DIALECT_NN_AUTODIFF_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace adagp::nn {

/// Emits, at `builder`'s insertion point (after every operation that `loss`
/// depends on), the gradient of the scalar `loss` with respect to each
/// value of `wrt`, by reverse-mode differentiation through the
/// DifferentiableOpInterface of the operations in `loss`'s block:
///   - only operations on a path from `wrt` to `loss` are differentiated
///     (activity analysis), and each asks only for the operand gradients
///     that lead back to `wrt`;
///   - gradients of a value used several times are summed (nn.add);
///   - an operation on such a path without a gradient rule is an error
///     naming it.
/// A `wrt` value that `loss` does not depend on gets a null gradient.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
differentiate(mlir::OpBuilder &builder, mlir::Value loss,
              llvm::ArrayRef<mlir::Value> wrt);

} // namespace adagp::nn

#endif // ADAGP_DIALECT_NN_AUTODIFF_H
