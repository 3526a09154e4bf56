//===- InsertPredictors.cpp - The --adagp-insert-predictors pass ----------===//
//
// Adds ADA-GP's shared gradient predictor to a module that
// --train-build-step produced: the predictor's parameters and optimizer
// state as globals, its training (and the measurement of its quality)
// inside @bp_step, and a new @gp_step that updates each layer right after
// its forward pass with a predicted gradient. docs/adagp.md shows the IR.
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/ADAGP/Passes.h"
#include "adagp/Dialect/NN/Autodiff.h"
#include "adagp/Dialect/NN/ModelStats.h"
#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Dialect/Train/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

namespace adagp::gp {
#define GEN_PASS_DEF_INSERTPREDICTORS
#include "adagp/Dialect/ADAGP/Passes.h.inc"
} // namespace adagp::gp

using namespace mlir;
using namespace adagp;
using adagp::gp::kBiasScaleGlobal;
using adagp::gp::kPredictorLossGlobal;
using adagp::gp::kPredictorPrefix;
using adagp::gp::kQualityGlobal;
using adagp::gp::kScaleGlobal;

namespace {

/// A convolution or linear layer whose weight is a trained global.
struct Layer {
  Operation *forwardOp = nullptr; // in @forward
  std::string weight;             // global of the weight
  std::string bias;               // global of the bias, or empty
  RankedTensorType weightType;
  RankedTensorType biasType;
  int64_t channels = 0;   // output channels (rows of the weight)
  int64_t filterSize = 0; // elements per output channel
  bool linear = false;
  /// What GP steps do with it.
  enum class GP { Predict, Exact, Freeze } gp = GP::Freeze;
  unsigned predictedIndex = 0; // among the predicted layers
};

/// SplitMix64, the generator the data loader uses too: predictor weights
/// depend only on the seed.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [-bound, bound).
  double uniform(double bound) {
    return (double(next() >> 11) * 0x1.0p-53 * 2.0 - 1.0) * bound;
  }
};

struct InsertPredictors
    : adagp::gp::impl::InsertPredictorsBase<InsertPredictors> {
  using InsertPredictorsBase::InsertPredictorsBase;
  void runOnOperation() override;

private:
  LogicalResult checkOptions();
  LogicalResult findLayers(func::FuncOp forward);
  ml_program::GlobalOp createGlobal(StringRef name, RankedTensorType type,
                                    Attribute value);
  void createPredictorGlobals();
  Value load(OpBuilder &b, Location loc, StringRef global);
  /// The predictor on samples `[B, 2, P, P]`, giving `[B, width]`; records
  /// the loads of its parameters in `params` when given.
  Value buildPredictor(OpBuilder &b, Location loc, Value samples,
                       SmallVectorImpl<Value> *params = nullptr);
  /// A layer's predictor input: its reorganized output plus a constant
  /// plane with the layer's depth code.
  Value buildSample(OpBuilder &b, Location loc, Value output,
                    const Layer &layer);
  Value constant(OpBuilder &b, Location loc, RankedTensorType type,
                 ArrayRef<float> values);
  Value splat(OpBuilder &b, Location loc, RankedTensorType type, double v);
  /// Element `index` of a 1-D global `[n]` as a 0-d tensor.
  Value globalElement(OpBuilder &b, Location loc, StringRef global,
                      int64_t index);
  void createStateGlobals();
  static std::string baselineGlobal() {
    return (kPredictorPrefix + StringRef("baseline")).str();
  }
  LogicalResult extendBPStep(func::FuncOp bpStep);
  LogicalResult buildGPStep(func::FuncOp forward, func::FuncOp bpStep);
  void createSchedule();

  ModuleOp module;
  SymbolTable *symbols = nullptr;
  Type element;
  SmallVector<Layer> modelLayers;
  SmallVector<Layer *> predicted;
  int64_t width = 0;       // predictor output width (incl. bias column)
  int64_t filterWidth = 0; // largest predicted filter
  int64_t totalRows = 0;   // output channels of all predicted layers
  /// First row of each predicted layer in the stacked samples.
  SmallVector<int64_t> rowOffset;
  bool predictBias = false;
  /// Predictor parameter globals in the order buildPredictor loads them.
  SmallVector<std::string> predictorParams;
  Operation *globalsAnchor = nullptr;
};

} // namespace

