//===- ADAGPDialect.cpp - Adaptive gradient prediction --------------------===//

#include "adagp/Dialect/ADAGP/ADAGPDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace adagp::gp;

#include "adagp/Dialect/ADAGP/ADAGPOpsDialect.cpp.inc"

void ADAGPDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "adagp/Dialect/ADAGP/ADAGPOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "adagp/Dialect/ADAGP/ADAGPOps.cpp.inc"

static LogicalResult verifySameElement(Operation *op, Type a, Type b) {
  if (getElementTypeOrSelf(a) != getElementTypeOrSelf(b))
    return op->emitOpError("mixes element types ")
           << getElementTypeOrSelf(a) << " and " << getElementTypeOrSelf(b);
  return success();
}

/// Elements in one output channel's slice of a weight `[K, ...]`.
static int64_t filterSize(RankedTensorType type) {
  int64_t size = 1;
  for (int64_t d : type.getShape().drop_front())
    size *= d;
  return size;
}

LogicalResult ReorganizeOp::verify() {
  auto input = getInput().getType();
  auto result = getResult().getType();
  if (failed(verifySameElement(*this, input, result)))
    return failure();
  if (!input.hasStaticShape())
    return emitOpError("needs a static input shape, got ") << input;
  if (input.getRank() != 4 && input.getRank() != 2)
    return emitOpError("takes an activation [N, C, H, W] or [N, F], got ")
           << input;
  int64_t p = static_cast<int64_t>(getPooledSize());
  SmallVector<int64_t> expected = {input.getDimSize(1), 1, p, p};
  if (result.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("result must be [")
           << expected[0] << ", 1, " << p << ", " << p << "] for " << input
           << " and pooled_size " << p << ", got " << result;
  return success();
}

LogicalResult ReorganizeGradientOp::verify() {
  auto gradient = getGradient().getType();
  auto result = getResult().getType();
  if (failed(verifySameElement(*this, gradient, result)))
    return failure();
  if (!gradient.hasStaticShape() || gradient.getRank() < 2)
    return emitOpError("takes a static weight gradient [K, ...] of rank >= 2, "
                       "got ")
           << gradient;
  if (result.getDimSize(0) != gradient.getDimSize(0))
    return emitOpError("has ") << result.getDimSize(0) << " rows for "
                               << gradient.getDimSize(0) << " output channels";
  if (result.getDimSize(1) < filterSize(gradient))
    return emitOpError("rows of width ")
           << result.getDimSize(1) << " cannot hold filters of "
           << filterSize(gradient) << " elements";
  return success();
}

LogicalResult ExpandPredictionOp::verify() {
  auto prediction = getPrediction().getType();
  auto result = getResult().getType();
  if (failed(verifySameElement(*this, prediction, result)) ||
      failed(verifySameElement(*this, prediction, getScale().getType())))
    return failure();
  if (!result.hasStaticShape() || result.getRank() < 2)
    return emitOpError("result must be a static weight shape [K, ...] of "
                       "rank >= 2, got ")
           << result;
  if (prediction.getDimSize(0) != result.getDimSize(0))
    return emitOpError("has ")
           << prediction.getDimSize(0) << " prediction rows for "
           << result.getDimSize(0) << " output channels";
  if (prediction.getDimSize(1) < filterSize(result))
    return emitOpError("prediction rows of width ")
           << prediction.getDimSize(1) << " are narrower than the filter ("
           << filterSize(result) << " elements)";
  return success();
}

LogicalResult NextBatchOp::verify() {
  auto inputs = getInputs().getType();
  if (!inputs.hasStaticShape() || !getLabels().getType().hasStaticShape())
    return emitOpError("needs static batch shapes");
  if (inputs.getRank() < 1 ||
      inputs.getDimSize(0) != getLabels().getType().getDimSize(0))
    return emitOpError("has ") << getLabels().getType().getDimSize(0)
                               << " labels for a batch of " << inputs;
  return success();
}

LogicalResult ScheduleOp::verify() {
  StringRef policy = getPolicy();
  if (policy != "bp" && policy != "gp" && policy != "fixed" &&
      policy != "adaptive")
    return emitOpError("policy must be bp, gp, fixed or adaptive, got '")
           << policy << "'";
  if (getUnit() != "batch" && getUnit() != "epoch")
    return emitOpError("unit must be batch or epoch, got '")
           << getUnit() << "'";
  if (policy == "adaptive" && getUnit() != "batch")
    return emitOpError("the adaptive policy counts batches (unit = batch)");
  auto positive = [&](int64_t v, StringRef name) -> LogicalResult {
    if (v >= 1)
      return success();
    return emitOpError() << name << " must be at least 1, got " << v;
  };
  if (static_cast<int64_t>(getWarmupEpochs()) < 0)
    return emitOpError("warmup_epochs must be non-negative, got ")
           << static_cast<int64_t>(getWarmupEpochs());
  int64_t bpRun = getBpRun(), gpRun = getGpRun(), minGp = getMinGpRun(),
          maxGp = getMaxGpRun();
  if (failed(positive(bpRun, "bp_run")) || failed(positive(gpRun, "gp_run")) ||
      failed(positive(minGp, "min_gp_run")) ||
      failed(positive(maxGp, "max_gp_run")))
    return failure();
  if (!(minGp <= gpRun && gpRun <= maxGp))
    return emitOpError("needs min_gp_run <= gp_run <= max_gp_run, got ")
           << minGp << ", " << gpRun << ", " << maxGp;
  if (!(getGrowth().convertToDouble() > 1.0))
    return emitOpError("growth must be greater than 1, got ")
           << getGrowth().convertToDouble();
  double minQ = getMinQuality().convertToDouble(),
         lowQ = getLowQuality().convertToDouble(),
         highQ = getHighQuality().convertToDouble();
  if (!(-1 <= minQ && minQ <= lowQ && lowQ <= highQ && highQ <= 1))
    return emitOpError("needs -1 <= min_quality <= low_quality <= "
                       "high_quality <= 1, got ")
           << minQ << ", " << lowQ << ", " << highQ;
  if (!(getLossMargin().convertToDouble() >= 0))
    return emitOpError("loss_margin must be non-negative, got ")
           << getLossMargin().convertToDouble();
  if (static_cast<int64_t>(getPredictorEvery()) < 1)
    return emitOpError("predictor_every must be at least 1, got ")
           << static_cast<int64_t>(getPredictorEvery());
  if (getPredictorEvery() > 1 && !getBpPlainStepAttr())
    return emitOpError("predictor_every > 1 needs bp_plain_step (the BP step "
                       "without the predictor)");
  return success();
}

LogicalResult ScheduleOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  for (auto [name, ref] :
       {std::pair<StringRef, FlatSymbolRefAttr>{"bp_step", getBpStepAttr()},
        {"gp_step", getGpStepAttr()},
        {"bp_plain_step", getBpPlainStepAttr()}}) {
    if (!ref)
      continue;
    auto func = symbolTable.lookupNearestSymbolFrom<func::FuncOp>(*this, ref);
    if (!func)
      return emitOpError() << name << " " << ref << " is not a function";
    if (func.getNumResults() != 1)
      return emitOpError() << name << " " << ref
                           << " must return the loss only";
  }
  auto global = symbolTable.lookupNearestSymbolFrom<ml_program::GlobalOp>(
      *this, getQualityAttr());
  if (!global)
    return emitOpError("quality ") << getQualityAttr() << " is not a global";
  return success();
}
