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
using adagp::gp::kBPPlainStep;
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
  unsigned group = 0;          // index into InsertPredictors::groups
  int64_t row = 0;             // first row in the stacked samples
  int64_t groupRow = 0;        // first row within its group's rows
  /// First entry in the vector of predicted bias entries, or -1 when the
  /// layer's bias is not predicted.
  int64_t biasRow = -1;
};

/// The predicted layers whose filters have the same size. Their samples are
/// contiguous rows of the predictor's input and share one head: the first
/// `filterSize` rows of the head's weight, so that no layer computes (and
/// no target pads) columns beyond its own filter.
struct Group {
  int64_t filterSize = 0;
  int64_t row = 0;             // first row in the stacked samples
  int64_t rows = 0;            // output channels of its layers
  SmallVector<Layer *> layers; // by predictedIndex
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
  /// The predictor's parameters as loaded in one function.
  struct Params {
    SmallVector<Value> trunk; // convolutions, then the hidden layer
    Value headWeight, headBias;
    Value biasWeight, biasBias; // only when biases are predicted
  };
  /// Loads the predictor's parameters; records the loads, in the order of
  /// `predictorParams`, in `loads` when given.
  Params loadParams(OpBuilder &b, Location loc,
                    SmallVectorImpl<Value> *loads = nullptr);
  /// The shared trunk on samples `[n, 2, P, P]`: the hidden features
  /// `[n, hidden]`.
  Value buildTrunk(OpBuilder &b, Location loc, const Params &params, Value x);
  /// Whether the trunk's convolutions are built as matrix products over the
  /// unfolded map (`trunk-form`).
  bool gemmTrunk() const {
    return trunkForm == "gemm" || (trunkForm == "auto" && pooledSize <= 4);
  }
  /// The head of the layers with filters of `filterSize` elements on their
  /// hidden features: `[n, filterSize]`.
  Value buildHead(OpBuilder &b, Location loc, const Params &params,
                  Value hidden, int64_t filterSize);
  /// The bias head: one predicted bias entry per row, `[n, 1]`.
  Value buildBiasHead(OpBuilder &b, Location loc, const Params &params,
                      Value hidden);
  /// A layer's predicted bias `[C]` from the rows `[row, row + C)` of the
  /// bias head's output, plus its running mean with baseline=mean.
  Value layerBias(OpBuilder &b, Location loc, const Layer &layer, Value column,
                  int64_t row);
  /// A layer's samples: its reorganized output plus a constant plane with
  /// the layer's depth code.
  Value buildSample(OpBuilder &b, Location loc, Value output,
                    const Layer &layer);
  Value splat(OpBuilder &b, Location loc, RankedTensorType type, double v);
  /// `input[starts : starts + sizes]` (unit steps); `input` itself when
  /// that is all of it.
  Value slice(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> starts,
              ArrayRef<int64_t> sizes);
  /// The concatenation along `axis`, or the value itself when alone.
  Value concat(OpBuilder &b, Location loc, ArrayRef<Value> values,
               int64_t axis);
  /// Element `index` of a 1-D global `[n]` as a 0-d tensor.
  Value globalElement(OpBuilder &b, Location loc, StringRef global,
                      int64_t index);
  void createStateGlobals();
  /// The running mean of a group's targets, `[rows, filterSize]`.
  static std::string baselineGlobal(const Group &group) {
    return (kPredictorPrefix + StringRef("baseline.fs") +
            Twine(group.filterSize))
        .str();
  }
  /// The running mean of the predicted bias entries, `[biasRows]`.
  static std::string biasBaselineGlobal() {
    return (kPredictorPrefix + StringRef("baseline.bias")).str();
  }
  LogicalResult extendBPStep(func::FuncOp bpStep);
  LogicalResult buildGPStep(func::FuncOp forward, func::FuncOp bpStep);
  void createSchedule();