LogicalResult InsertPredictors::checkOptions() {
  auto fail = [&](StringRef option) {
    return module.emitError("--adagp-insert-predictors: option '")
           << option << "' ";
  };
  if (pooledSize < 1 || pooledSize > 32)
    return fail("pooled-size")
           << "must be in [1, 32], got " << int64_t(pooledSize);
  if (predictorWidth < 1 || predictorWidth > 256)
    return fail("predictor-width")
           << "must be in [1, 256], got " << int64_t(predictorWidth);
  if (predictorDepth < 0 || predictorDepth > 8)
    return fail("predictor-depth")
           << "must be in [0, 8], got " << int64_t(predictorDepth);
  if (predictorHidden < 1 || predictorHidden > 4096)
    return fail("predictor-hidden")
           << "must be in [1, 4096], got " << int64_t(predictorHidden);
  if (maxOutputs < 1 || maxOutputs > (1 << 20))
    return fail("max-outputs")
           << "must be in [1, 1048576], got " << int64_t(maxOutputs);
  if (linear != "predict" && linear != "freeze")
    return fail("linear") << "must be predict or freeze, got '" << linear
                          << "'";
  if (head != "exact" && head != "predict" && head != "freeze")
    return fail("head") << "must be exact, predict or freeze, got '" << head
                        << "'";
  if (bias != "freeze" && bias != "predict")
    return fail("bias") << "must be freeze or predict, got '" << bias << "'";
  if (batchNorm != "freeze")
    return fail("batch-norm") << "must be freeze, got '" << batchNorm << "'";
  if (predictorOptimizer != "adam" && predictorOptimizer != "sgd")
    return fail("predictor-optimizer")
           << "must be adam or sgd, got '" << predictorOptimizer << "'";
  if (!(predictorLr > 0 && predictorLr <= 1))
    return fail("predictor-lr")
           << "must be in (0, 1], got " << double(predictorLr);
  if (!(scaleMomentum >= 0 && scaleMomentum < 1))
    return fail("scale-momentum")
           << "must be in [0, 1), got " << double(scaleMomentum);
  if (baseline != "mean" && baseline != "none")
    return fail("baseline") << "must be mean or none, got '" << baseline << "'";
  if (!(baselineMomentum >= 0 && baselineMomentum < 1))
    return fail("baseline-momentum")
           << "must be in [0, 1), got " << double(baselineMomentum);
  return success();
}

static ml_program::GlobalLoadOp loadOf(Value v) {
  return v ? v.getDefiningOp<ml_program::GlobalLoadOp>()
           : ml_program::GlobalLoadOp();
}

static std::string globalName(ml_program::GlobalLoadOp load) {
  return load.getGlobal().getLeafReference().str();
}

LogicalResult InsertPredictors::findLayers(func::FuncOp forward) {
  // How often each global is used: a weight shared by two layers gets two
  // different gradients and is not predicted.
  llvm::StringMap<int> uses;
  forward.walk([&](ml_program::GlobalLoadOp load) {
    for (OpOperand &use : load->getUses())
      (void)use, ++uses[globalName(load)];
  });
  forward.walk([&](Operation *op) {
    Layer layer;
    Value weight, bias;
    if (auto conv = dyn_cast<nn::Conv2DOp>(op)) {
      weight = conv.getFilter();
      bias = conv.getBias();
    } else if (auto gemm = dyn_cast<nn::GemmOp>(op)) {
      // A linear layer as PyTorch exports it: x W^T + b with W [out, in].
      if (!gemm.getTransB() || gemm.getTransA())
        return;
      weight = gemm.getB();
      bias = gemm.getC();
      layer.linear = true;
    } else {
      return;
    }
    auto weightLoad = loadOf(weight);
    if (!weightLoad || uses[globalName(weightLoad)] != 1)
      return;
    layer.forwardOp = op;
    layer.weight = globalName(weightLoad);
    layer.weightType = cast<RankedTensorType>(weight.getType());
    if (auto biasLoad = loadOf(bias)) {
      if (cast<RankedTensorType>(bias.getType()).getRank() == 1 &&
          uses[globalName(biasLoad)] == 1) {
        layer.bias = globalName(biasLoad);
        layer.biasType = cast<RankedTensorType>(bias.getType());
      }
    }
    layer.channels = layer.weightType.getDimSize(0);
    layer.filterSize = layer.weightType.getNumElements() / layer.channels;
    modelLayers.push_back(layer);
  });
  if (modelLayers.empty())
    return forward.emitError("--adagp-insert-predictors: the model has no "
                             "trainable convolution or linear layer");

  llvm::StringSet<> chosen;
  for (const std::string &name : layerNames)
    chosen.insert(name);
  for (StringRef name : chosen.keys())
    if (llvm::none_of(modelLayers,
                      [&](const Layer &l) { return l.weight == name; }))
      return module.emitError("--adagp-insert-predictors: option 'layers' "
                              "names '")
             << name
             << "', which is not the weight of a trainable "
                "convolution or linear layer";
  for (auto [i, layer] : llvm::enumerate(modelLayers)) {
    bool isHead = i + 1 == modelLayers.size();
    if (isHead && head != "predict") {
      layer.gp = head == "exact" ? Layer::GP::Exact : Layer::GP::Freeze;
      continue;
    }
    bool wanted = chosen.empty() ? !(layer.linear && linear == "freeze")
                                 : chosen.contains(layer.weight);
    if (!wanted)
      continue;
    if (layer.filterSize > maxOutputs) {
      layer.forwardOp->emitWarning("--adagp-insert-predictors: the filter of ")
          << layer.weight << " has " << layer.filterSize
          << " elements, more than max-outputs=" << int64_t(maxOutputs)
          << "; it is not predicted";
      continue;
    }
    layer.gp = Layer::GP::Predict;
    layer.predictedIndex = predicted.size();
    predicted.push_back(&layer);
    rowOffset.push_back(totalRows);
    totalRows += layer.channels;
    filterWidth = std::max(filterWidth, layer.filterSize);
  }
  if (predicted.empty())
    return module.emitError("--adagp-insert-predictors: no layer is left to "
                            "predict (check the options 'layers', 'linear', "
                            "'head' and 'max-outputs')");
  predictBias = bias == "predict";
  width = filterWidth + (predictBias ? 1 : 0);
  return success();
}

