//===- InsertTokens.cpp - Dependency tokens and fences between queues -----===//
//
// The load, execute and store queues each run in order but concurrently
// with each other (docs/isa.md section 1). For every instruction J, in
// program order, and every other queue p, this pass finds the latest
// instruction I of p whose footprint conflicts with J's (on chip or in
// DRAM; read/write, write/read or write/write) and orders I before J unless
// that is already known:
//
//   * I pushes a token, J pops it: every pair of queues has a token channel
//     each way (the ring load -> execute -> store -> load). Tokens are FIFOs
//     matched in order, so a push may only go on an instruction after the
//     channel's last pusher, which always holds: if the last pusher were at
//     or after I, J would already know I done. (Ordering a load after a
//     store by a `fence` instead would stop fetch until the store queue
//     drained: 44% of SqueezeNet's GP step was such fetch stalls.)
//   * control instructions that touch memory (sld, sst, recv, send) execute
//     at fetch: a fence of every queue with a conflicting access still in
//     flight goes before them.
//
// "Known done" is a vector clock per queue: popping a token from I makes J
// inherit what I knew; a fence makes everything after it know the fenced
// queues drained. Footprints are bounding intervals of every operand.
// Control flow: every basic block ends with the queues drained (a fence
// before labels, branches and jumps when anything is in flight), so no
// token crosses a block boundary.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "adagp/Dialect/Accel/Passes.h"

#include <array>
#include <map>

namespace adagp::accel {
#define GEN_PASS_DEF_ACCELINSERTTOKENS
#include "adagp/Dialect/Accel/Passes.h.inc"
} // namespace adagp::accel

using namespace mlir;

