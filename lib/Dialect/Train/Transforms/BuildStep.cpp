//===- BuildStep.cpp - The --train-build-step pass ------------------------===//

#include "adagp/Dialect/NN/Autodiff.h"
#include "adagp/Dialect/NN/ModelStats.h"
#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Dialect/Train/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"

namespace adagp::train {
#define GEN_PASS_DEF_TRAINBUILDSTEP
#include "adagp/Dialect/Train/Passes.h.inc"
} // namespace adagp::train

using namespace mlir;
using namespace adagp;

std::string adagp::train::momentumGlobal(StringRef parameter) {
  return (parameter + ".momentum").str();
}
std::string adagp::train::adamMGlobal(StringRef parameter) {
  return (parameter + ".adam_m").str();
}
std::string adagp::train::adamVGlobal(StringRef parameter) {
  return (parameter + ".adam_v").str();
}

namespace {

struct TrainBuildStep
    : adagp::train::impl::TrainBuildStepBase<TrainBuildStep> {
  using TrainBuildStepBase::TrainBuildStepBase;

  void runOnOperation() override;

private:
  LogicalResult checkOptions();
  ml_program::GlobalOp stateGlobal(StringRef name, RankedTensorType type,
                                   Operation *after);
  /// Clones @forward's body into `func` after its leading arguments; the
  /// returned value is the model's (single) output.
  FailureOr<Value> cloneForward(func::FuncOp forward, func::FuncOp func,
                                OpBuilder &b, IRMapping &mapping);
  LogicalResult buildTrainingStep(func::FuncOp forward, bool update);
  LogicalResult buildEvalStep(func::FuncOp forward);

  ModuleOp module;
  SymbolTable *symbols = nullptr;
};

} // namespace

LogicalResult TrainBuildStep::checkOptions() {
  auto fail = [&]() { return module.emitError("--train-build-step: "); };
  if (loss != "cross-entropy" && loss != "mse")
    return fail() << "option 'loss' must be cross-entropy or mse, got '"
                  << loss << "'";
  if (optimizer != "sgd" && optimizer != "adam" && optimizer != "adamw")
    return fail() << "option 'optimizer' must be sgd, adam or adamw, got '"
                  << optimizer << "'";
  if (!(lr > 0))
    return fail() << "option 'lr' must be positive, got " << double(lr);
  if (!(momentum >= 0 && momentum <= 1))
    return fail() << "option 'momentum' must be in [0, 1], got "
                  << double(momentum);
  if (nesterov && momentum == 0)
    return fail() << "option 'nesterov' needs a non-zero 'momentum'";
  if (!(weightDecay >= 0))
    return fail() << "option 'weight-decay' must be non-negative, got "
                  << double(weightDecay);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    return fail() << "options 'beta1' and 'beta2' must be in [0, 1)";
  if (!(epsilon > 0))
    return fail() << "option 'epsilon' must be positive";
  if (schedule != "constant" && schedule != "step" && schedule != "cosine")
    return fail() << "option 'lr-schedule' must be constant, step or "
                     "cosine, got '"
                  << schedule << "'";
  if (stepSize <= 0 || totalSteps <= 0)
    return fail() << "options 'lr-step-size' and 'lr-total-steps' must be "
                     "positive";
  return success();
}

ml_program::GlobalOp TrainBuildStep::stateGlobal(StringRef name,
                                                 RankedTensorType type,
                                                 Operation *after) {
  if (auto existing = symbols->lookup<ml_program::GlobalOp>(name))
    return existing;
  OpBuilder b(after);
  b.setInsertionPointAfter(after);
  Attribute zero = type.getElementType().isInteger(64)
                       ? Attribute(b.getI64IntegerAttr(0))
                       : Attribute(b.getZeroAttr(type.getElementType()));
  auto global = ml_program::GlobalOp::create(
      b, after->getLoc(), name, type, /*is_mutable=*/true,
      DenseElementsAttr::get(type, zero), b.getStringAttr("private"));
  symbols->insert(global);
  return global;
}

