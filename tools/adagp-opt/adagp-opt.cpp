//===- adagp-opt.cpp - mlir-opt with the adagp dialects and passes --------===//

#include "adagp/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  adagp::registerAllDialects(registry);
  adagp::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "adagp optimizer driver: the adagp dialects and passes\n",
      registry));
}
