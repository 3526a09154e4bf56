//===- ModelStats.h - Counting parameters and multiply-adds -----*- C++ -*-===//

#ifndef ADAGP_DIALECT_NN_MODELSTATS_H
#define ADAGP_DIALECT_NN_MODELSTATS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <map>
#include <string>

namespace adagp::nn {

/// Whether `value` (a loaded parameter) only feeds batch-norm running
/// statistics: state that training updates but does not differentiate.
bool isOnlyRunningStatistic(mlir::Value value);

/// Multiply-adds of one operation (convolutions, matrix products and their
/// gradients); 0 for everything else.
int64_t countMultiplyAdds(mlir::Operation *op);

struct ModelStats {
  int64_t batchSize = 0;
  /// Operations by name ("nn.conv2d" -> 19).
  std::map<std::string, int64_t> operations;
  int64_t layersWithWeights = 0;
  int64_t trainableParameters = 0;
  int64_t trainableTensors = 0;
  /// Batch-norm running statistics: state, but not trained.
  int64_t nonTrainableParameters = 0;
  /// Of one forward pass over the whole batch.
  int64_t multiplyAdds = 0;
};

/// Summarises a model function whose parameters are ml_program globals.
ModelStats computeModelStats(mlir::func::FuncOp func);

} // namespace adagp::nn

#endif // ADAGP_DIALECT_NN_MODELSTATS_H
