//===- PlanDram.cpp - The static DRAM plan of the training steps ----------===//
//
// Everything a step touches gets a fixed place in DRAM at compile time:
//
//   [static]  globals (parameters, optimizer state, statistics, the step
//             counter), the host's input and label buffers, constants,
//             optimizer hyper-parameter blocks;
//   [dynamic] per step function, every other tensor for its live range,
//             first fit over the op order; step functions (@bp_step,
//             @bp_plain_step, @gp_step, @eval_step) never run
//             concurrently, so they share this area.
//
// Results stored back into a global take the global's region when no later
// op reads the old value (optimizer updates and running statistics then
// happen in place), reshapes that keep the storage order alias their
// operand, and slices that are one contiguous run of it lie inside its
// region.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "adagp/Dialect/ADAGP/ADAGPDialect.h"
#include "adagp/Dialect/Accel/Passes.h"

#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/SetVector.h"

#include <map>

namespace adagp::accel {
#define GEN_PASS_DEF_ACCELPLANDRAM
#include "adagp/Dialect/Accel/Passes.h.inc"
} // namespace adagp::accel

using namespace mlir;

namespace adagp::accel {
namespace {

constexpr uint64_t kAlign = 64; // a DRAM burst: tensors start on one

uint64_t alignUp(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

const SmallVector<int64_t> kNhwc = {0, 2, 3, 1};
const SmallVector<int64_t> kHwio = {2, 3, 1, 0};

/// Bytes of a tensor on the device: 64-bit integers stay 8 bytes (the step
/// counter); labels are int32 words whatever the model's type.
uint64_t deviceBytes(Type t, bool isLabels = false) {
  auto rt = cast<RankedTensorType>(t);
  uint64_t n = uint64_t(rt.getNumElements());
  if (isLabels)
    return n * 4;
  return n * (rt.getElementType().isInteger(64) ? 8 : 4);
}

/// First-fit allocator over a growing area.
class FreeList {
public:
  uint64_t allocate(uint64_t bytes) {
    bytes = alignUp(std::max<uint64_t>(bytes, 1));
    for (auto it = free.begin(); it != free.end(); ++it) {
      if (it->second < bytes)
        continue;
      uint64_t off = it->first, size = it->second;
      free.erase(it);
      if (size > bytes)
        free[off + bytes] = size - bytes;
      return off;
    }
    uint64_t off = top;
    top += bytes;
    return off;
  }
  void release(uint64_t off, uint64_t bytes) {
    bytes = alignUp(std::max<uint64_t>(bytes, 1));
    auto it = free.emplace(off, bytes).first;
    // Coalesce with the neighbours.
    if (it != free.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free.erase(it);
        it = prev;
      }
    }
    auto next = std::next(it);
    if (next != free.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free.erase(next);
    }
  }
  uint64_t highWater() const { return top; }

private:
  std::map<uint64_t, uint64_t> free;
  uint64_t top = 0;
};

/// ADA-GP's state: the predictor's parameters, its baseline and gradient
/// scales, the schedule's statistics.
bool isAdagpState(ml_program::GlobalOp global) {
  return global->hasAttr("adagp.predictor") ||
         global.getSymName().starts_with("adagp.");
}

bool isRegisterValue(Value v) {
  auto rt = dyn_cast<RankedTensorType>(v.getType());
  if (!rt)
    return true;
  if (rt.getRank() == 0 && rt.getElementType().isInteger(64))
    return true;
  if (v.getDefiningOp<train::LRScheduleOp>())
    return true;
  return false;
}

struct AccelPlanDramPass : public impl::AccelPlanDramBase<AccelPlanDramPass> {
  using Base::Base;

  ModuleOp module;
  MLIRContext *ctx = nullptr;
  uint64_t staticTop = 0;
  DenseMap<Value, SmallVector<int64_t>> layouts;

  RegionAttr makeRegion(uint64_t offset, uint64_t bytes, isa::TensorClass cls,
                        ArrayRef<int64_t> layout) {
    return RegionAttr::get(ctx, offset, bytes, isa::tensorClassName(cls),
                           layout);
  }

  RegionAttr allocStatic(uint64_t bytes, isa::TensorClass cls,
                         ArrayRef<int64_t> layout) {
    uint64_t off = staticTop;
    staticTop = alignUp(staticTop + std::max<uint64_t>(bytes, 1));
    return makeRegion(off, bytes, cls, layout);
  }

