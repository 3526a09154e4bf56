//===- TrainDialect.cpp - Losses and optimizers ---------------------------===//

#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace adagp::train;

#include "adagp/Dialect/Train/TrainOpsDialect.cpp.inc"

void TrainDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "adagp/Dialect/Train/TrainOps.cpp.inc"
      >();
}

static LogicalResult verifyLogitsAndLabels(Operation *op,
                                           RankedTensorType logits,
                                           RankedTensorType labels) {
  if (logits.getDimSize(0) != labels.getDimSize(0))
    return op->emitOpError("has ")
           << logits.getDimSize(0) << " rows of logits but "
           << labels.getDimSize(0) << " labels";
  return success();
}

static LogicalResult verifySameElement(Operation *op, Type a, Type b) {
  if (getElementTypeOrSelf(a) != getElementTypeOrSelf(b))
    return op->emitOpError("mixes element types ")
           << getElementTypeOrSelf(a) << " and " << getElementTypeOrSelf(b);
  return success();
}

LogicalResult SoftmaxCrossEntropyOp::verify() {
  if (failed(verifySameElement(*this, getLogits().getType(),
                               getLoss().getType())))
    return failure();
  return verifyLogitsAndLabels(*this, getLogits().getType(),
                               getLabels().getType());
}

LogicalResult SoftmaxCrossEntropyGradOp::verify() {
  if (failed(verifySameElement(*this, getLogits().getType(),
                               getGrad().getType())))
    return failure();
  return verifyLogitsAndLabels(*this, getLogits().getType(),
                               getLabels().getType());
}

LogicalResult MSELossOp::verify() {
  if (getPrediction().getType() != getTarget().getType())
    return emitOpError("prediction and target types differ");
  return verifySameElement(*this, getPrediction().getType(),
                           getLoss().getType());
}

LogicalResult MSELossGradOp::verify() {
  if (getPrediction().getType() != getTarget().getType())
    return emitOpError("prediction and target types differ");
  return verifySameElement(*this, getPrediction().getType(),
                           getGrad().getType());
}

static LogicalResult verifyUnitInterval(Operation *op, StringRef name,
                                        double v, bool closedAtOne) {
  if (!(v >= 0 && (closedAtOne ? v <= 1 : v < 1)))
    return op->emitOpError() << name << " must be in [0, 1"
                             << (closedAtOne ? "]" : ")") << ", got " << v;
  return success();
}

LogicalResult SGDUpdateOp::verify() {
  if (failed(verifySameElement(*this, getParam().getType(),
                               getLr().getType())) ||
      failed(verifyUnitInterval(*this, "momentum",
                                getMomentum().convertToDouble(), true)))
    return failure();
  if (getWeightDecay().convertToDouble() < 0)
    return emitOpError("weight_decay must be non-negative");
  if (getNesterov() && getMomentum().convertToDouble() == 0)
    return emitOpError("Nesterov momentum needs a non-zero momentum");
  return success();
}

LogicalResult AdamUpdateOp::verify() {
  if (failed(verifySameElement(*this, getParam().getType(),
                               getLr().getType())) ||
      failed(verifyUnitInterval(*this, "beta1", getBeta1().convertToDouble(),
                                false)) ||
      failed(verifyUnitInterval(*this, "beta2", getBeta2().convertToDouble(),
                                false)))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0))
    return emitOpError("epsilon must be positive");
  if (getWeightDecay().convertToDouble() < 0)
    return emitOpError("weight_decay must be non-negative");
  return success();
}

LogicalResult LRScheduleOp::verify() {
  StringRef kind = getKind();
  if (kind != "constant" && kind != "step" && kind != "cosine")
    return emitOpError("unknown schedule '")
           << kind << "' (expected constant, step or cosine)";
  if (!(getBaseLr().convertToDouble() > 0))
    return emitOpError("base_lr must be positive");
  if (static_cast<int64_t>(getStepSize()) <= 0 ||
      static_cast<int64_t>(getTotalSteps()) <= 0)
    return emitOpError("step_size and total_steps must be positive");
  return success();
}

#define GET_OP_CLASSES
#include "adagp/Dialect/Train/TrainOps.cpp.inc"