namespace adagp::accel {
namespace {

using isa::Opcode;
using isa::VecFunct;

struct Interval {
  int64_t lo, hi; // [lo, hi)
};

struct Footprint {
  SmallVector<Interval, 4> chipRead, chipWrite, dramRead, dramWrite;
  /// Register-based addressing: the pass cannot tell, so it conflicts with
  /// everything.
  bool unknown = false;
};

/// The latest instruction (index within its queue) that touched each
/// address: disjoint segments, later assignments overwrite.
class LastAccess {
public:
  void assign(Interval iv, int64_t idx) {
    if (iv.hi <= iv.lo)
      return;
    auto it = segs.lower_bound(iv.lo);
    if (it != segs.begin()) {
      auto prev = std::prev(it);
      if (prev->second.hi > iv.lo) {
        // Split the segment that starts before iv.
        Seg tail = prev->second;
        prev->second.hi = iv.lo;
        if (tail.hi > iv.hi)
          segs[iv.hi] = Seg{tail.hi, tail.idx};
        it = segs.lower_bound(iv.lo);
      }
    }
    while (it != segs.end() && it->first < iv.hi) {
      if (it->second.hi > iv.hi) {
        Seg tail = it->second;
        segs.erase(it);
        segs[iv.hi] = Seg{tail.hi, tail.idx};
        break;
      }
      it = segs.erase(it);
    }
    segs[iv.lo] = Seg{iv.hi, idx};
    maxIdx = std::max(maxIdx, idx);
  }
  int64_t query(Interval iv) const {
    if (iv.hi <= iv.lo || segs.empty())
      return -1;
    int64_t best = -1;
    auto it = segs.upper_bound(iv.lo);
    if (it != segs.begin())
      --it;
    for (; it != segs.end() && it->first < iv.hi; ++it)
      if (it->second.hi > iv.lo)
        best = std::max(best, it->second.idx);
    return best;
  }
  /// Any access at all (for instructions of unknown footprint).
  int64_t any() const { return segs.empty() ? -1 : maxIdx; }
  void clear() {
    segs.clear();
    maxIdx = -1;
  }

private:
  struct Seg {
    int64_t hi, idx;
  };
  std::map<int64_t, Seg> segs;
  int64_t maxIdx = -1;
};

/// The DMACFG registers, tracked along straight-line code.
struct DmaRegs {
  BoxDim dim[2][isa::kMaxDmaDims]; // [load/store][dim]
  bool known[2] = {true, true};
};

void spanOf(SmallVectorImpl<Interval> &out, int64_t base, int64_t rows,
            int64_t cols, int64_t rs, int64_t cs) {
  if (rows <= 0 || cols <= 0)
    return;
  int64_t lo = base, hi = base;
  for (auto [n, s] : {std::pair{rows, rs}, std::pair{cols, cs}}) {
    int64_t d = (n - 1) * s;
    if (d < 0)
      lo += d;
    else
      hi += d;
  }
  out.push_back({lo, hi + 1});
}

/// The DRAM bytes a DMA box can touch, or nothing when a dimension has no
/// in-range index.
void dmaDramSpan(SmallVectorImpl<Interval> &out, int64_t dram,
                 const BoxDim (&dims)[isa::kMaxDmaDims]) {
  int64_t lo = 0, hi = 0;
  for (const BoxDim &d : dims) {
    int64_t first = d.start, last = d.start + d.size - 1;
    if (d.extent > 0) {
      first = std::max<int64_t>(first, 0);
      last = std::min<int64_t>(last, d.extent - 1);
    }
    if (last < first)
      return;
    int64_t a = first * d.dstride, b = last * d.dstride;
    lo += std::min(a, b);
    hi += std::max(a, b);
  }
  out.push_back({dram + 4 * lo, dram + 4 * hi + 4});
}

Footprint footprintOf(const isa::Instruction &inst, DmaRegs &regs) {
  Footprint fp;
  const int64_t *f = inst.field;
  switch (inst.opcode) {
  case Opcode::DmaCfg: {
    auto fn = static_cast<isa::DmaCfgFunct>(inst.funct);
    unsigned q =
        fn == isa::DmaCfgFunct::LoadD12 || fn == isa::DmaCfgFunct::LoadD34 ? 0
                                                                           : 1;
    unsigned first =
        fn == isa::DmaCfgFunct::LoadD12 || fn == isa::DmaCfgFunct::StoreD12 ? 1
                                                                            : 3;
    using namespace isa::dmacfg;
    regs.dim[q][first] = {f[SizeA], f[StartA], f[ExtentA], f[DramStrideA],
                          f[ChipStrideA]};
    regs.dim[q][first + 1] = {f[SizeB], f[StartB], f[ExtentB], f[DramStrideB],
                              f[ChipStrideB]};
    return fp;
  }
  case Opcode::Load:
  case Opcode::Store: {
    using namespace isa::dma;
    unsigned q = inst.opcode == Opcode::Load ? 0 : 1;
    if (f[DramReg] || f[ChipReg] || !regs.known[q]) {
      fp.unknown = true;
      return fp;
    }
    BoxDim dims[isa::kMaxDmaDims];
    dims[0] = {f[Size], f[Start], f[Extent], f[DramStride], f[ChipStride]};
    for (unsigned d = 1; d < isa::kMaxDmaDims; ++d)
      dims[d] = regs.dim[q][d];
    int64_t lo = f[ChipAddr], hi = f[ChipAddr];
    for (const BoxDim &d : dims) {
      int64_t span = (d.size - 1) * d.cstride;
      (span < 0 ? lo : hi) += span;
    }
    Interval chip{lo, hi + 1};
    if (inst.opcode == Opcode::Load) {
      fp.chipWrite.push_back(chip);
      dmaDramSpan(fp.dramRead, f[DramAddr], dims);
    } else {
      fp.chipRead.push_back(chip);
      dmaDramSpan(fp.dramWrite, f[DramAddr], dims);
    }
    return fp;
  }
  case Opcode::Gemm: {
    using namespace isa::gemm;
    if (f[AReg] || f[CReg]) {
      fp.unknown = true;
      return fp;
    }
    int64_t m = f[M], k = f[K], n = f[N];
    if (f[TransA])
      spanOf(fp.chipRead, f[A], k, m, f[Lda], 1);
    else
      spanOf(fp.chipRead, f[A], m, k, f[Lda], 1);
    if (!f[KeepWeights]) {
      if (f[TransB])
        spanOf(fp.chipRead, f[B], n, k, f[Ldb], 1);
      else
        spanOf(fp.chipRead, f[B], k, n, f[Ldb], 1);
    }
    SmallVector<Interval, 1> c;
    if (f[TransC])
      spanOf(c, f[C], n, m, f[Ldc], 1);
    else
      spanOf(c, f[C], m, n, f[Ldc], 1);
    fp.chipWrite.append(c);
    if (f[Accumulate])
      fp.chipRead.append(c);
    return fp;
  }
  case Opcode::Vec: {
    using namespace isa::vec;
    auto fn = static_cast<VecFunct>(inst.funct);
    int64_t rows = f[Rows], cols = f[Cols];
    int64_t dRows = isa::isColReduction(fn) ? 1 : rows;
    int64_t dCols = isa::isRowReduction(fn) ? 1 : cols;
    SmallVector<Interval, 1> d;
    spanOf(d, f[D], dRows, dCols, f[DRowStride], f[DColStride]);
    fp.chipWrite.append(d);
    if (isa::vecReadsD(fn))
      fp.chipRead.append(d);
    if (fn != VecFunct::Fill)
      spanOf(fp.chipRead, f[A], rows, cols, f[ARowStride], f[AColStride]);
    if (isa::vecReadsB(fn)) {
      int64_t bRows = fn == VecFunct::Affine ? 2 : rows;
      spanOf(fp.chipRead, f[B], bRows, cols, f[BRowStride], f[BColStride]);
    }
    return fp;
  }
  case Opcode::Pool: {
    using namespace isa::pool;
    auto fn = static_cast<isa::PoolFunct>(inst.funct);
    bool grad = fn >= isa::PoolFunct::MaxBwd;
    int64_t big = f[N] * f[H] * f[W] * f[C];
    int64_t small = f[N] * f[OH] * f[OW] * f[C];
    fp.chipRead.push_back({f[In], f[In] + (grad ? small : big)});
    if (fn == isa::PoolFunct::MaxBwd)
      fp.chipRead.push_back({f[Aux], f[Aux] + big});
    fp.chipWrite.push_back({f[Out], f[Out] + (grad ? big : small)});
    return fp;
  }
  case Opcode::Xent: {
    using namespace isa::xent;
    spanOf(fp.chipRead, f[Logits], f[Batch], f[Classes], f[LogitsRowStride], 1);
    fp.chipRead.push_back({f[Labels], f[Labels] + f[Batch]});
    spanOf(fp.chipWrite, f[Grad], f[Batch], f[Classes], f[GradRowStride], 1);
    fp.chipWrite.push_back({f[Loss], f[Loss] + 2});
    return fp;
  }
  case Opcode::Opt: {
    using namespace isa::opt;
    auto fn = static_cast<isa::OptFunct>(inst.funct);
    int64_t n = f[N];
    fp.chipRead.push_back({f[Param], f[Param] + n});
    fp.chipWrite.push_back({f[Param], f[Param] + n});
    fp.chipRead.push_back({f[Grad], f[Grad] + n});
    fp.chipRead.push_back({f[Hp], f[Hp] + isa::kNumHyperParams});
    if (fn != isa::OptFunct::Sgd) {
      fp.chipRead.push_back({f[M], f[M] + n});
      fp.chipWrite.push_back({f[M], f[M] + n});
    }
    if (fn == isa::OptFunct::Adam || fn == isa::OptFunct::AdamW) {
      fp.chipRead.push_back({f[V], f[V] + n});
      fp.chipWrite.push_back({f[V], f[V] + n});
    }
    return fp;
  }
  case Opcode::Sld:
  case Opcode::Sst: {
    using namespace isa::smem;
    if (f[Base]) {
      fp.unknown = true;
      return fp;
    }
    auto fn = static_cast<isa::SMemFunct>(inst.funct);
    bool chip = fn == isa::SMemFunct::ChipI32 || fn == isa::SMemFunct::ChipF32;
    int64_t bytes =
        fn == isa::SMemFunct::DramI64 || fn == isa::SMemFunct::DramF64 ? 8 : 4;
    Interval iv = chip ? Interval{f[Addr], f[Addr] + 1}
                       : Interval{f[Addr], f[Addr] + bytes};
    bool load = inst.opcode == Opcode::Sld;
    (chip ? (load ? fp.chipRead : fp.chipWrite)
          : (load ? fp.dramRead : fp.dramWrite))
        .push_back(iv);
    return fp;
  }
  case Opcode::Recv: {
    using namespace isa::recv;
    if (f[InReg] || f[LabelReg]) {
      fp.unknown = true;
      return fp;
    }
    fp.dramWrite.push_back({f[In], f[In] + f[InBytes]});
    fp.dramWrite.push_back({f[Labels], f[Labels] + f[LabelBytes]});
    return fp;
  }
  case Opcode::Send: {
    using namespace isa::send;
    if (static_cast<isa::SendFunct>(inst.funct) != isa::SendFunct::DramF32)
      return fp;
    if (f[Base]) {
      fp.unknown = true;
      return fp;
    }
    fp.dramRead.push_back({f[Addr], f[Addr] + 4 * f[Count]});
    return fp;
  }
  default:
    return fp;
  }
}

unsigned queueOf(Opcode op) { return unsigned(isa::opcodeInfo(op).queue); }

constexpr unsigned kControl = 3;

using Clock = std::array<int64_t, 3>;

Clock maxClock(const Clock &a, const Clock &b) {
  return {std::max(a[0], b[0]), std::max(a[1], b[1]), std::max(a[2], b[2])};
}

/// The token flags that order `from` before `to`: "next" is the following
/// queue on the ring load -> execute -> store -> load.
bool isNext(unsigned from, unsigned to) { return to == (from + 1) % 3; }
uint8_t pushFlag(unsigned from, unsigned to) {
  return isNext(from, to) ? isa::kPushNext : isa::kPushPrev;
}
uint8_t popFlag(unsigned from, unsigned to) {
  return isNext(from, to) ? isa::kPopPrev : isa::kPopNext;
}

class TokenInserter {
public:
  explicit TokenInserter(ProgramOp program) : program(program) {}

