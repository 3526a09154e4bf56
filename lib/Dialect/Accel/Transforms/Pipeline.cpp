//===- Pipeline.cpp - --adagp-accel-pipeline ------------------------------===//

#include "adagp/Dialect/Accel/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace adagp::accel {

void buildAccelPipeline(OpPassManager &pm,
                        const AccelPipelineOptions &options) {
  AccelPlanDramOptions plan;
  plan.configPath = options.config;
  // A GP-only program never runs the BP step (nor trains the predictor).
  if (options.mode == "gp")
    plan.functions = {"gp_step", "eval_step"};
  pm.addPass(createAccelPlanDram(plan));
  AccelTileOptions tile;
  tile.configPath = options.config;
  pm.addPass(createAccelTile(tile));
  AccelLowerStepsOptions lower;
  lower.configPath = options.config;
  pm.addPass(createAccelLowerSteps(lower));
  AccelBuildProgramOptions build;
  build.mode = options.mode;
  pm.addPass(createAccelBuildProgram(build));
  pm.addNestedPass<ProgramOp>(createAccelInsertTokens());
  pm.addNestedPass<ProgramOp>(createAccelElideDmaCfg());
}

void registerAccelPipeline() {
  PassPipelineRegistration<AccelPipelineOptions>(
      "adagp-accel-pipeline",
      "Compile @bp_step (mode=bp), @gp_step (mode=gp) or both (mode=adagp) "
      "and @eval_step into an accelerator training program: "
      "DRAM plan, tiling, lowering to accel instructions, the training loop, "
      "dependency tokens",
      buildAccelPipeline);
}

} // namespace adagp::accel