ml_program::GlobalOp InsertPredictors::createGlobal(StringRef name,
                                                    RankedTensorType type,
                                                    Attribute value) {
  if (symbols->lookup(name)) {
    module.emitError("--adagp-insert-predictors: the module already has a "
                     "symbol @")
        << name << " (run the pass once)";
    signalPassFailure();
  }
  OpBuilder b(module.getContext());
  b.setInsertionPointAfter(globalsAnchor);
  auto global = ml_program::GlobalOp::create(b, globalsAnchor->getLoc(), name,
                                             type, /*is_mutable=*/true, value,
                                             b.getStringAttr("private"));
  symbols->insert(global);
  globalsAnchor = global;
  return global;
}

void InsertPredictors::createPredictorGlobals() {
  SplitMix64 rng{seed ^ 0xada6bULL};
  auto param = [&](StringRef name, ArrayRef<int64_t> shape, int64_t fanIn) {
    auto type = RankedTensorType::get(shape, element);
    // PyTorch's default initialisation of Conv2d and Linear.
    double bound = 1.0 / std::sqrt(double(fanIn));
    SmallVector<float> values(type.getNumElements());
    for (float &v : values)
      v = static_cast<float>(rng.uniform(bound));
    Attribute value =
        element.isF32()
            ? DenseElementsAttr::get(type, ArrayRef(values))
            : DenseElementsAttr::get(type, ArrayRef<double>(SmallVector<double>(
                                               values.begin(), values.end())));
    std::string full = (kPredictorPrefix + name).str();
    createGlobal(full, type, value);
    predictorParams.push_back(full);
  };
  int64_t channels = 2, p = pooledSize;
  for (int64_t d = 0; d < predictorDepth; ++d) {
    std::string prefix = "conv" + std::to_string(d);
    param(prefix + ".weight", {predictorWidth, channels, 3, 3}, channels * 9);
    param(prefix + ".bias", {predictorWidth}, channels * 9);
    channels = predictorWidth;
  }
  int64_t features = channels * p * p;
  param("hidden.weight", {predictorHidden, features}, features);
  param("hidden.bias", {predictorHidden}, features);
  param("head.weight", {width, predictorHidden}, predictorHidden);
  param("head.bias", {width}, predictorHidden);
}

Value InsertPredictors::load(OpBuilder &b, Location loc, StringRef global) {
  auto op = symbols->lookup<ml_program::GlobalOp>(global);
  assert(op && "unknown global");
  return ml_program::GlobalLoadOp::create(
      b, loc, op.getType(), SymbolRefAttr::get(op.getSymNameAttr()));
}

Value InsertPredictors::constant(OpBuilder &b, Location loc,
                                 RankedTensorType type,
                                 ArrayRef<float> values) {
  Attribute attr =
      element.isF32()
          ? DenseElementsAttr::get(type, values)
          : DenseElementsAttr::get(type, ArrayRef<double>(SmallVector<double>(
                                             values.begin(), values.end())));
  return arith::ConstantOp::create(b, loc, cast<TypedAttr>(attr));
}

Value InsertPredictors::splat(OpBuilder &b, Location loc, RankedTensorType type,
                              double v) {
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), v)));
}

Value InsertPredictors::globalElement(OpBuilder &b, Location loc,
                                      StringRef global, int64_t index) {
  Value all = load(b, loc, global);
  Value one = nn::SliceOp::create(b, loc, all, b.getDenseI64ArrayAttr({index}),
                                  b.getDenseI64ArrayAttr({1}),
                                  b.getDenseI64ArrayAttr({1}));
  return nn::ReshapeOp::create(b, loc, RankedTensorType::get({}, element), one);
}

Value InsertPredictors::buildPredictor(OpBuilder &b, Location loc, Value x,
                                       SmallVectorImpl<Value> *params) {
  unsigned next = 0;
  auto param = [&]() {
    Value v = load(b, loc, predictorParams[next++]);
    if (params)
      params->push_back(v);
    return v;
  };
  auto pair = [&](int64_t a) { return b.getDenseI64ArrayAttr({a, a}); };
  for (int64_t d = 0; d < predictorDepth; ++d) {
    Value w = param(), bias = param();
    x = nn::Conv2DOp::create(b, loc, x, w, bias, pair(1),
                             b.getDenseI64ArrayAttr({1, 1, 1, 1}), pair(1),
                             b.getI64IntegerAttr(1));
    x = nn::ReluOp::create(b, loc, x);
  }
  x = nn::FlattenOp::create(b, loc, x, b.getI64IntegerAttr(1));
  auto one = b.getF64FloatAttr(1.0);
  Value w1 = param(), b1 = param();
  x = nn::GemmOp::create(b, loc, x, w1, b1, one, one, b.getBoolAttr(false),
                         b.getBoolAttr(true));
  x = nn::ReluOp::create(b, loc, x);
  Value w2 = param(), b2 = param();
  return nn::GemmOp::create(b, loc, x, w2, b2, one, one, b.getBoolAttr(false),
                            b.getBoolAttr(true));
}

Value InsertPredictors::buildSample(OpBuilder &b, Location loc, Value output,
                                    const Layer &layer) {
  int64_t p = pooledSize;
  auto sampleType = RankedTensorType::get({layer.channels, 1, p, p}, element);
  Value sample = gp::ReorganizeOp::create(
      b, loc, sampleType, output, b.getI64IntegerAttr(p), b.getBoolAttr(true));
  // The layer's relative depth, so that the shared predictor can tell
  // layers apart.
  double code = double(layer.predictedIndex + 1) / double(predicted.size());
  Value plane = splat(b, loc, sampleType, code);
  return nn::ConcatOp::create(b, loc, ValueRange{sample, plane},
                              b.getI64IntegerAttr(1));
}

