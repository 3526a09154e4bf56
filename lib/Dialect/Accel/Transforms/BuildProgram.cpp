//===- BuildProgram.cpp - The training loop around the step subroutines ---===//
//
// The host protocol (adagp/ISA/ProgramInfo.h, docs/accel-compiler.md):
//
//   epoch:    recv control -> 0: finish
//   train:    recv training batch -> 0 samples: evaluate
//             (adagp) recv the step kind from the schedule stream
//             send step-begin; call the step; send step-end; send loss
//   evaluate: recv evaluation batch -> 0 samples: send epoch-end, next epoch
//             send step-begin; call eval_step; send step-end; send logits
//
// Subroutines follow the loop, each after a label of its name and ending
// with a return through r31. The DRAM plan's named tensors become the
// symbol table and their initial values data segments; what remains of the
// tensor program is removed.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "adagp/Dialect/Accel/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"

namespace adagp::accel {
#define GEN_PASS_DEF_ACCELBUILDPROGRAM
#include "adagp/Dialect/Accel/Passes.h.inc"
} // namespace adagp::accel

using namespace mlir;

namespace adagp::accel {
namespace {

using namespace isa::protocol;

/// Whether an initial value is all zeros (DRAM starts zeroed, so it needs
/// no data segment).
bool isZero(Attribute value) {
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense || !dense.isSplat())
    return false;
  if (llvm::isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().isZero();
  return dense.getSplatValue<APInt>().isZero();
}

struct AccelBuildProgramPass
    : public impl::AccelBuildProgramBase<AccelBuildProgramPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    ProgramOp bp, bpPlain, gpStep, eval;
    for (auto p : module.getOps<ProgramOp>()) {
      auto kind = p->getAttrOfType<StringAttr>("accel.step");
      if (!kind)
        continue;
      if (kind.getValue() == "bp")
        bp = p;
      else if (kind.getValue() == "bp_plain")
        bpPlain = p;
      else if (kind.getValue() == "gp")
        gpStep = p;
      else if (kind.getValue() == "eval")
        eval = p;
    }
    if (mode != "bp" && mode != "gp" && mode != "adagp") {
      module.emitError("unknown mode '") << mode << "' (bp, gp or adagp)";
      return signalPassFailure();
    }
    if (mode != "bp" && !gpStep) {
      module.emitError("mode '")
          << mode << "' needs the ADA-GP step (@gp_step, from "
          << "--adagp-insert-predictors, lowered by --accel-lower-steps)";
      return signalPassFailure();
    }
    if (!bp && mode != "gp") {
      module.emitError("no lowered @bp_step (run --accel-lower-steps)");
      return signalPassFailure();
    }
    // ADA-GP's BP step without the predictor (predictor-every > 1): only
    // the adagp loop runs it, for the host's kStepBPPlain.
    if (mode != "adagp")
      bpPlain = {};
    // The step whose signature gives the host buffers (GP steps share
    // them).
    ProgramOp first = bp ? bp : gpStep;
    for (ProgramOp other : {gpStep, bpPlain}) {
      if (!other || other == first ||
          other->getAttr("accel.inputs") == first->getAttr("accel.inputs"))
        continue;
      other.emitError("@")
          << other.getSymName() << " does not share @" << first.getSymName()
          << "'s input and label buffers (run --accel-plan-dram on both)";
      return signalPassFailure();
    }