  ModuleOp module;
  SymbolTable *symbols = nullptr;
  Type element;
  SmallVector<Layer> modelLayers;
  SmallVector<Layer *> predicted; // by predictedIndex
  /// Groups in the order of their first layer; their layers' samples are
  /// stacked in this order (`sampleOrder`).
  SmallVector<Group> groups;
  SmallVector<Layer *> sampleOrder;
  int64_t filterWidth = 0; // largest predicted filter: rows of the head
  int64_t totalRows = 0;   // output channels of all predicted layers
  int64_t biasRows = 0;    // output channels of layers with predicted biases
  bool predictBias = false;
  /// Predictor parameter globals in the order loadParams loads them: the
  /// trunk's, the head's, then (with predicted biases) the bias head's.
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
  if (trunkForm != "auto" && trunkForm != "conv" && trunkForm != "gemm")
    return fail("trunk-form")
           << "must be auto, conv or gemm, got '" << trunkForm << "'";
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
  if (gpGradient != "predicted" && gpGradient != "baseline" &&
      gpGradient != "zero")
    return fail("gp-gradient")
           << "must be predicted, baseline or zero, got '" << gpGradient << "'";
  if (!(gpGradientScale > 0 && gpGradientScale <= 4))
    return fail("gp-gradient-scale")
           << "must be in (0, 4], got " << double(gpGradientScale);
  if (gpGradient == "baseline" && (baseline != "mean" || !batchedPredictions))
    return fail("gp-gradient")
           << "'baseline' needs baseline=mean and batched-predictions";
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
    filterWidth = std::max(filterWidth, layer.filterSize);
  }
  if (predicted.empty())
    return module.emitError("--adagp-insert-predictors: no layer is left to "
                            "predict (check the options 'layers', 'linear', "
                            "'head' and 'max-outputs')");
  predictBias = bias == "predict";

  // Group the layers by filter size (groups in the order of their first
  // layer, layers by predictedIndex) and stack the samples group by group,
  // so that each group's rows are one contiguous slice for its head.
  for (Layer *layer : predicted) {
    auto *it = llvm::find_if(groups, [&](const Group &g) {
      return g.filterSize == layer->filterSize;
    });
    if (it == groups.end()) {
      groups.emplace_back();
      it = &groups.back();
      it->filterSize = layer->filterSize;
    }
    layer->group = it - groups.begin();
    it->layers.push_back(layer);
  }
  for (Group &group : groups) {
    group.row = totalRows;
    for (Layer *layer : group.layers) {
      layer->row = totalRows;
      layer->groupRow = totalRows - group.row;
      totalRows += layer->channels;
      sampleOrder.push_back(layer);
      if (predictBias && !layer->bias.empty()) {
        layer->biasRow = biasRows;
        biasRows += layer->channels;
      }
    }
    group.rows = totalRows - group.row;
  }
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
    // The same values either way; the GEMM form keeps the filter as a
    // matrix [out, in * 9] (no 4-D value for the accelerator to lay out).
    if (gemmTrunk())
      param(prefix + ".weight", {predictorWidth, channels * 9}, channels * 9);
    else
      param(prefix + ".weight", {predictorWidth, channels, 3, 3}, channels * 9);
    param(prefix + ".bias", {predictorWidth}, channels * 9);
    channels = predictorWidth;
  }
  int64_t features = channels * p * p;
  param("hidden.weight", {predictorHidden, features}, features);
  param("hidden.bias", {predictorHidden}, features);
  // Rows beyond a group's filter size are only used by groups with larger
  // filters: every group reads the first rows it needs.
  param("head.weight", {filterWidth, predictorHidden}, predictorHidden);
  param("head.bias", {filterWidth}, predictorHidden);
  // Biases have their own head, last, so that the other parameters keep
  // their place (and initial values) whether or not biases are predicted.
  if (biasRows > 0) {
    param("bias_head.weight", {1, predictorHidden}, predictorHidden);
    param("bias_head.bias", {1}, predictorHidden);
  }
}