  void runOnOperation() override {
    module = getOperation();
    ctx = &getContext();
    sim::Config cfg;
    if (failed(loadAccelConfig(module, configPath, cfg)))
      return signalPassFailure();

    SmallVector<func::FuncOp> steps;
    SmallVector<std::string> names(functions.begin(), functions.end());
    if (names.empty())
      names = {"bp_step", "bp_plain_step", "gp_step", "eval_step"};
    for (const std::string &name : names) {
      auto f = module.lookupSymbol<func::FuncOp>(name);
      if (!f) {
        if (!functions.empty()) {
          module.emitError("no step function @") << name;
          return signalPassFailure();
        }
        continue;
      }
      // @bp_plain_step (ADA-GP's BP step without the predictor, for
      // predictor-every > 1) is planned like @bp_step: it shares the
      // parameters and optimizer state, and its tensors the dynamic area.
      StringRef kind = StringRef(name).starts_with("eval")       ? "eval"
                       : StringRef(name).starts_with("gp")       ? "gp"
                       : StringRef(name).starts_with("bp_plain") ? "bp_plain"
                                                                 : "bp";
      f->setAttr("accel.step", StringAttr::get(ctx, kind));
      steps.push_back(f);
    }
    if (steps.empty()) {
      module.emitError("no step function to plan (expected @bp_step or "
                       "@eval_step; run --train-build-step first)");
      return signalPassFailure();
    }

    planGlobals(steps);
    planInputs(steps);
    planConstantsAndHyperParams(steps);
    uint64_t dynamicBase = alignUp(staticTop);
    uint64_t dynamicMax = 0;
    for (func::FuncOp f : steps) {
      FailureOr<uint64_t> used = planFunction(f, dynamicBase);
      if (failed(used))
        return signalPassFailure();
      dynamicMax = std::max(dynamicMax, *used);
    }
    uint64_t total = dynamicBase + dynamicMax;
    Builder b(ctx);
    module->setAttr("accel.dram_static_bytes",
                    b.getI64IntegerAttr(int64_t(dynamicBase)));
    module->setAttr("accel.dram_bytes", b.getI64IntegerAttr(int64_t(total)));
    if (total > cfg.dramBytes) {
      module.emitError("the model does not fit the accelerator's DRAM: the "
                       "plan needs ")
          << total << " bytes (" << dynamicBase << " for parameters, state "
          << "and buffers, " << dynamicMax << " for the largest step's "
          << "tensors) but the configuration has " << cfg.dramBytes
          << " (short by " << total - cfg.dramBytes << " bytes)";
      return signalPassFailure();
    }
  }

  //===--------------------------------------------------------------------===//
  // Static area
  //===--------------------------------------------------------------------===//

  void planGlobals(ArrayRef<func::FuncOp> steps) {
    DenseMap<StringAttr, isa::TensorClass> cls;
    DenseSet<StringAttr> trained;
    auto globalOf = [](Value v) -> StringAttr {
      if (auto l = v.getDefiningOp<ml_program::GlobalLoadOp>())
        return l.getGlobalAttr().getLeafReference();
      return {};
    };
    SetVector<StringAttr> used;
    for (func::FuncOp f : steps) {
      f.walk([&](Operation *op) {
        if (auto l = dyn_cast<ml_program::GlobalLoadOp>(op))
          used.insert(l.getGlobalAttr().getLeafReference());
        if (auto s = dyn_cast<ml_program::GlobalStoreOp>(op))
          used.insert(s.getGlobalAttr().getLeafReference());
        if (auto s = dyn_cast<train::SGDUpdateOp>(op)) {
          if (StringAttr g = globalOf(s.getParam()))
            cls[g] = isa::TensorClass::Weight, trained.insert(g);
          if (StringAttr g = globalOf(s.getVelocity()))
            cls[g] = isa::TensorClass::OptimizerState;
        }
        if (auto a = dyn_cast<train::AdamUpdateOp>(op)) {
          if (StringAttr g = globalOf(a.getParam()))
            cls[g] = isa::TensorClass::Weight, trained.insert(g);
          for (Value v : {a.getM(), a.getV()})
            if (StringAttr g = globalOf(v))
              cls[g] = isa::TensorClass::OptimizerState;
        }
        if (auto bn = dyn_cast<nn::BatchNormTrainOp>(op))
          for (Value v : {bn.getRunningMean(), bn.getRunningVar()})
            if (StringAttr g = globalOf(v))
              cls[g] = isa::TensorClass::Statistics;
        if (auto bn = dyn_cast<nn::BatchNormInferenceOp>(op))
          for (Value v : {bn.getMean(), bn.getVar()})
            if (StringAttr g = globalOf(v))
              if (!cls.count(g))
                cls[g] = isa::TensorClass::Statistics;
      });
    }
    for (auto global : module.getOps<ml_program::GlobalOp>()) {
      StringAttr name = global.getSymNameAttr();
      if (!used.contains(name))
        continue;
      auto type = cast<RankedTensorType>(global.getType());
      isa::TensorClass c;
      if (cls.count(name))
        c = cls[name];
      else if (isAdagpState(global))
        c = isa::TensorClass::Predictor;
      else if (type.getElementType().isF32() && type.getRank() > 0)
        c = isa::TensorClass::Weight;
      else
        c = isa::TensorClass::Other;
      if (isAdagpState(global) && c != isa::TensorClass::OptimizerState)
        c = isa::TensorClass::Predictor;
      ArrayRef<int64_t> layout;
      if (type.getRank() == 4)
        layout = kHwio;
      global->setAttr(AccelDialect::kDramAttrName,
                      allocStatic(deviceBytes(type), c, layout));
      // Weights the program does not update (biases frozen in GP steps)
      // are parameters all the same.
      bool parameter = trained.contains(name) ||
                       c == isa::TensorClass::Predictor ||
                       c == isa::TensorClass::Weight;
      global->setAttr("accel.role",
                      StringAttr::get(ctx, parameter ? "parameter" : "state"));
    }
  }

