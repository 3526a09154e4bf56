//===- LowerSteps.cpp - Step functions -> accelerator subroutines ---------===//
//
// Walks each planned step function in order and hands every op to its
// lowering (the registry the Lower*.cpp files fill); the instructions go
// into an accel.program of kind "subroutine" that replaces the function.
// The phase label of each instruction says which part of the step it
// belongs to (forward, loss, backward, update, control, eval), which is how
// the simulator's report splits the cost.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/ADAGP/ADAGPDialect.h"
#include "llvm/ADT/StringSet.h"
#include "adagp/Dialect/Accel/Passes.h"

#include "adagp/Dialect/NN/NNDialect.h"
#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

namespace adagp::accel {
#define GEN_PASS_DEF_ACCELLOWERSTEPS
#include "adagp/Dialect/Accel/Passes.h.inc"
} // namespace adagp::accel

using namespace mlir;

namespace adagp::accel {

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

RegionAttr LoweringContext::region(Value v) {
  RegionAttr r = getRegion(v);
  if (!r) {
    Operation *at = v.getDefiningOp() ? v.getDefiningOp() : func;
    at->emitError("has no DRAM region (run --accel-plan-dram first)");
  }
  return r;
}

isa::TensorClass LoweringContext::cls(Value v) {
  isa::TensorClass c = isa::TensorClass::Other;
  if (RegionAttr r = getRegion(v))
    isa::parseTensorClass(r.getCls().str(), c);
  return c;
}

unsigned LoweringContext::allocRegister(Operation *op) {
  if (nextRegister >= 31) {
    op->emitError("the step needs more than 27 scalar registers");
    return 30;
  }
  return nextRegister++;
}

void LoweringContext::addData(Attribute value, RegionAttr region) {
  OpBuilder b(func);
  DataOp::create(b, func.getLoc(), cast<ElementsAttr>(value), region);
}

bool readTile(Operation *op, GemmTile &tile) {
  auto d = op->getAttrOfType<DictionaryAttr>("accel.tile");
  if (!d)
    return false;
  auto get = [&](StringRef k) -> int64_t {
    if (auto a = d.getAs<IntegerAttr>(k))
      return a.getInt();
    return 0;
  };
  tile.m = get("m");
  tile.k = get("k");
  tile.n = get("n");
  auto swap = d.getAs<BoolAttr>("swap");
  tile.swap = swap && swap.getValue();
  return tile.m > 0 && tile.k > 0 && tile.n > 0;
}

void writeTile(Operation *op, const GemmTile &tile) {
  Builder b(op->getContext());
  op->setAttr("accel.tile",
              b.getDictionaryAttr({b.getNamedAttr("m", b.getI64IntegerAttr(
                                                           tile.m)),
                                   b.getNamedAttr("k", b.getI64IntegerAttr(
                                                           tile.k)),
                                   b.getNamedAttr("n", b.getI64IntegerAttr(
                                                           tile.n)),
                                   b.getNamedAttr("swap",
                                                  b.getBoolAttr(tile.swap))}));
}

int64_t spadBankElems(const sim::Config &cfg) {
  return int64_t(cfg.spadElements() / std::max(1u, cfg.spadBanks));
}

int64_t numElements(Type t) {
  return cast<ShapedType>(t).getNumElements();
}

std::optional<double> constantScalar(Value v) {
  DenseElementsAttr dense;
  if (!matchPattern(v, m_Constant(&dense)) || !dense.isSplat())
    return std::nullopt;
  Type et = dense.getElementType();
  if (llvm::isa<FloatType>(et))
    return dense.getSplatValue<APFloat>().convertToDouble();
  if (llvm::isa<IntegerType>(et))
    return double(dense.getSplatValue<APInt>().getSExtValue());
  return std::nullopt;
}

LogicalResult loadAccelConfig(Operation *op, StringRef path,
                              sim::Config &config) {
  if (path.empty()) {
    config = sim::defaultConfig();
    return success();
  }
  std::string err;
  if (!sim::loadConfig(path.str(), config, err))
    return op->emitError("accelerator configuration: ") << err;
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {

bool isScalarOp(Operation *op) {
  if (llvm::isa<train::LRScheduleOp, tensor::ExtractOp>(op))
    return true;
  if (llvm::isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(op))
    return true;
  auto scalar = [](Type t) {
    auto rt = dyn_cast<RankedTensorType>(t);
    return rt && rt.getRank() == 0 && rt.getElementType().isInteger(64);
  };
  if (auto l = dyn_cast<ml_program::GlobalLoadOp>(op))
    return scalar(l.getType());
  if (auto s = dyn_cast<ml_program::GlobalStoreOp>(op))
    return scalar(s.getValue().getType());
  return false;
}

bool isLossOp(Operation *op) {
  return llvm::isa<train::SoftmaxCrossEntropyOp, train::SoftmaxCrossEntropyGradOp,
             train::MSELossOp, train::MSELossGradOp>(op);
}

bool isUpdateOp(Operation *op) {
  return llvm::isa<train::SGDUpdateOp, train::AdamUpdateOp,
             ml_program::GlobalStoreOp>(op);
}

struct AccelLowerStepsPass
    : public impl::AccelLowerStepsBase<AccelLowerStepsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    sim::Config cfg;
    if (failed(loadAccelConfig(module, configPath, cfg)))
      return signalPassFailure();
    LoweringRegistry registry;
    populateConvLowerings(registry);
    populateMatmulLowerings(registry);
    populateElementwiseLowerings(registry);
    populatePoolLowerings(registry);
    populateNormLowerings(registry);
    populateLossLowerings(registry);
    populateOptimizerLowerings(registry);
    populateScalarLowerings(registry);
    populateShapeLowerings(registry);
    populateTransposeLowerings(registry);
    populateADAGPLowerings(registry);

    SmallVector<func::FuncOp> steps;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr("accel.step"))
        steps.push_back(f);
    // Functions that call a step (ADA-GP's @train, whose BP/GP choice the
    // accelerator program leaves to the host's schedule stream) and steps
    // that were not planned (@bp_step of a GP-only program) have no
    // accelerator form: drop them so the module stays valid.
    llvm::StringSet<> names;
    for (func::FuncOp f : steps)
      names.insert(f.getSymName());
    for (auto f : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      if (f->hasAttr("accel.step"))
        continue;
      bool callsStep = false;
      f.walk([&](func::CallOp call) {
        callsStep |= names.contains(call.getCallee());
      });
      if (!callsStep)
        continue;
      // Which BP steps train the predictor (--adagp-lower-schedule's
      // predictor-every) is the one rule of @train the host needs: it
      // travels to the program's symbol table (--accel-build-program).
      if (auto every = f->getAttrOfType<IntegerAttr>("adagp.predictor_every")) {
        if (every.getInt() < 1) {
          f.emitError("adagp.predictor_every must be at least 1, got ")
              << every.getInt();
          return signalPassFailure();
        }
        module->setAttr("accel.predictor_every", every);
      }
      f.erase();
    }
    for (func::FuncOp f : steps)
      if (failed(lowerFunction(f, registry, cfg)))
        return signalPassFailure();
  }

