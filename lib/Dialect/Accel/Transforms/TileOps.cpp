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
FailureOr<GemmShape> shapeOf(Operation *op) {
  if (llvm::isa<nn::Conv2DOp, nn::Conv2DInputGradOp, nn::Conv2DFilterGradOp>(
          op)) {
    ConvGeometry g;
    if (failed(getConvGeometry(op, g)))
      return failure();
    if (llvm::isa<nn::Conv2DOp>(op))
      return convForwardShape(g);
    if (llvm::isa<nn::Conv2DInputGradOp>(op))
      return convInputGradShape(g);
    return convFilterGradShape(g);
  }
  auto matrices = [&](Value a, Value b, bool ta,
                      bool tb) -> FailureOr<GemmShape> {
    auto at = cast<RankedTensorType>(a.getType());
    auto bt = cast<RankedTensorType>(b.getType());
    if (at.getRank() != 2 || bt.getRank() != 2)
      return op->emitError("only 2-D matrix products are supported on the "
                           "accelerator");
    int64_t m = ta ? at.getDimSize(1) : at.getDimSize(0);
    int64_t k = ta ? at.getDimSize(0) : at.getDimSize(1);
    int64_t n = tb ? bt.getDimSize(0) : bt.getDimSize(1);
    return matmulShape(m, k, n);
  };
  if (auto g = dyn_cast<nn::GemmOp>(op))
    return matrices(g.getA(), g.getB(), g.getTransA(), g.getTransB());
  if (auto mm = dyn_cast<nn::MatMulOp>(op))
    return matrices(mm.getLhs(), mm.getRhs(), false, false);
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
      FailureOr<GemmShape> shape = shapeOf(op);
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
