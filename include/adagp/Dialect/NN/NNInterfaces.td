//===- NNInterfaces.td - Interfaces of the nn dialect ------*- tablegen -*-===//

#ifndef ADAGP_DIALECT_NN_NNINTERFACES_TD
#define ADAGP_DIALECT_NN_NNINTERFACES_TD

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::adagp::nn";
  let description = [{
    An operation that reverse-mode differentiation can pass through. Given the
    gradients of the loss with respect to the operation's results, it builds
    the gradients with respect to its operands (a vector-Jacobian product) out
    of `nn` operations, next to the operation.

    The contract follows ONNX Runtime Training's gradient builders:
    - `resultGradients` has one entry per result; a null entry means no
      gradient flows into that result (it is unused or inactive) and counts
      as zero. At least one entry is non-null.
    - `needed` has one entry per operand: whether the caller wants that
      operand's gradient (activity analysis: an input image or a constant
      needs none). Builders skip the work for the others.
    - `operandGradients` gets one entry per operand; a null entry means the
      operand takes no gradient (not needed, integer operands, running
      statistics, RNG keys, or `isDifferentiableOperand` is false).
    - The builder never reads state other than the operation's operands and
      results, so the caller may erase the forward operation's users.
  }];
  let methods = [
    InterfaceMethod<
      "Whether operand `index` can receive a gradient.",
      "bool", "isDifferentiableOperand", (ins "unsigned":$index), [{}], [{
        return ::llvm::isa<::mlir::FloatType>(
            ::mlir::getElementTypeOrSelf($_op->getOperand(index).getType()));
      }]>,
    InterfaceMethod<
      "Builds the operand gradients from the result gradients.",
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ArrayRef<::mlir::Value>":$resultGradients,
           "::mlir::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGradients)>,
  ];
}

#endif // ADAGP_DIALECT_NN_NNINTERFACES_TD
