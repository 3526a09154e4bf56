//===- LowerOptimizer.cpp - Optimizer updates on the opt instruction ------===//
//
// An update streams the parameter, its gradient and its state through the
// scratchpad; one `opt` per chunk updates them in place, and the new values
// are stored to the results' regions (the globals' own, when the DRAM plan
// could update in place). The hyper-parameters live in a 9-word block in
// DRAM (docs/isa.md section 8) that the plan reserved on the op: constants
// are its initial contents, and what changes per step (a scheduled learning
// rate, Adam's bias corrections) the scalar core writes before the block is
// loaded.
//
// A GP step's update of a predicted layer reads the predictor's rows itself
// (the adagp.expand_prediction that maps them onto the filter is fused
// into it): per block of output channels, the rows times the layer's scale,
// transposed on chip into the filter's order, then `opt`; the expanded
// gradient never goes to DRAM and back.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/ADAGP/ADAGPDialect.h"
#include "adagp/Dialect/Train/TrainDialect.h"

using namespace mlir;

namespace adagp::accel {
namespace {

/// The learning rate as a compile-time constant, when the schedule is.
std::optional<double> constantLearningRate(Value lr) {
  if (std::optional<double> c = constantScalar(lr))
    return c;
  if (auto s = lr.getDefiningOp<train::LRScheduleOp>())
    if (s.getKind() == "constant")
      return s.getBaseLr().convertToDouble();
  return std::nullopt;
}

RegionAttr hpRegion(Operation *op) {
  return op->getAttrOfType<RegionAttr>("accel.hp");
}

struct UpdateOperands {
  Value param, grad, m, v;       // inputs (v only for Adam)
  Value newParam, newM, newV;    // results
  isa::OptFunct funct;
};

/// How a fused expansion's update is blocked: `rowsPerBlock` output
/// channels (rows of the prediction) by `colsPerBlock` of the `ci` input
/// channels (each `taps` elements of a row) at a time.
struct ExpansionGeometry {
  int64_t k = 0, inner = 0, width = 0, taps = 1, ci = 0;
  int64_t rowsPerBlock = 0, colsPerBlock = 0;
  bool hwio = false;
  int64_t buffers = 0; // per block: rows in, gradient, parameter, state
};

/// The scratchpad's top 32 elements: the scale, then the hyper-parameters.
constexpr int64_t kReservedTop = 32;

/// Scratchpad buffers of one `opt` (v only for Adam).
struct OptBuffers {
  int64_t param, grad, m, v, hp;
};

/// One block of an update: the parameter, the gradient (unless
/// `gradOnChip`: already at `buf.grad`) and the state (`box` at byte offset
/// `off` of their regions) in, `opt` over `n` elements, the new values out.
void emitOptBlock(LoweringContext &ctx, const UpdateOperands &u,
                  const DmaBox &box, uint64_t off, int64_t n,
                  const OptBuffers &buf, bool gradOnChip) {
  InstBuilder &ib = ctx.ib;
  ib.load(ctx.addr(u.param) + off, buf.param, box, ctx.cls(u.param));
  if (!gradOnChip)
    ib.load(ctx.addr(u.grad) + off, buf.grad, box, ctx.cls(u.grad));
  ib.load(ctx.addr(u.m) + off, buf.m, box, ctx.cls(u.m));
  if (u.v)
    ib.load(ctx.addr(u.v) + off, buf.v, box, ctx.cls(u.v));
  isa::Instruction o = isa::makeInstruction(isa::Opcode::Opt, uint8_t(u.funct));
  o.set(isa::opt::N, n)
      .set(isa::opt::Param, buf.param)
      .set(isa::opt::Grad, buf.grad)
      .set(isa::opt::M, buf.m)
      .set(isa::opt::V, u.v ? buf.v : 0)
      .set(isa::opt::Hp, buf.hp);
  ib.emit(o);
  ib.store(ctx.addr(u.newParam) + off, buf.param, box, ctx.cls(u.newParam));
  ib.store(ctx.addr(u.newM) + off, buf.m, box, ctx.cls(u.newM));
  if (u.v)
    ib.store(ctx.addr(u.newV) + off, buf.v, box, ctx.cls(u.newV));
}

std::optional<ExpansionGeometry>
expansionGeometry(Operation *update, Operation *expand, LoweringContext &ctx) {
  auto e = cast<gp::ExpandPredictionOp>(expand);
  Value rows = e.getPrediction(), param = update->getOperand(0);
  auto rt = cast<RankedTensorType>(rows.getType());
  auto pt = cast<RankedTensorType>(param.getType());
  // getRegion, not ctx.region: a predicate emits no diagnostics.
  RegionAttr rr = getRegion(rows), rp = getRegion(param),
             rs = getRegion(e.getScale());
  if (!rr || !rp || !rs || !rt.getElementType().isF32() ||
      !pt.getElementType().isF32() || rt.getRank() != 2 || pt.getRank() < 1 ||
      pt.getNumElements() == 0)
    return std::nullopt;
  ExpansionGeometry g;
  g.hwio = pt.getRank() == 4 && rp.getLayout() == ArrayRef<int64_t>{2, 3, 1, 0};
  if (!rowMajorEquivalent(rt, rr.getLayout()) ||
      (!g.hwio && !rowMajorEquivalent(pt, rp.getLayout())))
    return std::nullopt;
  // The parameter's state is stored like the parameter.
  for (Value state : update->getOperands().drop_front(2)) {
    if (state.getType() != param.getType())
      continue; // the learning rate, Adam's step
    RegionAttr r = getRegion(state);
    if (!r || r.getLayout() != rp.getLayout())
      return std::nullopt;
  }
  g.k = pt.getDimSize(0);
  g.inner = pt.getNumElements() / g.k;
  g.width = rt.getDimSize(1);
  g.taps = g.hwio ? pt.getDimSize(2) * pt.getDimSize(3) : 1;
  g.ci = g.inner / g.taps;
  g.buffers = llvm::isa<train::AdamUpdateOp>(update) ? 5 : 4;
  int64_t budget =
      std::min<int64_t>((ctx.spadElems() - kReservedTop) / 2 / g.buffers,
                        65536); // elements of one buffer, at most one opt
  // Whole rows when they fit; otherwise a filter's [KH][KW][I][O] blocks
  // keep 16 output channels (one 64-byte DRAM burst per run of the
  // filter's box) and split the input channels.
  int64_t burst = g.hwio ? 16 : 1;
  g.rowsPerBlock = std::min(g.k, budget / g.inner);
  g.colsPerBlock = g.ci;
  if (g.rowsPerBlock < std::min(g.k, burst)) {
    g.rowsPerBlock = std::min(g.k, burst);
    g.colsPerBlock = std::min(g.ci, budget / (g.rowsPerBlock * g.taps));
  }
  if (g.hwio)
    g.rowsPerBlock = std::min<int64_t>(g.rowsPerBlock, 2047); // d_cs
  if (g.rowsPerBlock < 1 || g.colsPerBlock < 1 || g.inner > (1 << 19) ||
      g.taps > 2047)
    return std::nullopt;
  return g;
}

/// The update of a fused expansion (see the file comment).
LogicalResult emitPredictedUpdate(Operation *op, LoweringContext &ctx,
                                  const UpdateOperands &u,
                                  gp::ExpandPredictionOp expand,
                                  uint64_t hpAddr, const ExpansionGeometry &g) {
  InstBuilder &ib = ctx.ib;
  Value rows = expand.getPrediction(), scale = expand.getScale();
  const int64_t top = ctx.spadElems() - kReservedTop;
  const int64_t sAddr = top, hpChip = top + 16;
  ib.load(hpAddr, hpChip, DmaBox::contiguous(isa::kNumHyperParams),
          isa::TensorClass::Other);
  ib.load(ctx.addr(scale), sAddr, DmaBox::contiguous(1), ctx.cls(scale));
  const int64_t block = g.rowsPerBlock * g.colsPerBlock * g.taps;
  unsigned parity = 0;
  for (int64_t k0 = 0; k0 < g.k; k0 += g.rowsPerBlock) {
    int64_t kk = std::min(g.rowsPerBlock, g.k - k0);
    for (int64_t c0 = 0; c0 < g.ci; c0 += g.colsPerBlock) {
      int64_t cc = std::min(g.colsPerBlock, g.ci - c0);
      int64_t cols = cc * g.taps; // of each row
      int64_t base = (parity++ % 2) * g.buffers * block;
      int64_t in = base, gc = base + block;
      ib.load(ctx.addr(rows) + 4 * uint64_t(k0 * g.width + c0 * g.taps), in,
              DmaBox::rows(kk, cols, g.width, cols), ctx.cls(rows));
      DmaBox box;
      uint64_t off;
      if (!g.hwio) {
        ib.vec(isa::VecFunct::Mul, kk, cols, View{gc, cols, 1},
               View{in, cols, 1}, View{sAddr, 0, 0});
        box = DmaBox::rows(kk, cols, g.inner, cols);
        off = 4 * uint64_t(k0 * g.inner + c0);
      } else {
        // in[k][i][tap] -> gc[tap][i][k] (this block's k and i), times the
        // scale.
        for (int64_t t = 0; t < g.taps; ++t)
          ib.vec(isa::VecFunct::Mul, kk, cc, View{gc + t * cc * kk, 1, kk},
                 View{in + t, cols, g.taps}, View{sAddr, 0, 0});
        box.dim[0] = {kk, 0, 0, 1, 1};
        box.dim[1] = {cc, 0, 0, g.k, kk};
        box.dim[2] = {g.taps, 0, 0, g.ci * g.k, cc * kk};
        off = 4 * uint64_t(k0 + c0 * g.k);
      }
      emitOptBlock(ctx, u, box, off, kk * cols,
                   OptBuffers{base + 2 * block, gc, base + 3 * block,
                              base + 4 * block, hpChip},
                   /*gradOnChip=*/true);
    }
  }
  return success();
}

LogicalResult emitUpdate(Operation *op, LoweringContext &ctx,
                         const UpdateOperands &u, Value lr,
                         std::array<float, isa::kNumHyperParams> hp,
                         Value step, double beta1, double beta2) {
  RegionAttr hpr = hpRegion(op);
  if (!hpr)
    return op->emitError("has no hyper-parameter block in the DRAM plan "
                         "(run --accel-plan-dram)");
  InstBuilder &ib = ctx.ib;
  uint64_t hpAddr = hpr.getOffset();
  bool dynamicLr = false;
  if (std::optional<double> c = constantLearningRate(lr)) {
    hp[isa::kHpLearningRate] = float(*c);
  } else {
    auto it = ctx.regs.find(lr);
    if (it == ctx.regs.end())
      return op->emitError("learning rate is neither constant nor computed "
                           "on the scalar core");
    dynamicLr = true;
    isa::Phase saved = ib.getPhase();
    ib.setPhase(isa::Phase::Control);
    ib.sst(isa::SMemFunct::DramF32, it->second,
           int64_t(hpAddr) + 4 * isa::kHpLearningRate);
    ib.setPhase(saved);
  }
  (void)dynamicLr;
  if (step) {
    // Adam's bias corrections 1 / (1 - beta^t) with t = step + 1.
    auto it = ctx.regs.find(step);
    if (it == ctx.regs.end())
      return op->emitError("the step counter is not on the scalar core");
    isa::Phase saved = ib.getPhase();
    ib.setPhase(isa::Phase::Control);
    unsigned t = ctx.scratchRegister(op, 0), one = ctx.scratchRegister(op, 1),
             base = ctx.scratchRegister(op, 2),
             pw = ctx.scratchRegister(op, 3);
    using isa::ScalarFunct;
    ib.sopi(ScalarFunct::Add, t, it->second, 1);
    ib.sopi(ScalarFunct::I2F, t, t, 0);
    ib.sopiF(ScalarFunct::FAdd, one, 0, 1.0);
    for (auto [beta, slot] : {std::pair{beta1, isa::kHpBiasCorrection1},
                              std::pair{beta2, isa::kHpBiasCorrection2}}) {
      ib.sopiF(ScalarFunct::FAdd, base, 0, beta);
      ib.sop(ScalarFunct::FPow, pw, base, t);
      ib.sop(ScalarFunct::FSub, pw, one, pw);
      ib.sop(ScalarFunct::FDiv, pw, one, pw);
      ib.sst(isa::SMemFunct::DramF32, pw, int64_t(hpAddr) + 4 * slot);
    }
    ib.setPhase(saved);
  }
  ctx.addData(DenseElementsAttr::get(
                  RankedTensorType::get({isa::kNumHyperParams},
                                        Float32Type::get(op->getContext())),
                  ArrayRef<float>(hp)),
              hpr);

  if (Operation *expand = u.grad.getDefiningOp();
      expand && fusedExpansion(expand, ctx) == op)
    return emitPredictedUpdate(op, ctx, u, cast<gp::ExpandPredictionOp>(expand),
                               hpAddr, *expansionGeometry(op, expand, ctx));

  int64_t n = numElements(u.param.getType());
  int64_t tiles = u.v ? 4 : 3;
  int64_t hpChip = ctx.spadElems() - 16;
  int64_t chunk = std::min<int64_t>({n, hpChip / (2 * tiles), 65536});
  if (chunk < 1)
    return op->emitError("the scratchpad is too small for an optimizer "
                         "update");
  ib.load(hpAddr, hpChip, DmaBox::contiguous(isa::kNumHyperParams),
          isa::TensorClass::Other);
  unsigned parity = 0;
  for (int64_t e0 = 0; e0 < n; e0 += chunk) {
    int64_t ec = std::min(chunk, n - e0);
    int64_t base = (parity++ % 2) * tiles * chunk;
    int64_t pc = base, gc = base + chunk, mc = base + 2 * chunk,
            vc = base + 3 * chunk;
    DmaBox box = DmaBox::contiguous(ec);
    uint64_t off = 4 * uint64_t(e0);
    emitOptBlock(ctx, u, box, off, ec, OptBuffers{pc, gc, mc, vc, hpChip},
                 /*gradOnChip=*/false);
  }
  return success();
}

LogicalResult lowerSgd(Operation *op, LoweringContext &ctx) {
  auto s = cast<train::SGDUpdateOp>(op);
  UpdateOperands u;
  u.param = s.getParam();
  u.grad = s.getGrad();
  u.m = s.getVelocity();
  u.newParam = s.getNewParam();
  u.newM = s.getNewVelocity();
  // With momentum 0 the velocity is the gradient: `momentum` with mu = 0
  // computes exactly that, so the state stays what the reference keeps.
  u.funct = s.getNesterov() ? isa::OptFunct::Nesterov
                            : isa::OptFunct::Momentum;
  std::array<float, isa::kNumHyperParams> hp{};
  hp[isa::kHpBeta1] = float(s.getMomentum().convertToDouble());
  hp[isa::kHpWeightDecay] = float(s.getWeightDecay().convertToDouble());
  hp[isa::kHpBiasCorrection1] = hp[isa::kHpBiasCorrection2] = 1.0f;
  hp[isa::kHpGradScale] = 1.0f;
  return emitUpdate(op, ctx, u, s.getLr(), hp, {}, 0, 0);
}

LogicalResult lowerAdam(Operation *op, LoweringContext &ctx) {
  auto a = cast<train::AdamUpdateOp>(op);
  UpdateOperands u;
  u.param = a.getParam();
  u.grad = a.getGrad();
  u.m = a.getM();
  u.v = a.getV();
  u.newParam = a.getNewParam();
  u.newM = a.getNewM();
  u.newV = a.getNewV();
  u.funct = a.getDecoupled() ? isa::OptFunct::AdamW : isa::OptFunct::Adam;
  std::array<float, isa::kNumHyperParams> hp{};
  double b1 = a.getBeta1().convertToDouble(), b2 = a.getBeta2().convertToDouble();
  hp[isa::kHpBeta1] = float(b1);
  hp[isa::kHpBeta2] = float(b2);
  hp[isa::kHpEpsilon] = float(a.getEpsilon().convertToDouble());
  hp[isa::kHpWeightDecay] = float(a.getWeightDecay().convertToDouble());
  hp[isa::kHpBiasCorrection1] = hp[isa::kHpBiasCorrection2] = 1.0f;
  hp[isa::kHpGradScale] = 1.0f;
  return emitUpdate(op, ctx, u, a.getLr(), hp, a.getStep(), b1, b2);
}

} // namespace

Operation *expansionUpdate(Operation *expand) {
  if (!llvm::isa_and_nonnull<gp::ExpandPredictionOp>(expand) ||
      !expand->getResult(0).hasOneUse())
    return nullptr;
  Operation *user = *expand->getResult(0).getUsers().begin();
  if (!llvm::isa<train::SGDUpdateOp, train::AdamUpdateOp>(user) ||
      user->getOperand(1) != expand->getResult(0) ||
      user->getOperand(0) == expand->getResult(0))
    return nullptr;
  return user;
}

Operation *fusedExpansion(Operation *expand, LoweringContext &ctx) {
  Operation *update = expansionUpdate(expand);
  if (!update || !expansionGeometry(update, expand, ctx))
    return nullptr;
  return update;
}

void populateOptimizerLowerings(LoweringRegistry &r) {
  r.add(train::SGDUpdateOp::getOperationName(), lowerSgd);
  r.add(train::AdamUpdateOp::getOperationName(), lowerAdam);
}

} // namespace adagp::accel
