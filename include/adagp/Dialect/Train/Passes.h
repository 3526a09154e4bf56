//===- Passes.h - Building training steps -----------------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_TRAIN_PASSES_H
#define ADAGP_DIALECT_TRAIN_PASSES_H

#include "adagp/Dialect/NN/NNDialect.h"
#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace adagp::train {

#define GEN_PASS_DECL
#include "adagp/Dialect/Train/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "adagp/Dialect/Train/Passes.h.inc"

/// Names of the globals the training step creates.
std::string momentumGlobal(llvm::StringRef parameter);
std::string adamMGlobal(llvm::StringRef parameter);
std::string adamVGlobal(llvm::StringRef parameter);
inline constexpr const char *kStepGlobal = "train.step";

} // namespace adagp::train

#endif // ADAGP_DIALECT_TRAIN_PASSES_H