  void planInputs(ArrayRef<func::FuncOp> steps) {
    llvm::StringMap<RegionAttr> shared;
    for (func::FuncOp f : steps) {
      for (BlockArgument arg : f.getArguments()) {
        auto type = cast<RankedTensorType>(arg.getType());
        bool isLabels = type.getElementType().isInteger(64);
        std::string key;
        if (auto n = f.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                    "onnx.name"))
          key = n.getValue().str();
        if (isLabels)
          key = "labels";
        else if (key.empty())
          key = "input" + (arg.getArgNumber() ? std::to_string(
                                                    arg.getArgNumber())
                                              : std::string());
        RegionAttr &r = shared[key];
        if (!r)
          r = allocStatic(deviceBytes(type, isLabels),
                          isa::TensorClass::Input,
                          type.getRank() == 4 ? ArrayRef<int64_t>(kNhwc)
                                              : ArrayRef<int64_t>());
        setRegion(arg, r);
        f.setArgAttr(arg.getArgNumber(), "accel.input_name",
                     StringAttr::get(ctx, key));
        layouts[arg] = SmallVector<int64_t>(r.getLayout());
      }
    }
  }

  void planConstantsAndHyperParams(ArrayRef<func::FuncOp> steps) {
    for (func::FuncOp f : steps) {
      f.walk([&](Operation *op) {
        if (llvm::isa<train::SGDUpdateOp, train::AdamUpdateOp>(op))
          op->setAttr("accel.hp",
                      allocStatic(4 * isa::kNumHyperParams,
                                  isa::TensorClass::Other, {}));
        auto c = dyn_cast<arith::ConstantOp>(op);
        if (!c)
          return;
        auto type = dyn_cast<RankedTensorType>(c.getType());
        if (!type || isRegisterValue(c.getResult()) ||
            !type.getElementType().isF32())
          return;
        ArrayRef<int64_t> layout;
        if (type.getRank() == 4)
          layout = kNhwc;
        setRegion(c.getResult(), allocStatic(deviceBytes(type),
                                             isa::TensorClass::Constant,
                                             layout));
        layouts[c.getResult()] = SmallVector<int64_t>(layout);
      });
    }
  }

  //===--------------------------------------------------------------------===//
  // Dynamic area
  //===--------------------------------------------------------------------===//

  /// Whether a value that is not a concatenation will be stored row-major
  /// (or in an order equivalent to it), from its type and producer alone:
  /// planned values by their region; computed 4-D values are channel-last
  /// (inferLayout) unless a filter's gradient or an op on one.
  static bool predictedRowMajor(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    if (RegionAttr r = getRegion(v))
      return rowMajorEquivalent(type, r.getLayout());
    if (type.getRank() != 4)
      return true;
    Operation *def = v.getDefiningOp();
    if (!def || def->getDialect() == nullptr ||
        def->getDialect()->getNamespace() != "adagp")
      return false; // nn ops may take a filter's [KH][KW][I][O] order
    return rowMajorEquivalent(type, kNhwc);
  }