/// The update op of each trained parameter in @bp_step.
static llvm::StringMap<Operation *> findUpdates(func::FuncOp step) {
  llvm::StringMap<Operation *> updates;
  step.walk([&](Operation *op) {
    if (!isa<train::SGDUpdateOp, train::AdamUpdateOp>(op))
      return;
    if (auto load = loadOf(op->getOperand(0)))
      updates[globalName(load)] = op;
  });
  return updates;
}

/// The gradient operand of an optimizer update.
static Value gradientOf(Operation *update) { return update->getOperand(1); }

/// The op in `step` that corresponds to `layer` (the same kind, reading the
/// same weight global).
static Operation *findLayerOp(func::FuncOp step, const Layer &layer) {
  Operation *found = nullptr;
  step.walk([&](Operation *op) {
    if (op->getName() != layer.forwardOp->getName())
      return;
    Value weight =
        isa<nn::Conv2DOp>(op) ? op->getOperand(1) : cast<nn::GemmOp>(op).getB();
    // The forward op: the same attributes and types (a linear layer's
    // input gradient also multiplies by its weight, untransposed).
    if (auto load = loadOf(weight);
        !found && load && globalName(load) == layer.weight &&
        op->getAttrDictionary() == layer.forwardOp->getAttrDictionary() &&
        op->getResultTypes() == layer.forwardOp->getResultTypes())
      found = op;
  });
  return found;
}

