//===- GradientUtils.h - Writing gradient rules -----------------*- C++ -*-===//
//
// A gradient rule is a function `LogicalResult rule(OpTy, GradientContext &)`
// that reads the result gradients and sets the operand gradients it can
// compute; `registerRule<OpTy, rule>` attaches it as the operation's
// DifferentiableOpInterface.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_LIB_DIALECT_NN_GRADIENTS_GRADIENTUTILS_H
#define ADAGP_LIB_DIALECT_NN_GRADIENTS_GRADIENTUTILS_H

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace adagp::nn::gradients {

struct GradientContext {
  mlir::OpBuilder &b;
  mlir::Location loc;
  llvm::ArrayRef<mlir::Value> resultGradients;
  llvm::ArrayRef<bool> needed;
  llvm::SmallVectorImpl<mlir::Value> &operandGradients;

  mlir::Value grad(unsigned result = 0) const {
    return resultGradients[result];
  }
  bool need(unsigned operand) const { return needed[operand]; }
  void set(unsigned operand, mlir::Value gradient) {
    if (needed[operand])
      operandGradients[operand] = gradient;
  }
};

using Rule = llvm::function_ref<mlir::LogicalResult(mlir::Operation *,
                                                    GradientContext &)>;

template <typename OpTy, mlir::LogicalResult (*Fn)(OpTy, GradientContext &)>
struct RuleModel
    : DifferentiableOpInterface::ExternalModel<RuleModel<OpTy, Fn>, OpTy> {
  mlir::LogicalResult
  buildGradients(mlir::Operation *op, mlir::OpBuilder &builder,
                 llvm::ArrayRef<mlir::Value> resultGradients,
                 llvm::ArrayRef<bool> needed,
                 llvm::SmallVectorImpl<mlir::Value> &operandGradients) const {
    operandGradients.assign(op->getNumOperands(), mlir::Value());
    GradientContext ctx{builder, op->getLoc(), resultGradients, needed,
                        operandGradients};
    return Fn(mlir::cast<OpTy>(op), ctx);
  }
};

template <typename OpTy, mlir::LogicalResult (*Fn)(OpTy, GradientContext &)>
void registerRule(mlir::MLIRContext *ctx) {
  OpTy::template attachInterface<RuleModel<OpTy, Fn>>(*ctx);
}

inline mlir::RankedTensorType typeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// A zero tensor of `type`.
mlir::Value zeros(mlir::OpBuilder &b, mlir::Location loc,
                  mlir::RankedTensorType type);

/// A scalar (0-d) constant of `element` type, for broadcasting arithmetic.
mlir::Value scalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Type element,
                   double value);

/// Sums `grad` (the gradient of a result broadcast from `type`) over the
/// broadcast dimensions and reshapes it to `type`: the gradient of the
/// operand that was broadcast.
mlir::Value unbroadcast(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value grad, mlir::RankedTensorType type);

/// Reshapes when the types differ.
mlir::Value reshape(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                    mlir::RankedTensorType type);

/// Registration of each family's rules.
void registerElementwiseRules(mlir::MLIRContext *ctx);
void registerLinearRules(mlir::MLIRContext *ctx);
void registerPoolingRules(mlir::MLIRContext *ctx);
void registerNormalizationRules(mlir::MLIRContext *ctx);
void registerShapeRules(mlir::MLIRContext *ctx);
void registerReductionRules(mlir::MLIRContext *ctx);

} // namespace adagp::nn::gradients

#endif // ADAGP_LIB_DIALECT_NN_GRADIENTS_GRADIENTUTILS_H
