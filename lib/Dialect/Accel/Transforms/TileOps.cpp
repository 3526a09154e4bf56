//===- TileOps.cpp - Block sizes of convolutions and matrix products ------===//
//
// Records, on every convolution product and matrix product of the step
// functions, the blocking the lowering will use: `accel.tile = {m, k, n,
// swap}` in units of the op's implicit GEMM (Lowering.h, GemmShape). The
// choice depends only on the op's shapes and the configuration, so the same
// model tiles differently for the edge, default and cloud presets.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "adagp/Dialect/Accel/Passes.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace adagp::accel {
#define GEN_PASS_DEF_ACCELTILE
#include "adagp/Dialect/Accel/Passes.h.inc"
} // namespace adagp::accel

using namespace mlir;

namespace adagp::accel {
namespace {

/// The implicit GEMM of a tiled op, or failure if the op is not tiled.
FailureOr<GemmShape> shapeOf(Operation *op, int64_t dim) {
  if (llvm::isa<nn::Conv2DOp, nn::Conv2DInputGradOp, nn::Conv2DFilterGradOp>(
          op)) {
    ConvGeometry g;
    if (failed(getConvGeometry(op, g)))
      return failure();
    // A grouped convolution is tiled as one block of groups (LowerConv.cpp).
    g = convGroupBlock(g, convGroupsPerBlock(g, dim));
    if (llvm::isa<nn::Conv2DOp>(op))
      return convForwardShape(g);
    if (llvm::isa<nn::Conv2DInputGradOp>(op))
      return convInputGradShape(g);
    return convFilterGradShape(g);
  }
  if (llvm::isa<nn::GemmOp, nn::MatMulOp>(op))
    return matmulGemmShape(op);
  return failure();
}

struct AccelTilePass : public impl::AccelTileBase<AccelTilePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    sim::Config cfg;
    if (failed(loadAccelConfig(module, configPath, cfg)))
      return signalPassFailure();
    bool failedAny = false;
    // The planned step functions when there are some, else everything.
    bool planned = false;
    module.walk([&](func::FuncOp f) { planned |= f->hasAttr("accel.step"); });
    module.walk([&](Operation *op) {
      if (planned) {
        auto f = op->getParentOfType<func::FuncOp>();
        if (!f || !f->hasAttr("accel.step"))
          return;
      }
      if (!llvm::isa<nn::Conv2DOp, nn::Conv2DInputGradOp,
                     nn::Conv2DFilterGradOp, nn::GemmOp, nn::MatMulOp>(op))
        return;
      // Depthwise convolutions on the vector unit have no GEMM to tile.
      ConvGeometry g;
      if (llvm::isa<nn::Conv2DOp, nn::Conv2DInputGradOp,
                    nn::Conv2DFilterGradOp>(op) &&
          succeeded(getConvGeometry(op, g)) && depthwiseOnVectorUnit(g, cfg))
        return;
      FailureOr<GemmShape> shape = shapeOf(op, cfg.arrayDim);
      if (failed(shape)) {
        failedAny = true;
        return;
      }
      GemmTile tile;
      std::string why;
      if (!chooseGemmTile(*shape, cfg, tile, why)) {
        auto f = op->getParentOfType<func::FuncOp>();
        op->emitError() << op->getName() << " (in @"
                        << (f ? f.getSymName() : llvm::StringRef("?"))
                        << ") does not fit the accelerator '" << cfg.name
                        << "': " << why;
        failedAny = true;
        return;
      }
      writeTile(op, tile);
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
} // namespace adagp::accel