  void run() {
    reset();
    for (Operation &op : llvm::make_early_inc_range(program.getBlock())) {
      if (llvm::isa<LabelOp>(op)) {
        drain(&op);
        reset();
        continue;
      }
      std::optional<Opcode> opcode = getOpcode(&op);
      if (!opcode)
        continue;
      if (*opcode == Opcode::Branch || *opcode == Opcode::Jump) {
        drain(&op);
        // After a call the callee has run: start over.
        reset();
        continue;
      }
      if (*opcode == Opcode::Fence) {
        isa::Instruction f = toInstruction(&op);
        bool all = !f.field[isa::fence::WaitLoad] &&
                   !f.field[isa::fence::WaitExecute] &&
                   !f.field[isa::fence::WaitStore];
        for (unsigned q = 0; q < 3; ++q)
          if (all || f.field[q])
            fenced(q);
        continue;
      }
      isa::Instruction inst = toInstruction(&op);
      Footprint fp = footprintOf(inst, dmaRegs);
      unsigned q = queueOf(*opcode);
      if (q == kControl)
        handleControl(&op, fp);
      else
        handleQueued(&op, q, fp);
    }
  }

private:
  struct Queued {
    Operation *op;
    Clock clock; // what was known done when it started
  };

  void reset() {
    for (unsigned q = 0; q < 3; ++q) {
      seq[q].clear();
      for (auto *m : {&chipRead[q], &chipWrite[q], &dramRead[q], &dramWrite[q]})
        m->clear();
      next[q] = {-1, -1, -1};
      ctrlKnown[q] = -1;
    }
    for (int64_t &p : lastPusher)
      p = -1;
  }

