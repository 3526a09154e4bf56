//===- LowerSchedule.cpp - The --adagp-lower-schedule pass ----------------===//
//
// Turns `adagp.schedule` into @train, the compiled training loop:
//
//   func.func @train() {
//     scf.while (do-while): adagp.next_batch; if epoch >= 0 run one step
//     do:
//       load the policy state (@adagp.schedule.*)
//       decide: GP step or BP step            (arith on scalars)
//       %loss = scf.if %gp { call @gp_step } else { call @bp_step }
//                 (predictor-every=N: every N-th BP step calls @bp_step,
//                 the others @bp_plain_step)
//       update the moving averages, end a GP run whose loss rises
//       store the policy state; adagp.report
//   }
//
// All policies share this structure; `bp`, `gp` and fixed epoch runs are
// decided by the epoch alone, fixed and adaptive batch runs by a small
// state machine (phase, steps left, GP run length).
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/ADAGP/Passes.h"

#include "mlir/IR/SymbolTable.h"

#include <limits>

namespace adagp::gp {
#define GEN_PASS_DEF_LOWERSCHEDULE
#include "adagp/Dialect/ADAGP/Passes.h.inc"
} // namespace adagp::gp

using namespace mlir;
using namespace adagp;

namespace {

/// Smoothing of the moving averages the adaptive policy compares.
constexpr double kQualityAverage = 0.5; // weight of the newest BP quality
constexpr double kBPLossAverage = 0.2;  // weight of the newest BP loss
constexpr double kGPLossAverage = 0.3;  // weight of the newest GP loss

struct Policy {
  std::string policy, unit;
  int64_t warmupEpochs, bpRun, gpRun, minGpRun, maxGpRun;
  double growth, minQuality, lowQuality, highQuality, lossMargin;
  int64_t predictorEvery;
};

/// The policy state globals.
struct StateGlobal {
  const char *name;
  bool isFloat;
  double initial; // gp_length starts at gp_run
};
constexpr StateGlobal kState[] = {
    {"phase", false, 0},     // 0: BP run, 1: GP run
    {"remaining", false, 0}, // steps left in the current run
    {"gp_length", true, 0},  // length of the next GP run
    {"bp_loss", true, 0},    // moving average of BP losses
    {"gp_loss", true, 0},    // moving average of the current GP run
    {"quality", true, 0},    // moving average of predictor quality
    {"bp_count", false, 0},  // BP steps so far, warm-up included
};

struct LowerSchedule : adagp::gp::impl::LowerScheduleBase<LowerSchedule> {
  using LowerScheduleBase::LowerScheduleBase;
  void runOnOperation() override;

private:
  FailureOr<Policy> resolve(gp::ScheduleOp schedule);
  LogicalResult build(gp::ScheduleOp schedule, const Policy &p);
};

} // namespace

FailureOr<Policy> LowerSchedule::resolve(gp::ScheduleOp op) {
  Policy p;
  p.policy = policy.hasValue() ? policy.getValue() : op.getPolicy().str();
  p.unit = unit.hasValue() ? unit.getValue() : op.getUnit().str();
  auto pick = [](auto &option, auto attr) {
    return option.hasValue() ? option.getValue() : attr;
  };
  p.warmupEpochs = pick(warmupEpochs, int64_t(op.getWarmupEpochs()));
  p.bpRun = pick(bpRun, int64_t(op.getBpRun()));
  p.gpRun = pick(gpRun, int64_t(op.getGpRun()));
  p.minGpRun = pick(minGpRun, int64_t(op.getMinGpRun()));
  p.maxGpRun = pick(maxGpRun, int64_t(op.getMaxGpRun()));
  p.growth = pick(growth, op.getGrowth().convertToDouble());
  p.minQuality = pick(minQuality, op.getMinQuality().convertToDouble());
  p.lowQuality = pick(lowQuality, op.getLowQuality().convertToDouble());
  p.highQuality = pick(highQuality, op.getHighQuality().convertToDouble());
  p.lossMargin = pick(lossMargin, op.getLossMargin().convertToDouble());
  p.predictorEvery = pick(predictorEvery, int64_t(op.getPredictorEvery()));
  // Write the resolved values back so that the op's verifier checks them
  // and names the offending one.
  Builder b(op.getContext());
  op.setPolicy(p.policy);
  op.setUnit(p.unit);
  op.setWarmupEpochs(p.warmupEpochs);
  op.setBpRun(p.bpRun);
  op.setGpRun(p.gpRun);
  op.setMinGpRun(p.minGpRun);
  op.setMaxGpRun(p.maxGpRun);
  op.setGrowthAttr(b.getF64FloatAttr(p.growth));
  op.setMinQualityAttr(b.getF64FloatAttr(p.minQuality));
  op.setLowQualityAttr(b.getF64FloatAttr(p.lowQuality));
  op.setHighQualityAttr(b.getF64FloatAttr(p.highQuality));
  op.setLossMarginAttr(b.getF64FloatAttr(p.lossMargin));
  op.setPredictorEvery(p.predictorEvery);
  if (failed(op.verify())) {
    op.emitError("--adagp-lower-schedule: invalid policy; each attribute "
                 "above is the pass option (and adagp-train flag) of the "
                 "same name with '-' for '_'");
    return failure();
  }
  return p;
}