  /// The concatenations stored in their logical (row-major) order: the
  /// largest set of 4-D concatenations each of which only reshapes and
  /// concatenations of the set read, and whose operands are stored
  /// row-major or are in the set. The predictor's samples [rows, 2, P, P]
  /// (per layer the reorganised maps and a constant depth plane, then all
  /// layers), flattened for the trunk's products: channel-last, a channel
  /// concatenation writes one element per DRAM burst and the reshape
  /// transposes it back. ShuffleNet's channel concatenations of
  /// activations stay channel-last.
  void chooseRowMajorConcats(Block &body) {
    rowMajorConcats.clear();
    for (Operation &op : body)
      if (llvm::isa<nn::ConcatOp>(op) &&
          cast<RankedTensorType>(op.getResult(0).getType()).getRank() == 4 &&
          !op.getResult(0).use_empty())
        rowMajorConcats.insert(&op);
    bool changed = true;
    while (changed) {
      changed = false;
      for (Operation *c : SmallVector<Operation *>(rowMajorConcats.begin(),
                                                   rowMajorConcats.end())) {
        bool ok = llvm::all_of(c->getResult(0).getUsers(), [&](Operation *u) {
          return llvm::isa<nn::ReshapeOp, nn::FlattenOp>(u) ||
                 rowMajorConcats.contains(u);
        });
        ok = ok && llvm::all_of(c->getOperands(), [&](Value x) {
               Operation *def = x.getDefiningOp();
               return (def && rowMajorConcats.contains(def)) ||
                      predictedRowMajor(x);
             });
        if (!ok) {
          rowMajorConcats.erase(c);
          changed = true;
        }
      }
    }
  }
  llvm::SmallPtrSet<Operation *, 8> rowMajorConcats;

  /// The storage order of a value computed in a step.
  SmallVector<int64_t> inferLayout(OpResult v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.getRank() != 4)
      return {};
    Operation *op = v.getOwner();
    // Concatenations that only reshapes read: chooseRowMajorConcats.
    if (rowMajorConcats.contains(op))
      return {};
    // Filter gradients, computed or predicted, take the filters' order.
    if (llvm::isa<nn::Conv2DFilterGradOp, gp::ExpandPredictionOp>(op))
      return SmallVector<int64_t>(kHwio);
    // Optimizer results keep their inputs' order; so do elementwise ops on
    // filter-shaped (HWIO) values.
    if (llvm::isa<train::SGDUpdateOp, train::AdamUpdateOp>(op) ||
        (op->getDialect() &&
         op->getDialect()->getNamespace() == "nn" &&
         !llvm::isa<nn::Conv2DOp, nn::Conv2DInputGradOp, nn::MaxPool2DOp,
                    nn::AvgPool2DOp, nn::GlobalAvgPoolOp, nn::MaxPool2DGradOp,
                    nn::AvgPool2DGradOp, nn::BatchNormTrainOp,
                    nn::BatchNormGradOp, nn::BatchNormInferenceOp,
                    nn::ReshapeOp, nn::FlattenOp, nn::BroadcastToOp>(op))) {
      for (Value operand : op->getOperands()) {
        auto it = layouts.find(operand);
        SmallVector<int64_t> l;
        if (it != layouts.end())
          l = it->second;
        else if (RegionAttr r = getRegion(operand))
          l = SmallVector<int64_t>(r.getLayout());
        if (l == kHwio && operand.getType() == v.getType())
          return l;
      }
    }
    return SmallVector<int64_t>(kNhwc);
  }