  LogicalResult lowerFunction(func::FuncOp f, const LoweringRegistry &registry,
                              const sim::Config &cfg) {
    OpBuilder b(f);
    auto program =
        ProgramOp::create(b, f.getLoc(), f.getSymName(), "subroutine");
    // What the driver needs: the step kind and the host buffers.
    SmallVector<Attribute> inputs, results;
    for (BlockArgument arg : f.getArguments())
      inputs.push_back(getRegion(arg));
    auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
    for (Value v : ret.getOperands())
      results.push_back(getRegion(v) ? Attribute(getRegion(v))
                                     : Attribute(b.getUnitAttr()));
    program->setAttr("accel.step", f->getAttr("accel.step"));
    program->setAttr("accel.inputs", b.getArrayAttr(inputs));
    program->setAttr("accel.results", b.getArrayAttr(results));
    SmallVector<Attribute> types;
    for (Type t : f.getFunctionType().getInputs())
      types.push_back(TypeAttr::get(t));
    program->setAttr("accel.input_types", b.getArrayAttr(types));
    SmallVector<Attribute> names;
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      auto n = f.getArgAttrOfType<StringAttr>(i, "accel.input_name");
      names.push_back(n ? n : b.getStringAttr("input"));
    }
    program->setAttr("accel.input_names", b.getArrayAttr(names));
    types.clear();
    for (Type t : f.getFunctionType().getResults())
      types.push_back(TypeAttr::get(t));
    program->setAttr("accel.result_types", b.getArrayAttr(types));

