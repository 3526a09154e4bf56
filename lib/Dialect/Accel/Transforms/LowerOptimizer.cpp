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
//===----------------------------------------------------------------------===//

#include "Lowering.h"

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
    ib.load(ctx.addr(u.param) + off, pc, box, ctx.cls(u.param));
    ib.load(ctx.addr(u.grad) + off, gc, box, ctx.cls(u.grad));
    ib.load(ctx.addr(u.m) + off, mc, box, ctx.cls(u.m));
    if (u.v)
      ib.load(ctx.addr(u.v) + off, vc, box, ctx.cls(u.v));
    isa::Instruction o =
        isa::makeInstruction(isa::Opcode::Opt, uint8_t(u.funct));
    o.set(isa::opt::N, ec)
        .set(isa::opt::Param, pc)
        .set(isa::opt::Grad, gc)
        .set(isa::opt::M, mc)
        .set(isa::opt::V, u.v ? vc : 0)
        .set(isa::opt::Hp, hpChip);
    ib.emit(o);
    ib.store(ctx.addr(u.newParam) + off, pc, box, ctx.cls(u.newParam));
    ib.store(ctx.addr(u.newM) + off, mc, box, ctx.cls(u.newM));
    if (u.v)
      ib.store(ctx.addr(u.newV) + off, vc, box, ctx.cls(u.newV));
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

void populateOptimizerLowerings(LoweringRegistry &r) {
  r.add(train::SGDUpdateOp::getOperationName(), lowerSgd);
  r.add(train::AdamUpdateOp::getOperationName(), lowerAdam);
}

} // namespace adagp::accel
