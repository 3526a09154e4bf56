//===- NNToLinalg.cpp - The --convert-nn-to-linalg pass -------------------===//

#include "adagp/Conversion/Passes.h"

#include "Utils.h"

#include "adagp/Dialect/CPU/CPUDialect.h"
#include "adagp/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Transforms/DialectConversion.h"

namespace adagp {
#define GEN_PASS_DEF_CONVERTNNTOLINALG
#include "adagp/Conversion/Passes.h.inc"
} // namespace adagp

using namespace mlir;

namespace {

struct ConvertNNToLinalg
    : adagp::impl::ConvertNNToLinalgBase<ConvertNNToLinalg> {
  using ConvertNNToLinalgBase::ConvertNNToLinalgBase;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<adagp::nn::NNDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           adagp::cpu::CPUDialect, func::FuncDialect,
                           ml_program::MLProgramDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    adagp::lowering::populateElementwisePatterns(patterns);
    adagp::lowering::populateShapePatterns(patterns);
    adagp::lowering::populateReductionPatterns(patterns);
    adagp::lowering::populateNormalizationPatterns(patterns);
    adagp::lowering::populatePoolingPatterns(patterns, useKernels);
    adagp::lowering::populateLinearPatterns(patterns, useKernels);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
