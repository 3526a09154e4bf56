//===- Passes.h - ADA-GP passes ---------------------------------*- C++ -*-===//

#ifndef ADAGP_DIALECT_ADAGP_PASSES_H
#define ADAGP_DIALECT_ADAGP_PASSES_H

#include "adagp/Dialect/ADAGP/ADAGPDialect.h"
#include "adagp/Dialect/NN/NNDialect.h"
#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace adagp::gp {

#define GEN_PASS_DECL
#include "adagp/Dialect/ADAGP/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "adagp/Dialect/ADAGP/Passes.h.inc"

/// Globals the ADA-GP passes create (also read by the tools).
inline constexpr const char *kQualityGlobal = "adagp.quality";
inline constexpr const char *kPredictorLossGlobal = "adagp.predictor_loss";
inline constexpr const char *kScaleGlobal = "adagp.scale";
inline constexpr const char *kBiasScaleGlobal = "adagp.bias_scale";
/// The BP step without the predictor, which --adagp-insert-predictors keeps
/// for BP steps that do not train it (the schedule's predictor_every).
inline constexpr const char *kBPPlainStep = "bp_plain_step";
inline constexpr const char *kPredictorPrefix = "adagp.predictor.";
inline constexpr const char *kSchedulePrefix = "adagp.schedule.";

} // namespace adagp::gp

#endif // ADAGP_DIALECT_ADAGP_PASSES_H
