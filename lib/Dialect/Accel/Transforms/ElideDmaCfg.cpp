//===- ElideDmaCfg.cpp - Drop DMA descriptor writes that change nothing ---===//
//
// DMACFG registers persist until rewritten (docs/isa.md section 3), and the
// lowering writes all of them before every DMA so that each DMA stands on
// its own. Along straight-line code the registers' contents are known; a
// write of what is already there is removed. Labels and calls forget
// everything (another path, or the callee, may have changed them).
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "adagp/Dialect/Accel/Passes.h"

#include <array>

namespace adagp::accel {
#define GEN_PASS_DEF_ACCELELIDEDMACFG
#include "adagp/Dialect/Accel/Passes.h.inc"
} // namespace adagp::accel

using namespace mlir;

namespace adagp::accel {
namespace {

struct AccelElideDmaCfgPass
    : public impl::AccelElideDmaCfgBase<AccelElideDmaCfgPass> {
  void runOnOperation() override {
    ProgramOp program = getOperation();
    // Per function code (load.d12, load.d34, store.d12, store.d34): the
    // fields last written, or nothing when unknown.
    using Fields = std::array<int64_t, 10>;
    std::optional<Fields> state[4];
    auto forget = [&]() {
      for (auto &s : state)
        s.reset();
    };
    for (Operation &op : llvm::make_early_inc_range(program.getBlock())) {
      if (llvm::isa<LabelOp>(op)) {
        forget();
        continue;
      }
      std::optional<isa::Opcode> opcode = getOpcode(&op);
      if (!opcode)
        continue;
      if (*opcode == isa::Opcode::Jump) {
        forget();
        continue;
      }
      if (*opcode != isa::Opcode::DmaCfg)
        continue;
      isa::Instruction inst = toInstruction(&op);
      Fields fields;
      for (unsigned i = 0; i < fields.size(); ++i)
        fields[i] = inst.field[i];
      std::optional<Fields> &s = state[inst.funct];
      if (s && *s == fields && inst.deps == 0) {
        op.erase();
        continue;
      }
      s = fields;
    }
  }
};

} // namespace
} // namespace adagp::accel