Value InsertPredictors::load(OpBuilder &b, Location loc, StringRef global) {
  auto op = symbols->lookup<ml_program::GlobalOp>(global);
  assert(op && "unknown global");
  return ml_program::GlobalLoadOp::create(
      b, loc, op.getType(), SymbolRefAttr::get(op.getSymNameAttr()));
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

Value InsertPredictors::slice(OpBuilder &b, Location loc, Value input,
                              ArrayRef<int64_t> starts,
                              ArrayRef<int64_t> sizes) {
  if (cast<RankedTensorType>(input.getType()).getShape() == sizes)
    return input;
  return nn::SliceOp::create(
      b, loc, input, b.getDenseI64ArrayAttr(starts),
      b.getDenseI64ArrayAttr(sizes),
      b.getDenseI64ArrayAttr(SmallVector<int64_t>(sizes.size(), 1)));
}

Value InsertPredictors::concat(OpBuilder &b, Location loc,
                               ArrayRef<Value> values, int64_t axis) {
  if (values.size() == 1)
    return values[0];
  return nn::ConcatOp::create(b, loc, values, b.getI64IntegerAttr(axis));
}

InsertPredictors::Params
InsertPredictors::loadParams(OpBuilder &b, Location loc,
                             SmallVectorImpl<Value> *loads) {
  SmallVector<Value> all;
  for (const std::string &name : predictorParams)
    all.push_back(load(b, loc, name));
  if (loads)
    loads->append(all);
  Params params;
  size_t trunk = 2 * predictorDepth + 2;
  params.trunk.assign(all.begin(), all.begin() + trunk);
  params.headWeight = all[trunk];
  params.headBias = all[trunk + 1];
  if (biasRows > 0) {
    params.biasWeight = all[trunk + 2];
    params.biasBias = all[trunk + 3];
  }
  return params;
}

Value InsertPredictors::buildTrunk(OpBuilder &b, Location loc,
                                   const Params &params, Value x) {
  auto pair = [&](int64_t a) { return b.getDenseI64ArrayAttr({a, a}); };
  auto one = b.getF64FloatAttr(1.0);
  if (gemmTrunk() && predictorDepth > 0) {
    // Each convolution as one matrix product over the unfolded map:
    // Y[r, (o, q)] = sum over (c, p) of X[r, (c, p)] T[(c, p), (o, q)],
    // T[(c, p), (o, q)] = sum over taps k of W[o, c, k] U[k, (p, q)], where
    // U[k, (p, q)] = 1 when input pixel p is tap k of output pixel q (pad
    // 1). The samples' maps are tiny (P x P, P <= 4 by default): as
    // convolutions every tap reads runs of a few elements (on the
    // accelerator, DMA bursts mostly wasted); as matrix products every
    // operand is dense. T is rebuilt from W in every step (a [Cout*Cin, 9]
    // x [9, P^4] product), and autodiff derives W's gradient through it.
    int64_t p = pooledSize, pixels = p * p;
    SmallVector<Attribute> unfold(9 * pixels * pixels,
                                  b.getFloatAttr(element, 0.0));
    for (int64_t k = 0; k < 9; ++k)
      for (int64_t qi = 0; qi < p; ++qi)
        for (int64_t qj = 0; qj < p; ++qj) {
          int64_t pi = qi + k / 3 - 1, pj = qj + k % 3 - 1;
          if (pi < 0 || pi >= p || pj < 0 || pj >= p)
            continue;
          unfold[(k * pixels + pi * p + pj) * pixels + qi * p + qj] =
              b.getFloatAttr(element, 1.0);
        }
    auto unfoldType = RankedTensorType::get({9, pixels * pixels}, element);
    Value taps = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(unfoldType, unfold));
    int64_t rows = cast<RankedTensorType>(x.getType()).getDimSize(0);
    int64_t in = cast<RankedTensorType>(x.getType()).getDimSize(1);
    x = nn::ReshapeOp::create(
        b, loc, RankedTensorType::get({rows, in * pixels}, element), x);
    for (int64_t d = 0; d < predictorDepth; ++d) {
      int64_t out = predictorWidth;
      // W [out, in * 9] -> [out, in, 9] x U [9, P^2 * P^2] -> M [out, in,
      // P^2 (input pixel), P^2 (output pixel)] -> T [in * P^2, out * P^2].
      // Nothing above rank 3, so the accelerator keeps each value
      // row-major and each reshape is an alias.
      Value w = nn::ReshapeOp::create(
          b, loc, RankedTensorType::get({out, in, 9}, element),
          params.trunk[2 * d]);
      Value t = nn::MatMulOp::create(b, loc, w, taps);
      t = nn::ReshapeOp::create(
          b, loc, RankedTensorType::get({out, in * pixels, pixels}, element),
          t);
      t = nn::TransposeOp::create(b, loc, t, b.getDenseI64ArrayAttr({1, 0, 2}));
      t = nn::ReshapeOp::create(
          b, loc, RankedTensorType::get({in * pixels, out * pixels}, element),
          t);
      // The bias of output channel o on each of its P*P pixels.
      Value bias = nn::BroadcastToOp::create(
          b, loc, RankedTensorType::get({out, pixels}, element),
          nn::ReshapeOp::create(b, loc,
                                RankedTensorType::get({out, 1}, element),
                                params.trunk[2 * d + 1]));
      bias = nn::ReshapeOp::create(
          b, loc, RankedTensorType::get({out * pixels}, element), bias);
      x = nn::GemmOp::create(b, loc, x, t, bias, one, one, b.getBoolAttr(false),
                             b.getBoolAttr(false));
      x = nn::ReluOp::create(b, loc, x);
      in = out;
    }
  } else {
    for (int64_t d = 0; d < predictorDepth; ++d) {
      x = nn::Conv2DOp::create(b, loc, x, params.trunk[2 * d],
                               params.trunk[2 * d + 1], pair(1),
                               b.getDenseI64ArrayAttr({1, 1, 1, 1}), pair(1),
                               b.getI64IntegerAttr(1));
      x = nn::ReluOp::create(b, loc, x);
    }
    x = nn::FlattenOp::create(b, loc, x, b.getI64IntegerAttr(1));
  }
  x = nn::GemmOp::create(b, loc, x, params.trunk[2 * predictorDepth],
                         params.trunk[2 * predictorDepth + 1], one, one,
                         b.getBoolAttr(false), b.getBoolAttr(true));
  return nn::ReluOp::create(b, loc, x);
}