  /// The latest instruction of queue p conflicting with `fp`, or -1.
  int64_t latestConflict(unsigned p, const Footprint &fp) {
    if (fp.unknown)
      return std::max({chipRead[p].any(), chipWrite[p].any(), dramRead[p].any(),
                       dramWrite[p].any()});
    int64_t best = -1;
    for (const Interval &iv : fp.chipRead)
      best = std::max(best, chipWrite[p].query(iv));
    for (const Interval &iv : fp.chipWrite)
      best = std::max({best, chipWrite[p].query(iv), chipRead[p].query(iv)});
    for (const Interval &iv : fp.dramRead)
      best = std::max(best, dramWrite[p].query(iv));
    for (const Interval &iv : fp.dramWrite)
      best = std::max({best, dramWrite[p].query(iv), dramRead[p].query(iv)});
    return best;
  }

  void setDeps(Operation *op, uint8_t add) {
    isa::Instruction inst = toInstruction(op);
    uint8_t deps = inst.deps | add;
    op->setAttr("deps",
                IntegerAttr::get(IntegerType::get(op->getContext(), 64), deps));
  }

  /// A fence before `at` of the queues in `mask`.
  void insertFence(Operation *at, unsigned mask) {
    OpBuilder b(at);
    isa::Instruction f =
        isa::makeInstruction(Opcode::Fence, 0, isa::Phase::Control);
    bool all = mask == 7;
    for (unsigned q = 0; q < 3; ++q)
      f.set(q, !all && (mask >> q) & 1);
    createInstruction(b, at->getLoc(), f);
    for (unsigned q = 0; q < 3; ++q)
      if ((mask >> q) & 1)
        fenced(q);
  }

