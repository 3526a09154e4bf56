//===- LowerScalar.cpp - The step counter and schedules on the scalar core ===//
//
// 0-d integer tensors (the step counter) and the learning rate a schedule
// computes from it live in scalar registers: loads and stores of their
// globals become `sld`/`sst`, arithmetic `sop`/`sopi`, and the schedule its
// formula in double precision. Everything else in a step is tensors in
// DRAM.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/Train/TrainDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace adagp::accel {
using isa::ScalarFunct;
namespace {

bool isScalarTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && rt.getRank() == 0;
}

bool isIntegerScalar(Type t) {
  return isScalarTensor(t) &&
         cast<RankedTensorType>(t).getElementType().isInteger(64);
}

RegionAttr globalRegion(Operation *op, SymbolRefAttr sym) {
  auto global = SymbolTable::lookupNearestSymbolFrom(op, sym);
  return global ? global->getAttrOfType<RegionAttr>(
                      AccelDialect::kDramAttrName)
                : RegionAttr();
}

LogicalResult lowerGlobalLoad(Operation *op, LoweringContext &ctx) {
  auto load = cast<ml_program::GlobalLoadOp>(op);
  // Tensors are read where they are used, from the global's region.
  if (!isIntegerScalar(load.getType()))
    return success();
  RegionAttr r = globalRegion(op, load.getGlobalAttr());
  if (!r)
    return op->emitError("global has no DRAM region");
  unsigned reg = ctx.allocRegister(op);
  ctx.ib.sld(isa::SMemFunct::DramI64, reg, int64_t(r.getOffset()));
  ctx.regs[load.getResult()] = reg;
  return success();
}

LogicalResult lowerExtract(Operation *op, LoweringContext &ctx) {
  auto ex = cast<tensor::ExtractOp>(op);
  auto it = ctx.regs.find(ex.getTensor());
  if (it != ctx.regs.end())
    ctx.regs[ex.getResult()] = it->second;
  // An extract nothing on the scalar core reads (the dropout key of a model
  // without dropout) needs no code.
  return success();
}

/// The register of a scalar operand, materialising constants.
FailureOr<unsigned> operandRegister(Operation *op, LoweringContext &ctx,
                                    Value v) {
  auto it = ctx.regs.find(v);
  if (it != ctx.regs.end())
    return it->second;
  DenseElementsAttr dense;
  if (matchPattern(v, m_Constant(&dense)) && dense.isSplat() &&
      dense.getElementType().isInteger(64)) {
    unsigned reg = ctx.allocRegister(op);
    ctx.ib.sopi(ScalarFunct::Add, reg, 0,
                dense.getSplatValue<APInt>().getSExtValue());
    ctx.regs[v] = reg;
    return reg;
  }
  return op->emitError("operand is not a scalar the accelerator computes");
}

template <ScalarFunct F>
LogicalResult lowerIntBinary(Operation *op, LoweringContext &ctx) {
  if (!isIntegerScalar(op->getResult(0).getType()))
    return op->emitError("only scalar (0-d) integer arithmetic runs on the "
                         "scalar core");
  FailureOr<unsigned> a = operandRegister(op, ctx, op->getOperand(0));
  FailureOr<unsigned> b = operandRegister(op, ctx, op->getOperand(1));
  if (failed(a) || failed(b))
    return failure();
  unsigned rd = ctx.allocRegister(op);
  ctx.ib.sop(F, rd, *a, *b);
  ctx.regs[op->getResult(0)] = rd;
  return success();
}