FailureOr<Value> TrainBuildStep::cloneForward(func::FuncOp forward,
                                              func::FuncOp func, OpBuilder &b,
                                              IRMapping &mapping) {
  Block &body = forward.getBody().front();
  for (auto [from, to] :
       llvm::zip(forward.getArguments(), func.getArguments()))
    mapping.map(from, to);
  Value output;
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      if (ret.getNumOperands() != 1)
        return forward.emitError("the model has ")
               << ret.getNumOperands()
               << " outputs; training needs exactly one (the logits)";
      output = mapping.lookup(ret.getOperand(0));
      continue;
    }
    b.clone(op, mapping);
  }
  return output;
}

/// The global a value was loaded from, if it was.
static ml_program::GlobalLoadOp loadOf(Value v) {
  return v.getDefiningOp<ml_program::GlobalLoadOp>();
}

LogicalResult TrainBuildStep::buildTrainingStep(func::FuncOp forward,
                                                bool update) {
  Location loc = forward.getLoc();
  auto outputType =
      dyn_cast<RankedTensorType>(forward.getFunctionType().getResult(0));
  bool crossEntropy = loss == "cross-entropy";
  if (crossEntropy && (!outputType || outputType.getRank() != 2))
    return forward.emitError("the model's output has type ")
           << forward.getFunctionType().getResult(0)
           << "; cross-entropy needs one row of class logits per example "
              "([batch, classes])";
  Type element = outputType.getElementType();
  Type labelType =
      crossEntropy
          ? Type(RankedTensorType::get({outputType.getDimSize(0)},
                                       IntegerType::get(&getContext(), 64)))
          : Type(outputType);
  SmallVector<Type> argTypes(forward.getArgumentTypes());
  argTypes.push_back(labelType);
  auto scalarType = RankedTensorType::get({}, element);
  auto stepType = RankedTensorType::get({}, IntegerType::get(&getContext(), 64));

  OpBuilder mb(module.getBody(), module.getBody()->end());
  StringRef name = update ? "bp_step" : "gradients";
  if (symbols->lookup(name))
    return module.emitError("the module already has a function @") << name;
  SmallVector<Type> results = {scalarType};
  auto func = func::FuncOp::create(mb, loc, name,
                                   mb.getFunctionType(argTypes, results));
  symbols->insert(func);
  Block *entry = func.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockEnd(entry);

  // The step counter: the random key of dropout, the learning-rate
  // schedule's position, Adam's bias correction.
  auto stepGlobal = stateGlobal(train::kStepGlobal, stepType, forward);
  Value step = ml_program::GlobalLoadOp::create(
      b, loc, stepType, SymbolRefAttr::get(stepGlobal.getSymNameAttr()));
  Value key = tensor::ExtractOp::create(b, loc, step, ValueRange{});

  IRMapping mapping;
  auto output = cloneForward(forward, func, b, mapping);
  if (failed(output))
    return failure();
  Value labels = entry->getArguments().back();
  func.setArgAttr(argTypes.size() - 1, "onnx.name",
                  b.getStringAttr("labels"));
  func.walk([&](nn::DropoutOp op) {
    if (dropout) {
      op.getKeyMutable().assign(key);
      return;
    }
    // The model's output may be the dropout's result, which is not a use.
    if (*output == op.getResult())
      *output = op.getInput();
    op.getResult().replaceAllUsesWith(op.getInput());
    op.erase();
  });

  Value lossValue =
      crossEntropy
          ? Value(train::SoftmaxCrossEntropyOp::create(b, loc, scalarType,
                                                       *output, labels))
          : Value(train::MSELossOp::create(b, loc, scalarType, *output,
                                           labels));

  // Trained parameters: float globals that are not running statistics.
  llvm::MapVector<StringRef, SmallVector<Value>> parameters;
  for (auto load : func.getOps<ml_program::GlobalLoadOp>()) {
    auto type = dyn_cast<RankedTensorType>(load.getType());
    if (load.getResult() == step || !type ||
        !isa<FloatType>(type.getElementType()) ||
        nn::isOnlyRunningStatistic(load.getResult()))
      continue;
    parameters[load.getGlobal().getLeafReference()].push_back(load);
  }
  if (parameters.empty())
    return forward.emitError("the model has no trainable parameter");
  SmallVector<Value> wrt;
  for (auto &[_, loads] : parameters)
    wrt.append(loads.begin(), loads.end());
  auto grads = nn::differentiate(b, lossValue, wrt);
  if (failed(grads))
    return failure();
  // One gradient per parameter (a global loaded twice sums both).
  SmallVector<Value> paramGrads;
  size_t k = 0;
  for (auto &[_, loads] : parameters) {
    Value sum;
    for (size_t i = 0; i < loads.size(); ++i, ++k) {
      Value g = (*grads)[k];
      if (g)
        sum = sum ? Value(nn::AddOp::create(b, loc, sum, g)) : g;
    }
    paramGrads.push_back(sum);
  }

  if (!update) {
    // @gradients: loss and every gradient (zeros where the loss does not
    // depend on the parameter), no state change.
    SmallVector<Value> returned = {lossValue};
    SmallVector<Attribute> names;
    for (auto [i, entry] : llvm::enumerate(parameters)) {
      Value g = paramGrads[i];
      auto type = cast<RankedTensorType>(entry.second.front().getType());
      if (!g)
        g = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
      returned.push_back(g);
      names.push_back(b.getStringAttr(entry.first));
    }
    func::ReturnOp::create(b, loc, returned);
    func.setType(b.getFunctionType(argTypes, ValueRange(returned).getTypes()));
    func->setAttr("train.parameters", b.getArrayAttr(names));
    return success();
  }

  // The optimizer: new values of parameters and state, stored at the end
  // so that no load of a global sees a store of the same step.
  Value rate = train::LRScheduleOp::create(
      b, loc, scalarType, step, b.getStringAttr(schedule),
      b.getF64FloatAttr(lr), b.getF64FloatAttr(gamma),
      b.getI64IntegerAttr(stepSize), b.getI64IntegerAttr(totalSteps),
      b.getF64FloatAttr(minLr));
  SmallVector<std::pair<StringRef, Value>> stores;
  auto load = [&](ml_program::GlobalOp g) -> Value {
    return ml_program::GlobalLoadOp::create(
        b, loc, g.getType(), SymbolRefAttr::get(g.getSymNameAttr()));
  };
  for (auto [i, entry] : llvm::enumerate(parameters)) {
    Value g = paramGrads[i];
    if (!g)
      continue;
    StringRef paramName = entry.first;
    auto global = symbols->lookup<ml_program::GlobalOp>(paramName);
    auto type = cast<RankedTensorType>(global.getType());
    Value param = entry.second.front();
    if (optimizer == "sgd") {
      auto v = stateGlobal(train::momentumGlobal(paramName), type, global);
      auto upd = train::SGDUpdateOp::create(
          b, loc, type, type, param, g, load(v), rate,
          b.getF64FloatAttr(momentum), b.getF64FloatAttr(weightDecay),
          b.getBoolAttr(nesterov));
      stores.push_back({paramName, upd.getNewParam()});
      stores.push_back({v.getSymName(), upd.getNewVelocity()});
    } else {
      auto m = stateGlobal(train::adamMGlobal(paramName), type, global);
      auto v = stateGlobal(train::adamVGlobal(paramName), type, global);
      auto upd = train::AdamUpdateOp::create(
          b, loc, type, type, type, param, g, load(m), load(v), rate, step,
          b.getF64FloatAttr(beta1), b.getF64FloatAttr(beta2),
          b.getF64FloatAttr(epsilon), b.getF64FloatAttr(weightDecay),
          b.getBoolAttr(optimizer == "adamw"));
      stores.push_back({paramName, upd.getNewParam()});
      stores.push_back({m.getSymName(), upd.getNewM()});
      stores.push_back({v.getSymName(), upd.getNewV()});
    }
  }
  // Batch-norm running statistics of the batch.
  func.walk([&](nn::BatchNormTrainOp bn) {
    if (auto mean = loadOf(bn.getRunningMean()))
      stores.push_back(
          {mean.getGlobal().getLeafReference(), bn.getRunningMeanOut()});
    if (auto var = loadOf(bn.getRunningVar()))
      stores.push_back(
          {var.getGlobal().getLeafReference(), bn.getRunningVarOut()});
  });
  Value one = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(stepType, b.getI64IntegerAttr(1)));
  stores.push_back(
      {stepGlobal.getSymName(), arith::AddIOp::create(b, loc, step, one)});
  for (auto [global, value] : stores)
    ml_program::GlobalStoreOp::create(
        b, loc, SymbolRefAttr::get(b.getStringAttr(global)), value);
  func::ReturnOp::create(b, loc, lossValue);
  return success();
}