Value InsertPredictors::buildHead(OpBuilder &b, Location loc,
                                  const Params &params, Value hidden,
                                  int64_t filterSize) {
  Value w =
      slice(b, loc, params.headWeight, {0, 0}, {filterSize, predictorHidden});
  Value bias = slice(b, loc, params.headBias, {0}, {filterSize});
  auto one = b.getF64FloatAttr(1.0);
  return nn::GemmOp::create(b, loc, hidden, w, bias, one, one,
                            b.getBoolAttr(false), b.getBoolAttr(true));
}

Value InsertPredictors::buildBiasHead(OpBuilder &b, Location loc,
                                      const Params &params, Value hidden) {
  auto one = b.getF64FloatAttr(1.0);
  return nn::GemmOp::create(b, loc, hidden, params.biasWeight, params.biasBias,
                            one, one, b.getBoolAttr(false),
                            b.getBoolAttr(true));
}

Value InsertPredictors::layerBias(OpBuilder &b, Location loc,
                                  const Layer &layer, Value column,
                                  int64_t row) {
  Value v = nn::ReshapeOp::create(
      b, loc, layer.biasType,
      slice(b, loc, column, {row, 0}, {layer.channels, 1}));
  if (baseline == "mean")
    v = nn::AddOp::create(b, loc, v,
                          slice(b, loc, load(b, loc, biasBaselineGlobal()),
                                {layer.biasRow}, {layer.channels}));
  return v;
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

  // Samples and normalised targets of every predicted layer, indexed by
  // predictedIndex.
  size_t numLayers = predicted.size();
  SmallVector<Value> samples(numLayers), targets(numLayers),
      biasTargets(numLayers), rmsWeights(numLayers), rmsBiases(numLayers);
  for (Layer *layer : predicted) {
    unsigned i = layer->predictedIndex;
    Operation *op = findLayerOp(bpStep, *layer);
    auto update = updates.find(layer->weight);
    if (!op || update == updates.end())
      return bpStep.emitError("--adagp-insert-predictors: @bp_step has no "
                              "update of ")
             << layer->weight << " (was it built by --train-build-step?)";
    samples[i] = buildSample(b, loc, op->getResult(0), *layer);
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
    rmsWeights[i] = rms(grad);
    // Exactly the layer's filter per row: no padding to a common width.
    auto rowsType =
        RankedTensorType::get({layer->channels, layer->filterSize}, element);
    targets[i] = nn::DivOp::create(
        b, loc,
        gp::ReorganizeGradientOp::create(b, loc, rowsType, grad).getResult(),
        rmsWeights[i]);
    if (!predictBias)
      continue;
    rmsBiases[i] = tiny(1.0);
    if (layer->biasRow < 0)
      continue;
    auto biasUpdate = updates.find(layer->bias);
    if (biasUpdate == updates.end())
      return bpStep.emitError("--adagp-insert-predictors: @bp_step has no "
                              "update of ")
             << layer->bias;
    Value gb = gradientOf(biasUpdate->second);
    rmsBiases[i] = rms(gb);
    biasTargets[i] = nn::DivOp::create(b, loc, gb, rmsBiases[i]);
  }
  SmallVector<Value> stacked;
  for (Layer *layer : sampleOrder)
    stacked.push_back(samples[layer->predictedIndex]);
  Value x = concat(b, loc, stacked, 0);

  // The predictor: the trunk once over all samples, then each group's head
  // on its rows, plus the group's running mean.
  SmallVector<Value> params;
  Params loaded = loadParams(b, loc, &params);
  Value hidden = buildTrunk(b, loc, loaded, x);
  SmallVector<Value> groupPredictions, groupTargets, groupBaselines;
  SmallVector<Value> predictionPieces, targetPieces;
  for (Group &group : groups) {
    Value rows =
        slice(b, loc, hidden, {group.row, 0}, {group.rows, predictorHidden});
    Value p = buildHead(b, loc, loaded, rows, group.filterSize);
    if (baseline == "mean") {
      groupBaselines.push_back(load(b, loc, baselineGlobal(group)));
      p = nn::AddOp::create(b, loc, p, groupBaselines.back());
    }
    SmallVector<Value> pieces;
    for (Layer *layer : group.layers)
      pieces.push_back(targets[layer->predictedIndex]);
    Value t = concat(b, loc, pieces, 0);
    groupPredictions.push_back(p);
    groupTargets.push_back(t);
    predictionPieces.push_back(p);
    targetPieces.push_back(t);
  }
  // Predicted biases: the bias head's rows of layers with a bias (runs of
  // consecutive such layers sliced at once), after all weight entries.
  Value biasPrediction, biasTarget, biasBaseline;
  if (biasRows > 0) {
    Value column = buildBiasHead(b, loc, loaded, hidden);
    SmallVector<Value> pieces, targetsB;
    int64_t start = 0, end = 0;
    auto flush = [&]() {
      if (end == start)
        return;
      pieces.push_back(nn::ReshapeOp::create(
          b, loc, RankedTensorType::get({end - start}, element),
          slice(b, loc, column, {start, 0}, {end - start, 1})));
      start = end;
    };
    for (Layer *layer : sampleOrder) {
      if (layer->biasRow < 0) {
        flush();
        start = end = layer->row + layer->channels;
        continue;
      }
      end += layer->channels;
      targetsB.push_back(biasTargets[layer->predictedIndex]);
    }
    flush();
    biasPrediction = concat(b, loc, pieces, 0);
    if (baseline == "mean") {
      biasBaseline = load(b, loc, biasBaselineGlobal());
      biasPrediction = nn::AddOp::create(b, loc, biasPrediction, biasBaseline);
    }
    biasTarget = concat(b, loc, targetsB, 0);
    predictionPieces.push_back(biasPrediction);
    targetPieces.push_back(biasTarget);
  }
  // One loss over every real entry (weights of all layers, then biases): the
  // mean of squares over all of them, summed as each piece's MSE weighted by
  // its share of the entries. The same loss and gradients as one MSE over
  // the concatenated pieces, without copying every prediction and target
  // into one vector and slicing its gradient apart again (on the
  // accelerator, five passes over weight-sized tensors per BP step).
  int64_t entries = 0;
  for (Value piece : predictionPieces)
    entries += cast<RankedTensorType>(piece.getType()).getNumElements();
  Value predictorLoss;
  for (auto [p, t] : llvm::zip(predictionPieces, targetPieces)) {
    Value loss = train::MSELossOp::create(b, loc, scalarType, p, t);
    int64_t n = cast<RankedTensorType>(p.getType()).getNumElements();
    if (predictionPieces.size() > 1)
      loss = nn::MulOp::create(
          b, loc, splat(b, loc, scalarType, double(n) / double(entries)), loss);
    predictorLoss = predictorLoss
                        ? Value(nn::AddOp::create(b, loc, predictorLoss, loss))
                        : loss;
  }

  // Quality, before the predictor learns from this batch: per layer, the
  // cosine similarity of its predicted and true (normalised) gradient (its
  // weight entries, and its bias entries when predicted), averaged over the
  // layers. Per row the sums of p*t, p*p and t*t, stacked as [3, rows] so
  // that each layer's sums are one slice and one reduction.
  auto product = [&](Value a, Value c) -> Value {
    return nn::MulOp::create(b, loc, a, c);
  };
  auto stackRows = [&](ArrayRef<Value> sums) -> Value { // 3 x [k] -> [3, k]
    SmallVector<Value> rows;
    for (Value v : sums) {
      int64_t k = cast<RankedTensorType>(v.getType()).getDimSize(0);
      rows.push_back(nn::ReshapeOp::create(
          b, loc, RankedTensorType::get({1, k}, element), v));
    }
    return concat(b, loc, rows, 0);
  };
  SmallVector<Value> groupSums;
  for (auto [p, t] : llvm::zip(groupPredictions, groupTargets)) {
    SmallVector<Value> sums;
    for (auto [x, y] : {std::pair(p, t), std::pair(p, p), std::pair(t, t)})
      sums.push_back(nn::ReduceSumOp::create(b, loc, product(x, y),
                                             b.getDenseI64ArrayAttr({1}),
                                             b.getBoolAttr(false)));
    groupSums.push_back(stackRows(sums));
  }
  Value rowSums = concat(b, loc, groupSums, 1); // [3, totalRows]
  Value biasSums;                               // [3, biasRows]
  if (biasRows > 0)
    biasSums = stackRows({product(biasPrediction, biasTarget),
                          product(biasPrediction, biasPrediction),
                          product(biasTarget, biasTarget)});
  auto layerSums = [&](Value sums, int64_t start, int64_t size) -> Value {
    return nn::ReduceSumOp::create(b, loc,
                                   slice(b, loc, sums, {0, start}, {3, size}),
                                   b.getDenseI64ArrayAttr({1}),
                                   b.getBoolAttr(true)); // [3, 1]
  };
  SmallVector<Value> perLayer;
  for (Layer *layer : predicted) {
    Value sums = layerSums(rowSums, layer->row, layer->channels);
    if (layer->biasRow >= 0)
      sums = nn::AddOp::create(
          b, loc, sums, layerSums(biasSums, layer->biasRow, layer->channels));
    perLayer.push_back(sums);
  }
  Value all = concat(b, loc, perLayer, 1); // [3, layers]
  auto row = [&](int64_t r) {
    return nn::SliceOp::create(b, loc, all, b.getDenseI64ArrayAttr({r, 0}),
                               b.getDenseI64ArrayAttr({1, int64_t(numLayers)}),
                               b.getDenseI64ArrayAttr({1, 1}));
  };
  Value cosines = nn::DivOp::create(
      b, loc, row(0),
      nn::SqrtOp::create(
          b, loc,
          nn::AddOp::create(b, loc, nn::MulOp::create(b, loc, row(1), row(2)),
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
    Value now = concat(b, loc, pieces, 0);
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
  if (baseline == "mean") {
    // The per-entry running mean of the targets, updated after its use
    // above (a prediction only ever uses earlier gradients).
    Value count = arith::SIToFPOp::create(
        b, loc, RankedTensorType::get({}, element), nextStep);
    Value weight =
        nn::MaxOp::create(b, loc, nn::ReciprocalOp::create(b, loc, count),
                          tiny(1.0 - baselineMomentum));
    auto updateMean = [&](StringRef name, Value mean, Value target) {
      stores.push_back(
          {name.str(),
           nn::AddOp::create(
               b, loc, mean,
               nn::MulOp::create(b, loc, weight,
                                 nn::SubOp::create(b, loc, target, mean)))});
    };
    for (auto [group, mean, target] :
         llvm::zip(groups, groupBaselines, groupTargets))
      updateMean(baselineGlobal(group), mean, target);
    if (biasBaseline)
      updateMean(biasBaselineGlobal(), biasBaseline, biasTarget);
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

  // Maps a layer's predicted rows `[C, filterSize]` (and its predicted bias
  // `[C]`, if any) onto its weight (and bias) gradient and applies the
  // model's optimizer update.
  auto applyPrediction = [&](Layer &layer, Operation *copy, Value rows,
                             Value bias) -> LogicalResult {
    // The ablation `zero` (the optimizer's state alone) and a factor on
    // the predicted gradients both act on the layer's scalar scales.
    double factor = gpGradient == "zero" ? 0.0 : double(gpGradientScale);
    auto scaled = [&](Value s) -> Value {
      if (factor == 1.0)
        return s;
      return nn::MulOp::create(
          b, loc, s, splat(b, loc, RankedTensorType::get({}, element), factor));
    };
    Value scale =
        scaled(globalElement(b, loc, kScaleGlobal, layer.predictedIndex));
    Value grad =
        gp::ExpandPredictionOp::create(b, loc, layer.weightType, rows, scale);
    Value weight = isa<nn::Conv2DOp>(copy) ? copy->getOperand(1)
                                           : cast<nn::GemmOp>(copy).getB();
    if (failed(applyUpdate(layer.weight, weight, grad)))
      return failure();
    if (bias) {
      Value biasScale =
          scaled(globalElement(b, loc, kBiasScaleGlobal, layer.predictedIndex));
      Value gb = nn::MulOp::create(b, loc, bias, biasScale);
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
    // The predictor on this layer's samples alone: the trunk, the head of
    // its filter size and its rows of the group's running mean; the same
    // rows as in the batched call.
    Params params = loadParams(b, loc);
    Value hidden = buildTrunk(b, loc, params, sample);
    Value rows = buildHead(b, loc, params, hidden, layer.filterSize);
    if (baseline == "mean")
      rows = nn::AddOp::create(
          b, loc, rows,
          slice(b, loc, load(b, loc, baselineGlobal(groups[layer.group])),
                {layer.groupRow, 0}, {layer.channels, layer.filterSize}));
    Value bias;
    if (layer.biasRow >= 0)
      bias = layerBias(b, loc, layer, buildBiasHead(b, loc, params, hidden), 0);
    if (failed(applyPrediction(layer, copy, rows, bias)))
      return failure();
  }
  if (!pending.empty()) {
    // One predictor call for all layers. The result is the same as calling
    // it after each layer: within a step no layer's forward pass sees the
    // update of an earlier one, and the predictor does not change.
    if (pending.size() != predicted.size())
      return forward.emitError("--adagp-insert-predictors: a predicted "
                               "layer is not in @forward's body");
    llvm::sort(pending, [](const Pending &l, const Pending &r) {
      return l.layer->row < r.layer->row;
    });
    SmallVector<Value> samples;
    for (Pending &p : pending)
      samples.push_back(p.sample);
    Params params = loadParams(b, loc);
    Value hidden = buildTrunk(b, loc, params, concat(b, loc, samples, 0));
    Value column =
        biasRows > 0 ? buildBiasHead(b, loc, params, hidden) : Value();
    // Pending is in sample order: group by group.
    auto next = pending.begin();
    for (Group &group : groups) {
      Value rows = buildHead(
          b, loc, params,
          slice(b, loc, hidden, {group.row, 0}, {group.rows, predictorHidden}),
          group.filterSize);
      if (gpGradient == "baseline")
        rows = load(b, loc, baselineGlobal(group));
      else if (baseline == "mean")
        rows = nn::AddOp::create(b, loc, rows,
                                 load(b, loc, baselineGlobal(group)));
      for (Layer *layer : group.layers) {
        const Pending &p = *next++;
        assert(p.layer == layer && "pending layers out of sample order");
        Value bias;
        if (layer->biasRow >= 0)
          bias = layerBias(b, loc, *layer, column, layer->row);
        if (failed(applyPrediction(*layer, p.copy,
                                   slice(b, loc, rows, {layer->groupRow, 0},
                                         {layer->channels, layer->filterSize}),
                                   bias)))
          return failure();
      }
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
    // One running mean per group, shaped like the group's head output, so
    // that it is one addition there.
    for (const Group &group : groups) {
      auto type =
          RankedTensorType::get({group.rows, group.filterSize}, element);
      createGlobal(baselineGlobal(group), type, zeros(type));
    }
    if (biasRows > 0) {
      auto type = RankedTensorType::get({biasRows}, element);
      createGlobal(biasBaselineGlobal(), type, zeros(type));
    }
  }
  createGlobal(kQualityGlobal, scalarType, zeros(scalarType));
  createGlobal(kPredictorLossGlobal, scalarType, zeros(scalarType));
}

void InsertPredictors::createSchedule() {
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
  auto f64 = [&](double v) { return b.getF64FloatAttr(v); };
  gp::ScheduleOp::create(
      b, module.getLoc(), FlatSymbolRefAttr::get(&getContext(), "bp_step"),
      FlatSymbolRefAttr::get(&getContext(), "gp_step"),
      FlatSymbolRefAttr::get(&getContext(), kQualityGlobal),
      b.getStringAttr("adaptive"), b.getStringAttr("batch"), i64(1), i64(4),
      i64(8), i64(1), i64(64), f64(2.0), f64(0.0), f64(0.1), f64(0.3), f64(0.1),
      FlatSymbolRefAttr::get(&getContext(), kBPPlainStep), i64(1));
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
  // The BP step as it was, for the schedule's BP steps that do not train
  // the predictor (predictor-every); --adagp-lower-schedule erases it when
  // every BP step trains the predictor.
  if (table.lookup(kBPPlainStep)) {
    module.emitError("--adagp-insert-predictors: the module already has @")
        << kBPPlainStep;
    return signalPassFailure();
  }
  auto plain = cast<func::FuncOp>(bpStep->clone());
  plain.setSymName(kBPPlainStep);
  table.insert(plain, std::next(Block::iterator(bpStep)));
  createPredictorGlobals();
  createStateGlobals();
  if (failed(buildGPStep(forward, bpStep)) || failed(extendBPStep(bpStep)))
    return signalPassFailure();
  createSchedule();
}