    // The host buffers, from the step subroutines' signatures.
    auto inputs = first->getAttrOfType<ArrayAttr>("accel.inputs");
    auto inputTypes = first->getAttrOfType<ArrayAttr>("accel.input_types");
    auto inputNames = first->getAttrOfType<ArrayAttr>("accel.input_names");
    RegionAttr input, labels;
    Type inputType, labelsType;
    for (auto [r, t, n] : llvm::zip(inputs, inputTypes, inputNames)) {
      if (cast<StringAttr>(n).getValue() == "labels") {
        labels = cast<RegionAttr>(r);
        labelsType = cast<TypeAttr>(t).getValue();
      } else if (!input) {
        input = cast<RegionAttr>(r);
        inputType = cast<TypeAttr>(t).getValue();
      }
    }
    if (!input || !labels) {
      first.emitError("the training step must take the input batch and the "
                      "labels");
      return signalPassFailure();
    }
    // Each training step leaves its loss in its own region (the first
    // result, planned with the step's other tensors); the symbol table's
    // "loss" is the first step's.
    auto lossOf = [](ProgramOp step) -> RegionAttr {
      auto results = step->getAttrOfType<ArrayAttr>("accel.results");
      return results.empty() ? RegionAttr() : dyn_cast<RegionAttr>(results[0]);
    };
    RegionAttr lossRegion = lossOf(first);
    RegionAttr logits;
    Type logitsType;
    if (eval) {
      auto results = eval->getAttrOfType<ArrayAttr>("accel.results");
      logits = results.empty() ? RegionAttr() : dyn_cast<RegionAttr>(results[0]);
      logitsType = cast<TypeAttr>(
                       eval->getAttrOfType<ArrayAttr>("accel.result_types")[0])
                       .getValue();
    }

    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto main = ProgramOp::create(b, module.getLoc(), "main", "main");
    OpBuilder pb(ctx);
    pb.setInsertionPointToEnd(&main.getBlock());
    InstBuilder ib(pb, module.getLoc());
    auto label = [&](StringRef name) {
      LabelOp::create(pb, module.getLoc(), name);
    };
    using isa::Opcode;
    auto recv = [&](unsigned rd, unsigned stream, RegionAttr in,
                    RegionAttr lab) {
      isa::Instruction r = isa::makeInstruction(Opcode::Recv);
      r.set(isa::recv::Rd, rd).set(isa::recv::Stream, stream);
      if (in)
        r.set(isa::recv::In, int64_t(in.getOffset()))
            .set(isa::recv::InBytes, int64_t(in.getBytes()));
      if (lab)
        r.set(isa::recv::Labels, int64_t(lab.getOffset()))
            .set(isa::recv::LabelBytes, int64_t(lab.getBytes()));
      ib.emit(r);
    };
    auto branchIfZero = [&](unsigned rs, StringRef target) {
      isa::Instruction br = isa::makeInstruction(
          Opcode::Branch, uint8_t(isa::BranchFunct::Eq));
      br.set(isa::branch::Rs1, rs);
      ib.emit(br, target);
    };
    auto jump = [&](isa::JumpFunct f, StringRef target, unsigned rd = 0) {
      isa::Instruction j = isa::makeInstruction(Opcode::Jump, uint8_t(f));
      j.set(isa::jump::Rd, rd);
      ib.emit(j, target);
    };
    auto sendReg = [&](unsigned tag, unsigned rs) {
      isa::Instruction s = isa::makeInstruction(
          Opcode::Send, uint8_t(isa::SendFunct::I64));
      s.set(isa::send::Tag, tag).set(isa::send::Rs, rs);
      ib.emit(s);
    };
    auto sendDram = [&](unsigned tag, RegionAttr r, int64_t count) {
      isa::Instruction s = isa::makeInstruction(
          Opcode::Send, uint8_t(isa::SendFunct::DramF32));
      s.set(isa::send::Tag, tag)
          .set(isa::send::Addr, int64_t(r.getOffset()))
          .set(isa::send::Count, count);
      ib.emit(s);
    };
    constexpr unsigned rControl = 1, rSamples = 2, rKind = 3, rTmp = 30,
                       rLink = 31;

    label("epoch");
    ib.setPhase(isa::Phase::IO);
    recv(rControl, kControlStream, {}, {});
    ib.setPhase(isa::Phase::Control);
    branchIfZero(rControl, "done");
    label("train");
    ib.setPhase(isa::Phase::IO);
    recv(rSamples, kTrainStream, input, labels);
    ib.setPhase(isa::Phase::Control);
    branchIfZero(rSamples, eval ? "evaluate" : "epoch_end");
    // The step: BP, GP, or (adagp) what the host's schedule says.
    auto callStep = [&](ProgramOp step) {
      ib.setPhase(isa::Phase::IO);
      sendReg(kTagStepBegin, rKind);
      ib.setPhase(isa::Phase::Control);
      jump(isa::JumpFunct::Jal, step.getSymName(), rLink);
      ib.setPhase(isa::Phase::IO);
      sendReg(kTagStepEnd, rKind);
    };
    // The loss, sent once after the branches when every step leaves it in
    // the same place, else by each branch.
    SmallVector<ProgramOp> trainSteps;
    if (mode == "adagp")
      trainSteps = {bp, gpStep};
    else
      trainSteps = {mode == "gp" ? gpStep : bp};
    if (bpPlain)
      trainSteps.push_back(bpPlain);
    bool sharedLoss = llvm::all_of(
        trainSteps, [&](ProgramOp step) { return lossOf(step) == lossRegion; });
    auto sendLoss = [&](ProgramOp step) {
      if (RegionAttr loss = lossOf(step))
        sendDram(kTagLoss, loss, 1);
    };
    if (mode == "adagp") {
      // kStepGP: @gp_step; kStepBPPlain (when there is a plain BP step):
      // @bp_plain_step; any other kind: @bp_step.
      ib.setPhase(isa::Phase::IO);
      recv(rKind, kScheduleStream, {}, {});
      ib.setPhase(isa::Phase::Control);
      ib.sopi(isa::ScalarFunct::Add, rTmp, rKind, -kStepGP);
      branchIfZero(rTmp, "gp");
      if (bpPlain) {
        ib.sopi(isa::ScalarFunct::Add, rTmp, rKind, -kStepBPPlain);
        branchIfZero(rTmp, "bp_plain");
      }
      auto branch = [&](ProgramOp step, StringRef name, bool last) {
        if (!name.empty())
          label(name);
        callStep(step);
        if (!sharedLoss)
          sendLoss(step);
        if (!last) {
          ib.setPhase(isa::Phase::Control);
          jump(isa::JumpFunct::J, "stepped");
        }
      };
      branch(bp, "", false);
      if (bpPlain)
        branch(bpPlain, "bp_plain", false);
      branch(gpStep, "gp", true);
      label("stepped");
    } else {
      ib.sopi(isa::ScalarFunct::Add, rKind, 0,
              mode == "gp" ? kStepGP : kStepBP);
      callStep(trainSteps.front());
      if (!sharedLoss)
        sendLoss(trainSteps.front());
    }
    if (lossRegion && sharedLoss)
      sendDram(kTagLoss, lossRegion, 1);
    ib.setPhase(isa::Phase::Control);
    jump(isa::JumpFunct::J, "train");
    if (eval) {
      label("evaluate");
      ib.setPhase(isa::Phase::IO);
      recv(rSamples, kEvalStream, input, {});
      ib.setPhase(isa::Phase::Control);
      branchIfZero(rSamples, "epoch_end");
      ib.sopi(isa::ScalarFunct::Add, rKind, 0, kStepEval);
      ib.setPhase(isa::Phase::IO);
      sendReg(kTagStepBegin, rKind);
      ib.setPhase(isa::Phase::Control);
      jump(isa::JumpFunct::Jal, eval.getSymName(), rLink);
      ib.setPhase(isa::Phase::IO);
      sendReg(kTagStepEnd, rKind);
      if (logits)
        sendDram(kTagLogits, logits,
                 cast<RankedTensorType>(logitsType).getNumElements());
      ib.setPhase(isa::Phase::Control);
      jump(isa::JumpFunct::J, "evaluate");
    }
    label("epoch_end");
    ib.setPhase(isa::Phase::IO);
    sendReg(kTagEpochEnd, 0);
    ib.setPhase(isa::Phase::Control);
    jump(isa::JumpFunct::J, "epoch");
    label("done");
    ib.emit(isa::makeInstruction(Opcode::Finish));