LogicalResult lowerGlobalStore(Operation *op, LoweringContext &ctx) {
  auto store = cast<ml_program::GlobalStoreOp>(op);
  Value v = store.getValue();
  RegionAttr dst = globalRegion(op, store.getGlobalAttr());
  if (!dst)
    return op->emitError("global has no DRAM region");
  auto it = ctx.regs.find(v);
  if (it != ctx.regs.end()) {
    ctx.ib.sst(isIntegerScalar(v.getType()) ? isa::SMemFunct::DramI64
                                            : isa::SMemFunct::DramF32,
               it->second, int64_t(dst.getOffset()));
    return success();
  }
  RegionAttr src = ctx.region(v);
  if (!src)
    return failure();
  if (src.getOffset() == dst.getOffset())
    return success(); // updated in place
  // The plan could not update in place: copy through the scratchpad.
  int64_t n = numElements(v.getType());
  int64_t chunk = std::min<int64_t>({n, ctx.spadElems() / 2, 65536});
  unsigned parity = 0;
  for (int64_t e0 = 0; e0 < n; e0 += chunk) {
    int64_t ec = std::min(chunk, n - e0);
    int64_t chip = (parity++ % 2) * chunk;
    ctx.ib.load(src.getOffset() + 4 * uint64_t(e0), chip,
                DmaBox::contiguous(ec), ctx.cls(v));
    isa::TensorClass cls;
    isa::parseTensorClass(dst.getCls().str(), cls);
    ctx.ib.store(dst.getOffset() + 4 * uint64_t(e0), chip,
                 DmaBox::contiguous(ec), cls);
  }
  return success();
}

LogicalResult lowerLRSchedule(Operation *op, LoweringContext &ctx) {
  auto s = cast<train::LRScheduleOp>(op);
  double base = s.getBaseLr().convertToDouble();
  if (s.getKind() == "constant")
    return success(); // consumers use the constant
  auto stepIt = ctx.regs.find(s.getStep());
  if (stepIt == ctx.regs.end())
    return op->emitError("the step counter is not on the scalar core");
  InstBuilder &ib = ctx.ib;
  unsigned lr = ctx.allocRegister(op), tmp = ctx.allocRegister(op);
  if (s.getKind() == "step") {
    // base * gamma ^ floor(step / step_size)
    ib.sopi(ScalarFunct::Div, tmp, stepIt->second, s.getStepSize());
    ib.sopi(ScalarFunct::I2F, tmp, tmp, 0);
    ib.sopiF(ScalarFunct::FAdd, lr, 0, s.getGamma().convertToDouble());
    ib.sop(ScalarFunct::FPow, lr, lr, tmp);
    ib.sopiF(ScalarFunct::FMul, lr, lr, base);
  } else {
    return op->emitError("learning-rate schedule '")
           << s.getKind()
           << "' has no accelerator lowering (constant and step do)";
  }
  ctx.regs[s.getResult()] = lr;
  return success();
}

/// An integer scalar (a step counter) as a 0-d f32 tensor in DRAM for the
/// vector unit: `i2f` on the scalar core, then a narrowing `sst`.
LogicalResult lowerSIToFP(Operation *op, LoweringContext &ctx) {
  auto cvt = cast<arith::SIToFPOp>(op);
  auto it = ctx.regs.find(cvt.getIn());
  if (it == ctx.regs.end())
    return op->emitError("operand is not a scalar the accelerator computes");
  auto type = dyn_cast<RankedTensorType>(cvt.getType());
  if (!type || type.getRank() != 0 || !type.getElementType().isF32())
    return op->emitError("only 0-d f32 conversions run on the scalar core");
  RegionAttr r = ctx.region(cvt.getResult());
  if (!r)
    return failure();
  unsigned reg = ctx.scratchRegister(op, 0);
  ctx.ib.sopi(ScalarFunct::I2F, reg, it->second, 0);
  ctx.ib.sst(isa::SMemFunct::DramF32, reg, int64_t(r.getOffset()));
  return success();
}

} // namespace

void populateScalarLowerings(LoweringRegistry &r) {
  r.add(arith::SIToFPOp::getOperationName(), lowerSIToFP);
  r.add(ml_program::GlobalLoadOp::getOperationName(), lowerGlobalLoad);
  r.add(ml_program::GlobalStoreOp::getOperationName(), lowerGlobalStore);
  r.add(tensor::ExtractOp::getOperationName(), lowerExtract);
  r.add(arith::AddIOp::getOperationName(), lowerIntBinary<ScalarFunct::Add>);
  r.add(arith::SubIOp::getOperationName(), lowerIntBinary<ScalarFunct::Sub>);
  r.add(arith::MulIOp::getOperationName(), lowerIntBinary<ScalarFunct::Mul>);
  r.add(train::LRScheduleOp::getOperationName(), lowerLRSchedule);
}

} // namespace adagp::accel
