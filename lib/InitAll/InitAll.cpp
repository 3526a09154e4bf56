//===- InitAll.cpp - Register every adagp dialect and pass ----------------===//

#include "adagp/InitAll.h"

#include "adagp/Conversion/Passes.h"
#include "adagp/Dialect/ADAGP/ADAGPDialect.h"
#include "adagp/Dialect/ADAGP/Passes.h"
#include "adagp/Dialect/Accel/AccelDialect.h"
#include "adagp/Dialect/Accel/Passes.h"
#include "adagp/Dialect/CPU/CPUDialect.h"
#include "adagp/Dialect/NN/NNDialect.h"
#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Dialect/NN/Passes.h"
#include "adagp/Dialect/Train/Passes.h"
#include "adagp/Dialect/Train/TrainDialect.h"
#include "adagp/Pipelines/Pipelines.h"
#include "adagp/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"

void adagp::registerAllDialects(mlir::DialectRegistry &registry) {
  // First: replaces upstream's ml_program bufferization, which
  // registerAllDialects adds.
  cpu::registerMLProgramBufferization(registry);
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<nn::NNDialect, cpu::CPUDialect, train::TrainDialect,
                  gp::ADAGPDialect,
                  accel::AccelDialect>();
  nn::registerGradientInterfaces(registry);
  train::registerGradientInterfaces(registry);
  cpu::registerBufferizableOpInterfaceExternalModels(registry);
}

void adagp::registerAllPasses() {
  mlir::registerAllPasses();
  nn::registerNNPasses();
  train::registerTrainPasses();
  gp::registerADAGPPasses();
  registerADAGPConversionPasses();
  registerADAGPTransformsPasses();
  registerPipelines();
  accel::registerAccelPasses();
  accel::registerAccelPipeline();
}