LogicalResult TrainBuildStep::buildEvalStep(func::FuncOp forward) {
  Location loc = forward.getLoc();
  OpBuilder mb(module.getBody(), module.getBody()->end());
  if (symbols->lookup("eval_step"))
    return module.emitError("the module already has a function @eval_step");
  auto func = func::FuncOp::create(mb, loc, "eval_step",
                                   forward.getFunctionType());
  symbols->insert(func);
  Block *entry = func.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  IRMapping mapping;
  auto output = cloneForward(forward, func, b, mapping);
  if (failed(output))
    return failure();
  func::ReturnOp::create(b, loc, *output);
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    if (auto name = forward.getArgAttr(i, "onnx.name"))
      func.setArgAttr(i, "onnx.name", name);

  // Inference semantics: running statistics, no dropout.
  LogicalResult result = success();
  func.walk([&](Operation *op) {
    if (auto bn = dyn_cast<nn::BatchNormTrainOp>(op)) {
      for (unsigned i = 1; i < 5; ++i)
        if (!bn->getResult(i).use_empty()) {
          result = bn.emitError("a training-mode batch norm whose "
                                "statistics are used has no inference form");
          return;
        }
      OpBuilder ob(bn);
      auto inference = nn::BatchNormInferenceOp::create(
          ob, bn.getLoc(), bn.getInput(), bn.getScale(), bn.getBias(),
          bn.getRunningMean(), bn.getRunningVar(), bn.getEpsilonAttr());
      bn.getResult().replaceAllUsesWith(inference.getResult());
      bn.erase();
    } else if (auto dropout = dyn_cast<nn::DropoutOp>(op)) {
      dropout.getResult().replaceAllUsesWith(dropout.getInput());
      dropout.erase();
    }
  });
  return result;
}

void TrainBuildStep::runOnOperation() {
  module = getOperation();
  SymbolTable table(module);
  symbols = &table;
  if (failed(checkOptions()))
    return signalPassFailure();
  auto forward = table.lookup<func::FuncOp>(functionName);
  if (!forward || forward.isExternal()) {
    module.emitError("--train-build-step: no function @")
        << functionName << " to train";
    return signalPassFailure();
  }
  if (!forward.getBody().hasOneBlock()) {
    forward.emitError("the model function must have a single block");
    return signalPassFailure();
  }
  if (failed(buildTrainingStep(forward, /*update=*/true)) ||
      failed(buildEvalStep(forward)) ||
      (gradientsFunction &&
       failed(buildTrainingStep(forward, /*update=*/false))))
    return signalPassFailure();
}
