//===- ModelStats.cpp - Counting parameters and multiply-adds -------------===//

#include "adagp/Dialect/NN/ModelStats.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace adagp::nn;

bool adagp::nn::isOnlyRunningStatistic(Value value) {
  if (value.use_empty())
    return false;
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    unsigned index = use.getOperandNumber();
    bool statistic = (isa<BatchNormTrainOp>(user) && index >= 3) ||
                     (isa<BatchNormInferenceOp>(user) && index >= 3);
    if (!statistic)
      return false;
  }
  return true;
}

static int64_t numElements(Value v) {
  return cast<RankedTensorType>(v.getType()).getNumElements();
}

/// Multiply-adds of a convolution whose output and filter are given: each
/// output element sums (C/G) x KH x KW products.
static int64_t convMacs(Value output, Value filter) {
  auto w = cast<RankedTensorType>(filter.getType()).getShape();
  return numElements(output) * w[1] * w[2] * w[3];
}

int64_t adagp::nn::countMultiplyAdds(Operation *op) {
  return llvm::TypeSwitch<Operation *, int64_t>(op)
      .Case<Conv2DOp>([](Conv2DOp c) {
        return convMacs(c.getResult(), c.getFilter());
      })
      // Both gradients cost what the forward convolution costs.
      .Case<Conv2DInputGradOp>([](Conv2DInputGradOp c) {
        return convMacs(c.getGrad(), c.getFilter());
      })
      .Case<Conv2DFilterGradOp>([](Conv2DFilterGradOp c) {
        return convMacs(c.getGrad(), c.getResult());
      })
      .Case<GemmOp>([](GemmOp g) {
        auto a = g.getA().getType().getShape();
        int64_t k = a[g.getTransA() ? 0 : 1];
        return numElements(g.getResult()) * k;
      })
      .Case<MatMulOp>([](MatMulOp m) {
        return numElements(m.getResult()) * m.getLhs().getType().getShape().back();
      })
      .Default([](Operation *) { return int64_t(0); });
}

ModelStats adagp::nn::computeModelStats(func::FuncOp func) {
  ModelStats stats;
  if (func.getNumArguments() > 0)
    if (auto t = dyn_cast<RankedTensorType>(func.getArgument(0).getType()))
      if (t.getRank() > 0)
        stats.batchSize = t.getDimSize(0);
  func.walk([&](Operation *op) {
    if (op == func.getOperation() || isa<func::ReturnOp>(op))
      return;
    stats.operations[op->getName().getStringRef().str()]++;
    stats.multiplyAdds += countMultiplyAdds(op);
    if (isa<Conv2DOp, GemmOp>(op))
      stats.layersWithWeights++;
    if (auto load = dyn_cast<ml_program::GlobalLoadOp>(op)) {
      int64_t n = numElements(load.getResult());
      if (isOnlyRunningStatistic(load.getResult())) {
        stats.nonTrainableParameters += n;
      } else {
        stats.trainableParameters += n;
        stats.trainableTensors++;
      }
    }
  });
  return stats;
}