LogicalResult InsertPredictors::extendBPStep(func::FuncOp bpStep) {
  auto updates = findUpdates(bpStep);
  Operation *firstStore = nullptr;
  for (Operation &op : bpStep.getBody().front())
    if (isa<ml_program::GlobalStoreOp>(op)) {
      firstStore = &op;
      break;
    }
  auto ret = cast<func::ReturnOp>(bpStep.getBody().front().getTerminator());
  OpBuilder b(firstStore ? firstStore : ret.getOperation());
  Location loc = bpStep.getLoc();
  auto scalarType = RankedTensorType::get({}, element);
  auto tiny = [&](double v) { return splat(b, loc, scalarType, v); };

  // Samples, normalised targets and masks of every predicted layer.
  SmallVector<Value> samples, targets, rmsWeights, rmsBiases;
  SmallVector<float> mask;
  int64_t rows = 0;
  for (Layer *layer : predicted) {
    Operation *op = findLayerOp(bpStep, *layer);
    auto update = updates.find(layer->weight);
    if (!op || update == updates.end())
      return bpStep.emitError("--adagp-insert-predictors: @bp_step has no "
                              "update of ")
             << layer->weight << " (was it built by --train-build-step?)";
    samples.push_back(buildSample(b, loc, op->getResult(0), *layer));
    Value grad = gradientOf(update->second);
    // Scale-free targets: the gradient over its root mean square.
    auto rms = [&](Value g) {
      Value squares = nn::MulOp::create(b, loc, g, g);
      SmallVector<int64_t> axes;
      for (int64_t i = 0; i < cast<RankedTensorType>(g.getType()).getRank();
           ++i)
        axes.push_back(i);
      Value mean = nn::ReduceMeanOp::create(
          b, loc, squares, b.getDenseI64ArrayAttr(axes), b.getBoolAttr(false));
      return Value(nn::SqrtOp::create(
          b, loc, nn::AddOp::create(b, loc, mean, tiny(1e-30))));
    };
    Value rmsW = rms(grad);
    rmsWeights.push_back(rmsW);
    auto rowsType =
        RankedTensorType::get({layer->channels, filterWidth}, element);
    Value target = nn::DivOp::create(
        b, loc,
        gp::ReorganizeGradientOp::create(b, loc, rowsType, grad).getResult(),
        rmsW);
    if (predictBias) {
      auto columnType = RankedTensorType::get({layer->channels, 1}, element);
      Value column = splat(b, loc, columnType, 0.0);
      Value rmsB = tiny(1.0);
      auto biasUpdate = updates.find(layer->bias);
      if (!layer->bias.empty() && biasUpdate != updates.end()) {
        Value gb = gradientOf(biasUpdate->second);
        rmsB = rms(gb);
        column = nn::ReshapeOp::create(b, loc, columnType,
                                       nn::DivOp::create(b, loc, gb, rmsB));
      }
      rmsBiases.push_back(rmsB);
      target = nn::ConcatOp::create(b, loc, ValueRange{target, column},
                                    b.getI64IntegerAttr(1));
    }
    targets.push_back(target);
    for (int64_t k = 0; k < layer->channels; ++k) {
      for (int64_t j = 0; j < filterWidth; ++j)
        mask.push_back(j < layer->filterSize ? 1.0f : 0.0f);
      if (predictBias)
        mask.push_back(layer->bias.empty() ? 0.0f : 1.0f);
    }
    rows += layer->channels;
  }
  auto axis0 = b.getI64IntegerAttr(0);
  Value x = samples.size() == 1
                ? samples[0]
                : Value(nn::ConcatOp::create(b, loc, samples, axis0));
  Value t = targets.size() == 1
                ? targets[0]
                : Value(nn::ConcatOp::create(b, loc, targets, axis0));
  auto rowsType = RankedTensorType::get({rows, width}, element);
  Value m = constant(b, loc, rowsType, mask);

  SmallVector<Value> params;
  Value network = buildPredictor(b, loc, x, &params);
  Value baselineRows;
  if (baseline == "mean") {
    baselineRows = load(b, loc, baselineGlobal());
    network = nn::AddOp::create(b, loc, network, baselineRows);
  }
  Value prediction = nn::MulOp::create(b, loc, network, m);
  Value predictorLoss =
      train::MSELossOp::create(b, loc, scalarType, prediction, t);

  // Quality, before the predictor learns from this batch: per layer, the
  // cosine similarity of predicted and true (normalised) gradients.
  auto rowSums = [&](Value a, Value c) -> Value {
    Value product = nn::MulOp::create(b, loc, a, c);
    Value sums =
        nn::ReduceSumOp::create(b, loc, product, b.getDenseI64ArrayAttr({1}),
                                b.getBoolAttr(true)); // [rows, 1]
    return sums;
  };
  int64_t numLayers = predicted.size();
  SmallVector<float> segments(numLayers * rows, 0.0f);
  {
    int64_t row = 0;
    for (auto [l, layer] : llvm::enumerate(predicted))
      for (int64_t k = 0; k < layer->channels; ++k, ++row)
        segments[l * rows + row] = 1.0f;
  }
  Value segment = constant(
      b, loc, RankedTensorType::get({numLayers, rows}, element), segments);
  auto perLayer = [&](Value rowValues) -> Value {
    auto one = b.getF64FloatAttr(1.0);
    return nn::GemmOp::create(b, loc, segment, rowValues, Value(), one, one,
                              b.getBoolAttr(false), b.getBoolAttr(false));
  };
  Value dots = perLayer(rowSums(prediction, t));
  Value predictionNorms = perLayer(rowSums(prediction, prediction));
  Value targetNorms = perLayer(rowSums(t, t));
  Value cosines = nn::DivOp::create(
      b, loc, dots,
      nn::SqrtOp::create(
          b, loc,
          nn::AddOp::create(
              b, loc, nn::MulOp::create(b, loc, predictionNorms, targetNorms),
              tiny(1e-30))));
  Value quality = nn::ReduceMeanOp::create(
      b, loc, cosines, b.getDenseI64ArrayAttr({0, 1}), b.getBoolAttr(false));

  // The predictor's update.
  auto grads = nn::differentiate(b, predictorLoss, params);
  if (failed(grads))
    return failure();
  SmallVector<std::pair<std::string, Value>> stores;
  auto stepType =
      RankedTensorType::get({}, IntegerType::get(&getContext(), 64));
  std::string stepName = (kPredictorPrefix + StringRef("step")).str();
  Value step = load(b, loc, stepName);
  Value one64 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(stepType, b.getI64IntegerAttr(1)));
  // Adam's bias correction counts from 1.
  Value nextStep = arith::AddIOp::create(b, loc, step, one64);
  Value rate = splat(b, loc, scalarType, predictorLr);
  for (auto [name, param, grad] : llvm::zip(predictorParams, params, *grads)) {
    auto type = cast<RankedTensorType>(param.getType());
    auto zero = DenseElementsAttr::get(type, b.getZeroAttr(element));
    if (predictorOptimizer == "adam") {
      std::string mName = train::adamMGlobal(name),
                  vName = train::adamVGlobal(name);
      createGlobal(mName, type, zero);
      createGlobal(vName, type, zero);
      auto upd = train::AdamUpdateOp::create(
          b, loc, type, type, type, param, grad, load(b, loc, mName),
          load(b, loc, vName), rate, nextStep, b.getF64FloatAttr(0.9),
          b.getF64FloatAttr(0.999), b.getF64FloatAttr(1e-8),
          b.getF64FloatAttr(0.0), b.getBoolAttr(false));
      stores.push_back({name, upd.getNewParam()});
      stores.push_back({mName, upd.getNewM()});
      stores.push_back({vName, upd.getNewV()});
    } else {
      std::string vName = train::momentumGlobal(name);
      createGlobal(vName, type, zero);
      auto upd = train::SGDUpdateOp::create(
          b, loc, type, type, param, grad, load(b, loc, vName), rate,
          b.getF64FloatAttr(0.9), b.getF64FloatAttr(0.0), b.getBoolAttr(false));
      stores.push_back({name, upd.getNewParam()});
      stores.push_back({vName, upd.getNewVelocity()});
    }
  }
  stores.push_back({stepName, nextStep});

  // Running RMS of each layer's gradient: the mean of the first updates,
  // then an exponential moving average, so the first BP step sets it.
  auto updateScales = [&](StringRef name, ArrayRef<Value> current) {
    SmallVector<Value> pieces;
    for (Value v : current)
      pieces.push_back(nn::ReshapeOp::create(
          b, loc, RankedTensorType::get({1}, element), v));
    Value now = pieces.size() == 1
                    ? pieces[0]
                    : Value(nn::ConcatOp::create(b, loc, pieces, axis0));
    Value old = load(b, loc, name);
    Value count = arith::SIToFPOp::create(
        b, loc, RankedTensorType::get({}, element), nextStep);
    Value weight =
        nn::MaxOp::create(b, loc, nn::ReciprocalOp::create(b, loc, count),
                          tiny(1.0 - scaleMomentum));
    Value updated = nn::AddOp::create(
        b, loc, old,
        nn::MulOp::create(b, loc, weight, nn::SubOp::create(b, loc, now, old)));
    stores.push_back({name.str(), updated});
  };
  updateScales(kScaleGlobal, rmsWeights);
  if (baselineRows) {
    // The per-row running mean of the targets, updated after its use above
    // (a prediction only ever uses earlier gradients).
    Value count = arith::SIToFPOp::create(
        b, loc, RankedTensorType::get({}, element), nextStep);
    Value weight =
        nn::MaxOp::create(b, loc, nn::ReciprocalOp::create(b, loc, count),
                          tiny(1.0 - baselineMomentum));
    stores.push_back(
        {baselineGlobal(),
         nn::AddOp::create(
             b, loc, baselineRows,
             nn::MulOp::create(b, loc, weight,
                               nn::SubOp::create(b, loc, t, baselineRows)))});
  }
  if (predictBias)
    updateScales(kBiasScaleGlobal, rmsBiases);

  stores.push_back({kQualityGlobal, quality});
  stores.push_back({kPredictorLossGlobal, predictorLoss});

  b.setInsertionPoint(ret);
  for (auto &[name, value] : stores)
    ml_program::GlobalStoreOp::create(
        b, loc, SymbolRefAttr::get(b.getStringAttr(name)), value);
  return success();
}