LogicalResult LowerSchedule::build(gp::ScheduleOp schedule, const Policy &p) {
  ModuleOp module = getOperation();
  SymbolTable symbols(module);
  if (symbols.lookup("train"))
    return schedule.emitError("the module already has a function @train");
  auto bpStep = symbols.lookup<func::FuncOp>(schedule.getBpStep());
  auto gpStep = symbols.lookup<func::FuncOp>(schedule.getGpStep());
  auto qualityGlobal =
      symbols.lookup<ml_program::GlobalOp>(schedule.getQuality());
  auto lossGlobal =
      symbols.lookup<ml_program::GlobalOp>(gp::kPredictorLossGlobal);
  if (!bpStep || !gpStep || !qualityGlobal)
    return schedule.emitError("refers to a missing step or global");
  func::FuncOp bpPlainStep;
  if (auto ref = schedule.getBpPlainStepAttr()) {
    bpPlainStep = symbols.lookup<func::FuncOp>(ref.getValue());
    if (!bpPlainStep)
      return schedule.emitError("refers to a missing step ") << ref;
    if (bpPlainStep.getFunctionType() != bpStep.getFunctionType())
      return schedule.emitError(
          "@bp_step and @bp_plain_step have different types");
    // Not called when every BP step trains the predictor, nor by a policy
    // without BP steps.
    if (p.predictorEvery == 1 || p.policy == "gp") {
      schedule.removeBpPlainStepAttr();
      if (!SymbolTable::symbolKnownUseEmpty(bpPlainStep, module))
        return schedule.emitError("@")
               << bpPlainStep.getSymName() << " is used elsewhere";
      symbols.erase(bpPlainStep);
      bpPlainStep = nullptr;
    }
  }
  if (bpStep.getFunctionType() != gpStep.getFunctionType())
    return schedule.emitError("@bp_step and @gp_step have different types");
  if (bpStep.getNumArguments() != 2)
    return schedule.emitError("@bp_step must take (inputs, labels)");
  auto inputsType = cast<RankedTensorType>(bpStep.getArgumentTypes()[0]);
  auto labelsType = cast<RankedTensorType>(bpStep.getArgumentTypes()[1]);
  auto lossType = cast<RankedTensorType>(bpStep.getResultTypes()[0]);
  if (!labelsType.getElementType().isInteger(64))
    return schedule.emitError("@train takes integer class labels");
  Location loc = schedule.getLoc();
  MLIRContext *ctx = &getContext();
  Type f32 = Float32Type::get(ctx), i64 = IntegerType::get(ctx, 64);
  auto f32Tensor = RankedTensorType::get({}, f32);
  auto i64Tensor = RankedTensorType::get({}, i64);

  // State globals, next to the schedule.
  OpBuilder gb(schedule);
  for (const StateGlobal &s : kState) {
    std::string name = (gp::kSchedulePrefix + StringRef(s.name)).str();
    if (symbols.lookup(name))
      return schedule.emitError("the module already has a global @") << name;
    double initial =
        StringRef(s.name) == "gp_length" ? double(p.gpRun) : s.initial;
    auto type = s.isFloat ? f32Tensor : i64Tensor;
    Attribute value = s.isFloat
                          ? Attribute(gb.getF32FloatAttr(float(initial)))
                          : Attribute(gb.getI64IntegerAttr(int64_t(initial)));
    auto g = ml_program::GlobalOp::create(
        gb, loc, name, type, /*is_mutable=*/true,
        DenseElementsAttr::get(type, value), gb.getStringAttr("private"));
    symbols.insert(g);
  }

  OpBuilder mb(schedule);
  auto train =
      func::FuncOp::create(mb, loc, "train", mb.getFunctionType({}, {}));
  train->setAttr("adagp.policy", mb.getStringAttr(p.policy));
  // Hosts that run the steps themselves (the accelerator's) follow the same
  // rule for which BP steps train the predictor.
  train->setAttr("adagp.predictor_every",
                 mb.getI64IntegerAttr(bpPlainStep ? p.predictorEvery : 1));
  OpBuilder b = OpBuilder::atBlockEnd(train.addEntryBlock());

  // The loop, in do-while form: the "before" region asks the host for a
  // batch and, when there is one, runs the step under an scf.if; the "after"
  // region is empty. Keeping every tensor inside one region means the loop
  // carries no tensors, which one-shot bufferization requires of scf.while
  // (condition operands equivalent to the iteration arguments).
  auto loop = scf::WhileOp::create(b, loc, TypeRange{}, ValueRange{});
  b.createBlock(&loop.getAfter());
  scf::YieldOp::create(b, loc, ValueRange{});
  b.createBlock(&loop.getBefore());
  auto batch =
      gp::NextBatchOp::create(b, loc, inputsType, labelsType, i64Tensor);
  Value epoch = tensor::ExtractOp::create(b, loc, batch.getEpoch());
  Value more =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, epoch,
                            arith::ConstantIntOp::create(b, loc, 0, 64));
  auto guardMore = scf::IfOp::create(b, loc, TypeRange{}, more,
                                     /*withElseRegion=*/false);
  scf::ConditionOp::create(b, loc, more, ValueRange{});
  b.setInsertionPoint(guardMore.getThenRegion().front().getTerminator());
  Value x = batch.getInputs(), y = batch.getLabels();

  // Scalar helpers.
  auto ci = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, v, 64);
  };
  auto cf = [&](double v) -> Value {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(float(v)));
  };
  auto ctrue = [&](bool v) -> Value {
    return arith::ConstantIntOp::create(b, loc, v ? 1 : 0, 1);
  };
  auto sel = [&](Value c, Value t, Value f) -> Value {
    return arith::SelectOp::create(b, loc, c, t, f);
  };
  auto cmpi = [&](arith::CmpIPredicate pr, Value l, Value r) -> Value {
    return arith::CmpIOp::create(b, loc, pr, l, r);
  };
  auto cmpf = [&](arith::CmpFPredicate pr, Value l, Value r) -> Value {
    return arith::CmpFOp::create(b, loc, pr, l, r);
  };
  auto mix = [&](Value old, Value now, double weight) -> Value {
    // old + weight * (now - old)
    return arith::AddFOp::create(
        b, loc, old,
        arith::MulFOp::create(b, loc, cf(weight),
                              arith::SubFOp::create(b, loc, now, old)));
  };
  auto loadScalar = [&](StringRef global, Type type) -> Value {
    Value t = ml_program::GlobalLoadOp::create(
        b, loc, RankedTensorType::get({}, type),
        SymbolRefAttr::get(b.getStringAttr(global)));
    return tensor::ExtractOp::create(b, loc, t, ValueRange{});
  };
  auto stateName = [](StringRef s) { return (gp::kSchedulePrefix + s).str(); };
  auto loadState = [&](StringRef s, bool isFloat) {
    return loadScalar(stateName(s), isFloat ? f32 : i64);
  };

  Value phase = loadState("phase", false);
  Value remaining = loadState("remaining", false);
  Value gpLength = loadState("gp_length", true);
  Value bpLoss = loadState("bp_loss", true);
  Value gpLoss = loadState("gp_loss", true);
  Value quality = loadState("quality", true);
  Value bpCount = loadState("bp_count", false);

  // The decision.
  Value warm = cmpi(arith::CmpIPredicate::slt, epoch, ci(p.warmupEpochs));
  Value isGP;
  bool batchRuns =
      (p.policy == "fixed" && p.unit == "batch") || p.policy == "adaptive";
  Value runStart = ctrue(false);
  if (p.policy == "bp") {
    isGP = ctrue(false);
  } else if (p.policy == "gp") {
    isGP = ctrue(true);
  } else if (!batchRuns) {
    // Fixed runs of whole epochs.
    Value sinceWarmup =
        arith::SubIOp::create(b, loc, epoch, ci(p.warmupEpochs));
    Value position =
        arith::RemSIOp::create(b, loc, sinceWarmup, ci(p.bpRun + p.gpRun));
    Value inGP = cmpi(arith::CmpIPredicate::sge, position, ci(p.bpRun));
    isGP = arith::AndIOp::create(
        b, loc, arith::XOrIOp::create(b, loc, warm, ctrue(true)), inGP);
  } else {
    Value ended = cmpi(arith::CmpIPredicate::sle, remaining, ci(0));
    Value inBP = cmpi(arith::CmpIPredicate::eq, phase, ci(0));
    // After a BP run: the next GP run's length, and whether to start it.
    Value nextLength = gpLength, startGP = ctrue(true);
    if (p.policy == "adaptive") {
      Value longer = arith::MinimumFOp::create(
          b, loc, arith::MulFOp::create(b, loc, gpLength, cf(p.growth)),
          cf(double(p.maxGpRun)));
      Value shorter = arith::MaximumFOp::create(
          b, loc, arith::DivFOp::create(b, loc, gpLength, cf(p.growth)),
          cf(double(p.minGpRun)));
      Value high = cmpf(arith::CmpFPredicate::OGE, quality, cf(p.highQuality));
      Value low = cmpf(arith::CmpFPredicate::OLT, quality, cf(p.lowQuality));
      nextLength = sel(high, longer, sel(low, shorter, gpLength));
      startGP = cmpf(arith::CmpFPredicate::OGE, quality, cf(p.minQuality));
    }
    Value lengthSteps = arith::MaxSIOp::create(
        b, loc, arith::FPToSIOp::create(b, loc, i64, nextLength), ci(1));
    // Switching: BP -> GP (if the predictor is good enough) or GP -> BP.
    Value toGP = arith::AndIOp::create(b, loc, inBP, startGP);
    Value switchPhase = sel(toGP, ci(1), ci(0));
    Value switchRemaining = sel(toGP, lengthSteps, ci(p.bpRun));
    Value switchLength = sel(inBP, nextLength, gpLength);
    Value notWarm = arith::XOrIOp::create(b, loc, warm, ctrue(true));
    Value doSwitch = arith::AndIOp::create(b, loc, ended, notWarm);
    phase = sel(warm, ci(0), sel(doSwitch, switchPhase, phase));
    remaining = sel(warm, ci(0), sel(doSwitch, switchRemaining, remaining));
    gpLength = sel(doSwitch, switchLength, gpLength);
    runStart = arith::AndIOp::create(b, loc, doSwitch, toGP);
    isGP = cmpi(arith::CmpIPredicate::eq, phase, ci(1));
    remaining =
        sel(warm, remaining, arith::SubIOp::create(b, loc, remaining, ci(1)));
  }

  // Whether a BP step trains the predictor: every predictor-every-th BP
  // step, counting from the first.
  Value trainsPredictor = ctrue(true);
  if (p.predictorEvery > 1)
    trainsPredictor = cmpi(
        arith::CmpIPredicate::eq,
        arith::RemSIOp::create(b, loc, bpCount, ci(p.predictorEvery)), ci(0));

  // The step.
  auto branch = scf::IfOp::create(b, loc, TypeRange{lossType}, isGP,
                                  /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    auto call = func::CallOp::create(b, loc, gpStep, ValueRange{x, y});
    scf::YieldOp::create(b, loc, call.getResults());
    b.setInsertionPointToStart(&branch.getElseRegion().front());
    if (bpPlainStep) {
      auto withPredictor = scf::IfOp::create(b, loc, TypeRange{lossType},
                                             trainsPredictor,
                                             /*withElseRegion=*/true);
      b.setInsertionPointToStart(&withPredictor.getThenRegion().front());
      call = func::CallOp::create(b, loc, bpStep, ValueRange{x, y});
      scf::YieldOp::create(b, loc, call.getResults());
      b.setInsertionPointToStart(&withPredictor.getElseRegion().front());
      call = func::CallOp::create(b, loc, bpPlainStep, ValueRange{x, y});
      scf::YieldOp::create(b, loc, call.getResults());
      b.setInsertionPointAfter(withPredictor);
      scf::YieldOp::create(b, loc, withPredictor.getResults());
    } else {
      call = func::CallOp::create(b, loc, bpStep, ValueRange{x, y});
      scf::YieldOp::create(b, loc, call.getResults());
    }
  }
  Value lossTensor = branch.getResult(0);
  Value loss = tensor::ExtractOp::create(b, loc, lossTensor, ValueRange{});
  if (loss.getType() != f32)
    loss = arith::TruncFOp::create(b, loc, f32, loss);

  // Moving averages: BP steps after warm-up feed the loss and quality.
  Value isBP = arith::XOrIOp::create(b, loc, isGP, ctrue(true));
  auto elementOf = [](ml_program::GlobalOp g) {
    return cast<ShapedType>(g.getType()).getElementType();
  };
  Value stepQuality =
      loadScalar(qualityGlobal.getSymName(), elementOf(qualityGlobal));
  if (stepQuality.getType() != f32)
    stepQuality = arith::TruncFOp::create(b, loc, f32, stepQuality);
  Value predictorLoss = cf(0);
  if (lossGlobal) {
    predictorLoss = loadScalar(lossGlobal.getSymName(), elementOf(lossGlobal));
    if (predictorLoss.getType() != f32)
      predictorLoss = arith::TruncFOp::create(b, loc, f32, predictorLoss);
  }
  Value first = cmpi(arith::CmpIPredicate::eq, bpCount, ci(0));
  Value newQuality =
      sel(first, stepQuality, mix(quality, stepQuality, kQualityAverage));
  Value newBPLoss = sel(first, loss, mix(bpLoss, loss, kBPLossAverage));
  // Predictor figures come only from the BP steps that train it.
  Value measured = arith::AndIOp::create(b, loc, isBP, trainsPredictor);
  quality = sel(measured, newQuality, quality);
  bpLoss = sel(isBP, newBPLoss, bpLoss);
  bpCount = sel(isBP, arith::AddIOp::create(b, loc, bpCount, ci(1)), bpCount);

  if (p.policy == "adaptive") {
    // A GP run's loss average starts at the BP level; a run whose average
    // rises above it by the margin ends now, and the next one is shorter.
    Value base = sel(runStart, bpLoss, gpLoss);
    Value newGPLoss = mix(base, loss, kGPLossAverage);
    gpLoss = sel(isGP, newGPLoss, gpLoss);
    Value limit = arith::MulFOp::create(b, loc, bpLoss, cf(1 + p.lossMargin));
    Value rising = arith::AndIOp::create(
        b, loc, isGP, cmpf(arith::CmpFPredicate::OGT, newGPLoss, limit));
    remaining = sel(rising, ci(0), remaining);
    gpLength =
        sel(rising,
            arith::MaximumFOp::create(
                b, loc, arith::DivFOp::create(b, loc, gpLength, cf(p.growth)),
                cf(double(p.minGpRun))),
            gpLength);
  }

  auto store = [&](StringRef s, Value v) {
    Value t = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, v.getType()), ValueRange{v});
    ml_program::GlobalStoreOp::create(
        b, loc, SymbolRefAttr::get(b.getStringAttr(stateName(s))), t);
  };
  store("phase", phase);
  store("remaining", remaining);
  store("gp_length", gpLength);
  store("bp_loss", bpLoss);
  store("gp_loss", gpLoss);
  store("quality", quality);
  store("bp_count", bpCount);

  // The step's record: predictor figures only for BP steps.
  Value nan = cf(std::numeric_limits<double>::quiet_NaN());
  auto asTensor = [&](Value v) -> Value {
    return tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, v.getType()), ValueRange{v});
  };
  gp::ReportOp::create(
      b, loc, asTensor(arith::ExtUIOp::create(b, loc, i64, isGP)),
      asTensor(loss), asTensor(sel(measured, predictorLoss, nan)),
      asTensor(sel(measured, stepQuality, nan)));

  b.setInsertionPointAfter(loop);
  func::ReturnOp::create(b, loc);
  schedule.erase();
  return success();
}

void LowerSchedule::runOnOperation() {
  ModuleOp module = getOperation();
  auto schedules = llvm::to_vector(module.getOps<gp::ScheduleOp>());
  if (schedules.size() != 1) {
    module.emitError("--adagp-lower-schedule: expected one adagp.schedule, "
                     "found ")
        << schedules.size()
        << (schedules.empty() ? " (run --adagp-insert-predictors first)" : "");
    return signalPassFailure();
  }
  auto resolved = resolve(schedules.front());
  if (failed(resolved) || failed(build(schedules.front(), *resolved)))
    return signalPassFailure();
}