  FailureOr<uint64_t> planFunction(func::FuncOp f, uint64_t base) {
    Block &body = f.getBody().front();
    chooseRowMajorConcats(body);
    bool isEval = f->getAttrOfType<StringAttr>("accel.step").getValue() ==
                  "eval";
    // Op order and last uses.
    DenseMap<Operation *, int64_t> index;
    int64_t n = 0;
    for (Operation &op : body)
      index[&op] = n++;
    int64_t firstLoss = n;
    for (Operation &op : body)
      if (llvm::isa<train::SoftmaxCrossEntropyOp,
                    train::SoftmaxCrossEntropyGradOp, train::MSELossOp,
                    train::MSELossGradOp>(op)) {
        firstLoss = index[&op];
        break;
      }

    ElementwiseGroups groups = findElementwiseGroups(body);

    // Results written back into a global in place: value -> global region.
    DenseMap<Value, RegionAttr> inPlace;
    for (Operation &op : body) {
      auto store = dyn_cast<ml_program::GlobalStoreOp>(op);
      if (!store)
        continue;
      Value v = store.getValue();
      auto def = dyn_cast_or_null<OpResult>(v);
      if (!def || isRegisterValue(v))
        continue;
      Operation *defOp = def.getOwner();
      // An element-wise result (the predictor's running baseline) may take
      // the global's region when it keeps the global's type: its loop reads
      // each chunk of the old value before it stores the chunk's result.
      bool elementwise = isFusibleElementwise(defOp);
      if (!elementwise && !llvm::isa<train::SGDUpdateOp, train::AdamUpdateOp,
                                     nn::BatchNormTrainOp>(defOp))
        continue;
      auto global = SymbolTable::lookupNearestSymbolFrom(
          &op, store.getGlobalAttr());
      RegionAttr gr = global ? global->getAttrOfType<RegionAttr>(
                                   AccelDialect::kDramAttrName)
                             : RegionAttr();
      if (!gr)
        continue;
      int64_t defIndex = index[defOp];
      // The ops that run with the def in one loop (its fused group) read
      // the old value in the same chunks.
      DenseSet<Operation *> sameLoop{defOp};
      if (auto it = groups.groupOf.find(defOp); it != groups.groupOf.end())
        sameLoop.insert(groups.groups[it->second].begin(),
                        groups.groups[it->second].end());
      bool safe = true;
      // Both stored row-major (inferLayout keeps values of rank other than
      // 4 so).
      auto vType = cast<RankedTensorType>(v.getType());
      if (elementwise &&
          (vType != cast<ml_program::GlobalOp>(global).getType() ||
           vType.getRank() == 4 || !rowMajorEquivalent(vType, gr.getLayout())))
        safe = false;
      for (Operation &other : body) {
        auto load = dyn_cast<ml_program::GlobalLoadOp>(other);
        if (!load || load.getGlobalAttr() != store.getGlobalAttr())
          continue;
        // Readers of the old value, also through reshapes and slices (which
        // may share its region).
        SmallVector<Value> values{load.getResult()};
        while (!values.empty()) {
          Value value = values.pop_back_val();
          for (Operation *user : value.getUsers()) {
            if (index[user] > defIndex)
              safe = false;
            // Within the loop, only reads of the whole value, element for
            // element (a broadcast read would see stored chunks).
            if (elementwise && sameLoop.contains(user) &&
                value.getType() != v.getType())
              safe = false;
            if (elementwise && sameLoop.contains(user) &&
                value != load.getResult())
              safe = false;
            if (llvm::isa<nn::ReshapeOp, nn::FlattenOp, nn::SliceOp>(user))
              values.push_back(user->getResult(0));
          }
        }
        if (index[&other] > defIndex)
          safe = false;
      }
      if (safe)
        inPlace[v] = gr;
    }

    // Aliases: reshapes that keep the storage order share their operand's
    // region; `root` maps every value to the value owning its region.
    DenseMap<Value, Value> root;
    DenseMap<Value, int64_t> lastUse;
    auto rootOf = [&](Value v) {
      while (root.count(v))
        v = root[v];
      return v;
    };
    FreeList alloc;
    // What each live root holds: offset and bytes.
    DenseMap<Value, std::pair<uint64_t, uint64_t>> placed;
    SmallVector<std::pair<int64_t, Value>> frees;

    // Last uses over aliases.
    for (Operation &op : body) {
      for (Value operand : op.getOperands()) {
        Value r = operand;
        int64_t i = llvm::isa<func::ReturnOp>(op) ? n : index[&op];
        lastUse[r] = std::max(lastUse.lookup(r), i);
      }
    }
    // A product whose epilogue computes its user (LowerMatmul.cpp) still
    // reads its operands when the user's result region is written.
    for (Operation &op : body)
      if (Operation *user = epilogueCandidate(&op))
        for (Value operand : op.getOperands())
          lastUse[operand] = std::max(lastUse.lookup(operand), index[user]);
    // Likewise a predicted gradient's expansion, which the optimizer update
    // that applies it computes (LowerOptimizer.cpp).
    for (Operation &op : body)
      if (Operation *update = expansionUpdate(&op))
        for (Value operand : op.getOperands())
          lastUse[operand] = std::max(lastUse.lookup(operand), index[update]);

    // A fused element-wise group (LowerElementwise.cpp) runs as one loop at
    // its first op: what any of its ops reads stays live until its last.
    for (const auto &group : groups.groups)
      for (Operation *member : group)
        for (Value operand : member->getOperands())
          lastUse[operand] =
              std::max(lastUse.lookup(operand), index[group.back()]);

    // ADA-GP's tensors (reorganised samples, the predictor's activations,
    // outputs and gradients, as LowerSteps phases them): class predictor.
    DenseSet<Value> predictorValues;
    auto fromPredictor = [&](Value v) {
      if (predictorValues.contains(v))
        return true;
      auto load = v.getDefiningOp<ml_program::GlobalLoadOp>();
      return load && load.getGlobal().getLeafReference().getValue().starts_with(
                         "adagp.");
    };

    for (Operation &op : body) {
      int64_t i = index[&op];
      if (llvm::isa<ml_program::GlobalLoadOp, ml_program::GlobalStoreOp,
                    arith::ConstantOp, func::ReturnOp>(op))
        continue;
      bool predictorOp =
          llvm::isa<gp::ReorganizeOp, gp::ReorganizeGradientOp>(op) ||
          (llvm::any_of(op.getOperands(), fromPredictor) &&
           !(llvm::isa<train::SGDUpdateOp, train::AdamUpdateOp>(op) &&
             !fromPredictor(op.getOperand(0))));
      if (predictorOp)
        for (Value r : op.getResults())
          predictorValues.insert(r);
      SmallVector<Attribute> regions;
      bool any = false;
      for (OpResult v : op.getResults()) {
        if (isRegisterValue(v)) {
          regions.push_back(UnitAttr::get(ctx));
          continue;
        }
        auto type = cast<RankedTensorType>(v.getType());
        SmallVector<int64_t> layout = inferLayout(v);
        layouts[v] = layout;
        isa::TensorClass cls = isEval || i <= firstLoss
                                   ? isa::TensorClass::Activation
                                   : isa::TensorClass::Gradient;
        // The predicted weight gradient is a gradient, the rest of ADA-GP's
        // work the predictor's.
        if (llvm::isa<gp::ExpandPredictionOp>(op))
          cls = isa::TensorClass::Gradient;
        else if (predictorOp)
          cls = isa::TensorClass::Predictor;
        if (auto it = inPlace.find(v); it != inPlace.end()) {
          regions.push_back(it->second);
          any = true;
          continue;
        }
        if (llvm::isa<train::SGDUpdateOp, train::AdamUpdateOp>(op))
          cls = v.getResultNumber() == 0 ? isa::TensorClass::Weight
                                         : isa::TensorClass::OptimizerState;
        // Views share their operand's region: a reshape that keeps the
        // storage order (all of it), a contiguous slice (a run inside it).
        std::optional<int64_t> viewStart;
        if (llvm::isa<nn::ReshapeOp, nn::FlattenOp>(op))
          viewStart = 0;
        else if (type.getElementType().isF32())
          viewStart = contiguousSliceStart(&op);
        if (viewStart) {
          Value src = op.getOperand(0);
          RegionAttr sr = getRegion(src);
          auto st = cast<RankedTensorType>(src.getType());
          if (sr && rowMajorEquivalent(st, sr.getLayout()) &&
              rowMajorEquivalent(type, layout)) {
            isa::TensorClass c;
            isa::parseTensorClass(sr.getCls().str(), c);
            bool slice = llvm::isa<nn::SliceOp>(op);
            regions.push_back(makeRegion(
                sr.getOffset() + 4 * uint64_t(*viewStart),
                slice ? deviceBytes(type) : sr.getBytes(), c, layout));
            Value r = rootOf(src);
            root[v] = r;
            lastUse[r] = std::max(lastUse[r], lastUse.lookup(v));
            any = true;
            continue;
          }
        }
        uint64_t bytes = deviceBytes(type);
        uint64_t off = alloc.allocate(bytes);
        placed[v] = {off, bytes};
        regions.push_back(makeRegion(base + off, bytes, cls, layout));
        any = true;
      }
      if (any)
        op.setAttr(AccelDialect::kDramAttrName,
                   ArrayAttr::get(ctx, regions));
      // Release the roots whose last use is this op (results that nobody
      // uses die here too).
      SmallVector<Value> candidates(op.getOperands());
      for (Value v : op.getResults())
        candidates.push_back(v);
      for (Value v : candidates) {
        Value r = rootOf(v);
        auto it = placed.find(r);
        if (it == placed.end() || lastUse.lookup(r) > i)
          continue;
        alloc.release(it->second.first, it->second.second);
        placed.erase(it);
      }
    }
    return alloc.highWater();
  }
};

} // namespace
} // namespace adagp::accel