/// Clones the computation of `v` (loads of globals, constants, schedules:
/// anything whose operands can be cloned too) from @bp_step into the
/// builder's function.
static FailureOr<Value> cloneChain(OpBuilder &b, Value v, IRMapping &mapping) {
  if (Value mapped = mapping.lookupOrNull(v))
    return mapped;
  Operation *def = v.getDefiningOp();
  if (!def)
    return failure();
  for (Value operand : def->getOperands())
    if (failed(cloneChain(b, operand, mapping)))
      return failure();
  Operation *copy = b.clone(*def, mapping);
  return copy->getResult(cast<OpResult>(v).getResultNumber());
}

LogicalResult InsertPredictors::buildGPStep(func::FuncOp forward,
                                            func::FuncOp bpStep) {
  if (symbols->lookup("gp_step"))
    return module.emitError("the module already has a function @gp_step");
  Location loc = bpStep.getLoc();
  OpBuilder mb(module.getContext());
  mb.setInsertionPointAfter(bpStep);
  auto func =
      func::FuncOp::create(mb, loc, "gp_step", bpStep.getFunctionType());
  symbols->insert(func);
  for (unsigned i = 0; i < bpStep.getNumArguments(); ++i)
    if (auto name = bpStep.getArgAttr(i, "onnx.name"))
      func.setArgAttr(i, "onnx.name", name);
  Block *entry = func.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  auto updates = findUpdates(bpStep);

  // What @gp_step shares with @bp_step: the step counter, the learning
  // rate, optimizer state. `fromBP` maps @bp_step's values.
  IRMapping fromBP;
  for (auto [from, to] : llvm::zip(bpStep.getArguments(), func.getArguments()))
    fromBP.map(from, to);
  Value stepBP;
  bpStep.walk([&](ml_program::GlobalLoadOp l) {
    if (globalName(l) == train::kStepGlobal)
      stepBP = l;
  });
  if (!stepBP)
    return bpStep.emitError("@bp_step has no step counter ")
           << "@" << train::kStepGlobal;
  Value step = *cloneChain(b, stepBP, fromBP);
  Value key = tensor::ExtractOp::create(b, loc, step, ValueRange{});
  bool bpHasDropout = false;
  bpStep.walk([&](nn::DropoutOp) { bpHasDropout = true; });

  SmallVector<std::pair<std::string, Value>> stores;
  /// The model's optimizer applied to `param` with gradient `grad`: a
  /// clone of @bp_step's update of the same global.
  auto applyUpdate = [&](StringRef global, Value param,
                         Value grad) -> LogicalResult {
    auto it = updates.find(global);
    if (it == updates.end())
      return bpStep.emitError("@bp_step has no update of ") << global;
    Operation *update = it->second;
    IRMapping mapping = fromBP;
    mapping.map(update->getOperand(0), param);
    mapping.map(update->getOperand(1), grad);
    for (Value operand : update->getOperands().drop_front(2))
      if (failed(cloneChain(b, operand, mapping)))
        return update->emitError("cannot reuse this update in @gp_step");
    Operation *copy = b.clone(*update, mapping);
    // Results: the new parameter, then the new state in the order of the
    // state operands (velocity; or m, v).
    stores.push_back({global.str(), copy->getResult(0)});
    unsigned state = 2;
    for (unsigned r = 1; r < copy->getNumResults(); ++r) {
      // Skip the learning rate and step operands, which are not state.
      while (!loadOf(update->getOperand(state)))
        ++state;
      stores.push_back(
          {globalName(loadOf(update->getOperand(state))), copy->getResult(r)});
      ++state;
    }
    return success();
  };

  // Maps a layer's predicted rows onto its weight (and bias) gradient and
  // applies the model's optimizer update.
  auto applyPrediction = [&](Layer &layer, Operation *copy,
                             Value rows) -> LogicalResult {
    Value filterRows = rows;
    if (predictBias)
      filterRows = nn::SliceOp::create(
          b, loc, rows, b.getDenseI64ArrayAttr({0, 0}),
          b.getDenseI64ArrayAttr({layer.channels, filterWidth}),
          b.getDenseI64ArrayAttr({1, 1}));
    Value scale = globalElement(b, loc, kScaleGlobal, layer.predictedIndex);
    Value grad = gp::ExpandPredictionOp::create(b, loc, layer.weightType,
                                                filterRows, scale);
    Value weight = isa<nn::Conv2DOp>(copy) ? copy->getOperand(1)
                                           : cast<nn::GemmOp>(copy).getB();
    if (failed(applyUpdate(layer.weight, weight, grad)))
      return failure();
    if (predictBias && !layer.bias.empty()) {
      Value column = nn::SliceOp::create(
          b, loc, rows, b.getDenseI64ArrayAttr({0, filterWidth}),
          b.getDenseI64ArrayAttr({layer.channels, 1}),
          b.getDenseI64ArrayAttr({1, 1}));
      Value biasScale =
          globalElement(b, loc, kBiasScaleGlobal, layer.predictedIndex);
      Value gb = nn::MulOp::create(
          b, loc, nn::ReshapeOp::create(b, loc, layer.biasType, column),
          biasScale);
      Value biasValue = isa<nn::Conv2DOp>(copy) ? copy->getOperand(2)
                                                : cast<nn::GemmOp>(copy).getC();
      if (failed(applyUpdate(layer.bias, biasValue, gb)))
        return failure();
    }
    return success();
  };
  struct Pending {
    Layer *layer;
    Operation *copy;
    Value sample;
  };
  SmallVector<Pending> pending;

  // The forward pass, layer by layer, each predicted layer updated right
  // after it ran.
  IRMapping mapping;
  for (auto [from, to] : llvm::zip(forward.getArguments(), func.getArguments()))
    mapping.map(from, to);
  llvm::DenseMap<Operation *, Layer *> layerOf;
  for (Layer &layer : modelLayers)
    layerOf[layer.forwardOp] = &layer;
  Value output;
  auto scalarType = RankedTensorType::get({}, element);
  for (Operation &op : forward.getBody().front()) {
    if (auto r = dyn_cast<func::ReturnOp>(op)) {
      output = mapping.lookup(r.getOperand(0));
      break;
    }
    Operation *copy = b.clone(op, mapping);
    if (auto dropout = dyn_cast<nn::DropoutOp>(copy)) {
      if (bpHasDropout) {
        dropout.getKeyMutable().assign(key);
      } else {
        dropout.getResult().replaceAllUsesWith(dropout.getInput());
        mapping.map(op.getResult(0), dropout.getInput());
        dropout.erase();
      }
      continue;
    }
    auto it = layerOf.find(&op);
    if (it == layerOf.end() || it->second->gp != Layer::GP::Predict)
      continue;
    Layer &layer = *it->second;
    Value sample = buildSample(b, loc, copy->getResult(0), layer);
    if (batchedPredictions) {
      // Only the small reorganized samples wait for the end of the forward
      // pass; the layer's activations do not.
      pending.push_back({&layer, copy, sample});
      continue;
    }
    Value rows = buildPredictor(b, loc, sample);
    if (baseline == "mean")
      rows = nn::AddOp::create(
          b, loc, rows,
          nn::SliceOp::create(
              b, loc, load(b, loc, baselineGlobal()),
              b.getDenseI64ArrayAttr({rowOffset[layer.predictedIndex], 0}),
              b.getDenseI64ArrayAttr({layer.channels, width}),
              b.getDenseI64ArrayAttr({1, 1})));
    if (failed(applyPrediction(layer, copy, rows)))
      return failure();
  }
  if (!pending.empty()) {
    // One predictor call for all layers. The result is the same as calling
    // it after each layer: within a step no layer's forward pass sees the
    // update of an earlier one, and the predictor does not change.
    llvm::sort(pending, [](const Pending &l, const Pending &r) {
      return l.layer->predictedIndex < r.layer->predictedIndex;
    });
    SmallVector<Value> samples;
    for (Pending &p : pending)
      samples.push_back(p.sample);
    Value x = samples.size() == 1
                  ? samples[0]
                  : Value(nn::ConcatOp::create(b, loc, samples,
                                               b.getI64IntegerAttr(0)));
    Value all = buildPredictor(b, loc, x);
    if (baseline == "mean")
      all = nn::AddOp::create(b, loc, all, load(b, loc, baselineGlobal()));
    for (Pending &p : pending) {
      Value rows = pending.size() == 1
                       ? all
                       : Value(nn::SliceOp::create(
                             b, loc, all,
                             b.getDenseI64ArrayAttr(
                                 {rowOffset[p.layer->predictedIndex], 0}),
                             b.getDenseI64ArrayAttr({p.layer->channels, width}),
                             b.getDenseI64ArrayAttr({1, 1})));
      if (failed(applyPrediction(*p.layer, p.copy, rows)))
        return failure();
    }
  }
  if (!output)
    return forward.emitError("the model function returns nothing");

  // The loss, for monitoring and for the exact gradient of the head.
  Operation *lossBP = nullptr;
  bpStep.walk([&](Operation *op) {
    if (isa<train::SoftmaxCrossEntropyOp, train::MSELossOp>(op))
      lossBP = op;
  });
  if (!lossBP)
    return bpStep.emitError("@bp_step has no loss");
  Value labels = func.getArguments().back();
  Value loss =
      isa<train::SoftmaxCrossEntropyOp>(lossBP)
          ? Value(train::SoftmaxCrossEntropyOp::create(b, loc, scalarType,
                                                       output, labels))
          : Value(train::MSELossOp::create(b, loc, scalarType, output, labels));
  SmallVector<std::pair<std::string, Value>> exact;
  for (Layer &layer : modelLayers) {
    if (layer.gp != Layer::GP::Exact)
      continue;
    Operation *op =
        mapping.lookup(layer.forwardOp->getResult(0)).getDefiningOp();
    exact.push_back({layer.weight, isa<nn::Conv2DOp>(op)
                                       ? op->getOperand(1)
                                       : cast<nn::GemmOp>(op).getB()});
    if (!layer.bias.empty())
      exact.push_back({layer.bias, isa<nn::Conv2DOp>(op)
                                       ? op->getOperand(2)
                                       : cast<nn::GemmOp>(op).getC()});
  }
  if (!exact.empty()) {
    SmallVector<Value> wrt;
    for (auto &[_, v] : exact)
      wrt.push_back(v);
    auto grads = nn::differentiate(b, loss, wrt);
    if (failed(grads))
      return failure();
    for (auto [entry, g] : llvm::zip(exact, *grads))
      if (g && failed(applyUpdate(entry.first, entry.second, g)))
        return failure();
  }

  // Running statistics of batch norms still follow the data.
  func.walk([&](nn::BatchNormTrainOp bn) {
    if (auto mean = loadOf(bn.getRunningMean()))
      stores.push_back({globalName(mean), bn.getRunningMeanOut()});
    if (auto var = loadOf(bn.getRunningVar()))
      stores.push_back({globalName(var), bn.getRunningVarOut()});
  });
  auto stepType = cast<RankedTensorType>(step.getType());
  Value one = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(stepType, b.getI64IntegerAttr(1)));
  stores.push_back(
      {train::kStepGlobal, arith::AddIOp::create(b, loc, step, one)});
  for (auto &[name, value] : stores)
    ml_program::GlobalStoreOp::create(
        b, loc, SymbolRefAttr::get(b.getStringAttr(name)), value);
  func::ReturnOp::create(b, loc, loss);
  return success();
}

