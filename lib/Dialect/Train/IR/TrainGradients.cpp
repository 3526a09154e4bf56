//===- TrainGradients.cpp - Gradients of the losses -----------------------===//

#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace adagp;

namespace {

struct SoftmaxCrossEntropyGradient
    : nn::DifferentiableOpInterface::ExternalModel<
          SoftmaxCrossEntropyGradient, train::SoftmaxCrossEntropyOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &b,
                               ArrayRef<Value> resultGradients,
                               ArrayRef<bool> needed,
                               SmallVectorImpl<Value> &operandGradients) const {
    auto loss = cast<train::SoftmaxCrossEntropyOp>(op);
    operandGradients.assign(2, Value());
    if (needed[0])
      operandGradients[0] = train::SoftmaxCrossEntropyGradOp::create(
          b, op->getLoc(), loss.getLogits().getType(), loss.getLogits(),
          loss.getLabels(), resultGradients[0]);
    return success();
  }
};

struct MSELossGradient
    : nn::DifferentiableOpInterface::ExternalModel<MSELossGradient,
                                                   train::MSELossOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &b,
                               ArrayRef<Value> resultGradients,
                               ArrayRef<bool> needed,
                               SmallVectorImpl<Value> &operandGradients) const {
    auto loss = cast<train::MSELossOp>(op);
    operandGradients.assign(2, Value());
    if (needed[0])
      operandGradients[0] = train::MSELossGradOp::create(
          b, op->getLoc(), loss.getPrediction().getType(),
          loss.getPrediction(), loss.getTarget(), resultGradients[0]);
    return success();
  }
};

} // namespace

namespace adagp::train {
void registerGradientInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, TrainDialect *) {
    SoftmaxCrossEntropyOp::attachInterface<SoftmaxCrossEntropyGradient>(*ctx);
    MSELossOp::attachInterface<MSELossGradient>(*ctx);
  });
}
} // namespace adagp::train
