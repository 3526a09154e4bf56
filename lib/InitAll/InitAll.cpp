//===- InitAll.cpp - Register every adagp dialect and pass ----------------===//

#include "adagp/InitAll.h"

#include "adagp/Dialect/NN/NNDialect.h"
#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Dialect/NN/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"

void adagp::registerAllDialects(mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<nn::NNDialect>();
}

void adagp::registerAllPasses() {
  mlir::registerAllPasses();
  nn::registerNNPasses();
}