void InsertPredictors::createStateGlobals() {
  OpBuilder b(module.getContext());
  auto scalarType = RankedTensorType::get({}, element);
  auto stepType =
      RankedTensorType::get({}, IntegerType::get(&getContext(), 64));
  auto vectorType = RankedTensorType::get({int64_t(predicted.size())}, element);
  auto zeros = [&](RankedTensorType type) {
    return DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType()));
  };
  createGlobal((kPredictorPrefix + StringRef("step")).str(), stepType,
               zeros(stepType));
  createGlobal(kScaleGlobal, vectorType, zeros(vectorType));
  if (predictBias)
    createGlobal(kBiasScaleGlobal, vectorType, zeros(vectorType));
  if (baseline == "mean") {
    auto rowsType = RankedTensorType::get({totalRows, width}, element);
    createGlobal(baselineGlobal(), rowsType, zeros(rowsType));
  }
  createGlobal(kQualityGlobal, scalarType, zeros(scalarType));
  createGlobal(kPredictorLossGlobal, scalarType, zeros(scalarType));
}

void InsertPredictors::createSchedule() {
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
  auto f64 = [&](double v) { return b.getF64FloatAttr(v); };
  gp::ScheduleOp::create(b, module.getLoc(),
                         FlatSymbolRefAttr::get(&getContext(), "bp_step"),
                         FlatSymbolRefAttr::get(&getContext(), "gp_step"),
                         FlatSymbolRefAttr::get(&getContext(), kQualityGlobal),
                         b.getStringAttr("adaptive"), b.getStringAttr("batch"),
                         i64(1), i64(4), i64(8), i64(1), i64(64), f64(2.0),
                         f64(0.0), f64(0.1), f64(0.3), f64(0.1));
}

void InsertPredictors::runOnOperation() {
  module = getOperation();
  SymbolTable table(module);
  symbols = &table;
  if (failed(checkOptions()))
    return signalPassFailure();
  auto forward = table.lookup<func::FuncOp>("forward");
  auto bpStep = table.lookup<func::FuncOp>("bp_step");
  if (!forward || !bpStep || forward.isExternal() || bpStep.isExternal()) {
    module.emitError("--adagp-insert-predictors: the module needs @forward "
                     "and @bp_step (run --train-build-step first)");
    return signalPassFailure();
  }
  element = cast<RankedTensorType>(bpStep.getResultTypes()[0]).getElementType();
  if (failed(findLayers(forward)))
    return signalPassFailure();
  // New globals go after the last existing one.
  for (auto global : module.getOps<ml_program::GlobalOp>())
    globalsAnchor = global;
  if (!globalsAnchor) {
    module.emitError("--adagp-insert-predictors: the module has no globals");
    return signalPassFailure();
  }
  createPredictorGlobals();
  createStateGlobals();
  if (failed(buildGPStep(forward, bpStep)) || failed(extendBPStep(bpStep)))
    return signalPassFailure();
  createSchedule();
}