    // The subroutines.
    for (ProgramOp sub : {bp, bpPlain, gpStep, eval}) {
      if (!sub || (sub == gpStep && mode == "bp") ||
          (sub == bp && mode == "gp"))
        continue;
      label(sub.getSymName());
      Block &body = sub.getBlock();
      main.getBlock().getOperations().splice(main.getBlock().end(),
                                             body.getOperations());
      pb.setInsertionPointToEnd(&main.getBlock());
      ib.setPhase(isa::Phase::Control);
      isa::Instruction ret = isa::makeInstruction(
          Opcode::Jump, uint8_t(isa::JumpFunct::Jr));
      ret.set(isa::jump::Rs1, rLink);
      ib.emit(ret);
    }

    // The symbol table and the initial DRAM contents.
    b.setInsertionPoint(main);
    for (auto global :
         llvm::make_early_inc_range(module.getOps<ml_program::GlobalOp>())) {
      auto region =
          global->getAttrOfType<RegionAttr>(AccelDialect::kDramAttrName);
      if (region) {
        auto role = global->getAttrOfType<StringAttr>("accel.role");
        SymbolOp::create(b, global.getLoc(), global.getSymName(),
                         role ? role.getValue() : "state", global.getType(),
                         region);
        if (auto value = global.getValue())
          if (!isZero(*value))
            DataOp::create(b, global.getLoc(), cast<ElementsAttr>(*value),
                           region);
      }
    }
    SymbolOp::create(b, module.getLoc(), "input", "input", inputType, input);
    SymbolOp::create(b, module.getLoc(), "labels", "labels", labelsType,
                     labels);
    if (lossRegion)
      SymbolOp::create(b, module.getLoc(), "loss", "loss",
                       RankedTensorType::get({}, Float32Type::get(ctx)),
                       lossRegion);
    if (logits)
      SymbolOp::create(b, module.getLoc(), "logits", "logits", logitsType,
                       logits);
    auto inShape = cast<RankedTensorType>(inputType);
    module->setAttr("accel.batch_size",
                    b.getI64IntegerAttr(inShape.getDimSize(0)));
    if (logitsType)
      module->setAttr("accel.classes",
                      b.getI64IntegerAttr(
                          cast<RankedTensorType>(logitsType).getDimSize(1)));
    module->setAttr("accel.mode", b.getStringAttr(mode));
    // Which BP steps the host runs as plain ones (ProgramInfo): every
    // predictor_every-th trains the predictor (--accel-lower-steps copies
    // the attribute from @train; 1 without it).
    if (bpPlain) {
      module->setAttr("accel.bp_plain_step", b.getUnitAttr());
      if (!module->hasAttr("accel.predictor_every"))
        module->setAttr("accel.predictor_every", b.getI64IntegerAttr(1));
    } else {
      module->removeAttr("accel.bp_plain_step");
      module->removeAttr("accel.predictor_every");
    }

    // Nothing of the tensor program remains.
    for (Operation &op : llvm::make_early_inc_range(*module.getBody()))
      if (!llvm::isa<ProgramOp, SymbolOp, DataOp>(op) ||
          (llvm::isa<ProgramOp>(op) && &op != main.getOperation()))
        op.erase();
  }
};

} // namespace
} // namespace adagp::accel