  /// Queue q has drained: every later instruction knows it.
  void fenced(unsigned q) {
    if (seq[q].empty())
      return;
    int64_t last = int64_t(seq[q].size()) - 1;
    Clock known = seq[q].back().clock;
    known[q] = last;
    for (unsigned x = 0; x < 3; ++x) {
      ctrlKnown[x] = std::max(ctrlKnown[x], known[x]);
      next[x] = maxClock(next[x], known);
    }
  }

  /// Fences whatever is still in flight before a block boundary.
  void drain(Operation *at) {
    unsigned mask = 0;
    for (unsigned q = 0; q < 3; ++q)
      if (!seq[q].empty() && ctrlKnown[q] < int64_t(seq[q].size()) - 1)
        mask |= 1u << q;
    if (mask)
      insertFence(at, 7);
  }

  void handleControl(Operation *op, const Footprint &fp) {
    bool touchesMemory = fp.unknown || !fp.chipRead.empty() ||
                         !fp.chipWrite.empty() || !fp.dramRead.empty() ||
                         !fp.dramWrite.empty();
    if (!touchesMemory)
      return;
    unsigned mask = 0;
    int64_t conflict[3];
    for (unsigned p = 0; p < 3; ++p) {
      conflict[p] = latestConflict(p, fp);
      if (conflict[p] > ctrlKnown[p])
        mask |= 1u << p;
    }
    // A queue whose conflicting instruction another fenced queue already
    // waited for (through a token) needs no fence of its own.
    for (unsigned p = 0; p < 3; ++p) {
      if (!((mask >> p) & 1))
        continue;
      for (unsigned x = 0; x < 3; ++x)
        if (x != p && ((mask >> x) & 1) && !seq[x].empty() &&
            seq[x].back().clock[p] >= conflict[p]) {
          mask &= ~(1u << p);
          break;
        }
    }
    if (mask)
      insertFence(op, mask);
  }

  void handleQueued(Operation *op, unsigned q, const Footprint &fp) {
    Clock clock =
        maxClock(next[q], Clock{ctrlKnown[0], ctrlKnown[1], ctrlKnown[2]});
    uint8_t deps = 0;
    for (unsigned p = 0; p < 3; ++p) {
      if (p == q)
        continue;
      int64_t i = latestConflict(p, fp);
      if (i < 0 || i <= clock[p])
        continue;
      unsigned ch = channel(p, q);
      // The FIFO rule: pushes go in program order on a channel.
      assert(lastPusher[ch] < i && "token would reorder the FIFO");
      setDeps(seq[p][i].op, pushFlag(p, q));
      deps |= popFlag(p, q);
      lastPusher[ch] = i;
      clock = maxClock(clock, seq[p][i].clock);
      clock[p] = std::max(clock[p], i);
    }
    if (deps)
      setDeps(op, deps);
    int64_t idx = int64_t(seq[q].size());
    seq[q].push_back({op, clock});
    Clock after = clock;
    after[q] = idx;
    next[q] = after;
    if (fp.unknown) {
      Interval all{INT64_MIN / 4, INT64_MAX / 4};
      chipRead[q].assign(all, idx);
      chipWrite[q].assign(all, idx);
      dramRead[q].assign(all, idx);
      dramWrite[q].assign(all, idx);
      return;
    }
    for (const Interval &iv : fp.chipRead)
      chipRead[q].assign(iv, idx);
    for (const Interval &iv : fp.chipWrite)
      chipWrite[q].assign(iv, idx);
    for (const Interval &iv : fp.dramRead)
      dramRead[q].assign(iv, idx);
    for (const Interval &iv : fp.dramWrite)
      dramWrite[q].assign(iv, idx);
  }

  /// One channel per ordered pair of queues.
  static unsigned channel(unsigned from, unsigned to) {
    return from * 2 + (isNext(from, to) ? 0 : 1);
  }

  ProgramOp program;
  DmaRegs dmaRegs;
  std::vector<Queued> seq[3];
  LastAccess chipRead[3], chipWrite[3], dramRead[3], dramWrite[3];
  Clock next[3];
  int64_t ctrlKnown[3];
  int64_t lastPusher[6];
};

struct AccelInsertTokensPass
    : public impl::AccelInsertTokensBase<AccelInsertTokensPass> {
  void runOnOperation() override {
    ProgramOp program = getOperation();
    if (program.getKind() != "main")
      return; // subroutines are ordered once linked into the program
    TokenInserter(program).run();
  }
};

} // namespace
} // namespace adagp::accel