    OpBuilder ib(program.getBody());
    ib.setInsertionPointToEnd(&program.getBlock());
    InstBuilder inst(ib, f.getLoc());
    LoweringContext ctx(cfg, inst, f, f->getParentOfType<ModuleOp>());

    bool isEval = f->getAttrOfType<StringAttr>("accel.step").getValue() ==
                  "eval";
    bool afterLoss = false;
    // ADA-GP's work: values computed from the predictor's state (its
    // parameters, baseline and scales, globals named adagp.*) or from the
    // reorganised activations. Model weight updates that consume a
    // predicted gradient stay in the update phase.
    llvm::DenseSet<Value> predictorValues;
    auto isPredictorGlobal = [](Value v) {
      auto load = v.getDefiningOp<ml_program::GlobalLoadOp>();
      return load && load.getGlobal().getLeafReference().getValue().starts_with(
                         "adagp.");
    };
    auto fromPredictor = [&](Value v) {
      return predictorValues.contains(v) || isPredictorGlobal(v);
    };
    for (Operation &op : f.getBody().front()) {
      if (llvm::isa<func::ReturnOp>(op))
        continue;
      bool reorg = llvm::isa<gp::ReorganizeOp, gp::ReorganizeGradientOp>(op);
      bool predictor =
          !isScalarOp(&op) && llvm::any_of(op.getOperands(), fromPredictor);
      bool modelUpdate = isUpdateOp(&op) && op.getNumOperands() > 0 &&
                         !fromPredictor(op.getOperand(0));
      if (modelUpdate)
        predictor = false;
      if (reorg || predictor)
        for (Value r : op.getResults())
          predictorValues.insert(r);
      // The phase: which part of the step this op belongs to.
      isa::Phase phase;
      if (isScalarOp(&op))
        phase = isa::Phase::Control;
      else if (isEval)
        phase = isa::Phase::Eval;
      else if (reorg)
        phase = isa::Phase::Reorg;
      else if (predictor)
        phase = isa::Phase::Predictor;
      else if (isLossOp(&op))
        phase = isa::Phase::Loss, afterLoss = true;
      else if (isUpdateOp(&op))
        phase = isa::Phase::Update;
      else
        phase = afterLoss ? isa::Phase::Backward : isa::Phase::Forward;
      // Lowered with an earlier op (a fused element-wise group).
      if (ctx.done.contains(&op))
        continue;
      inst.setPhase(phase);
      inst.setLoc(op.getLoc());
      const LowerFn *fn = registry.lookup(op.getName().getStringRef());
      if (!fn)
        return op.emitError() << op.getName() << " (in @"
                              << f.getSymName()
                              << ") has no accelerator lowering";
      if (failed((*fn)(&op, ctx)))
        return failure();
    }
    if (program.getBlock().empty()) {
      // A subroutine needs at least one instruction to be a call target.
      inst.setPhase(isa::Phase::Control);
      inst.emit(isa::makeInstruction(isa::Opcode::Nop));
    }
    f.erase();
    return success();
  }
};

} // namespace
} // namespace adagp::accel
