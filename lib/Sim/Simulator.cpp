//===- Simulator.cpp - Event-driven timing model and control core ---------===//
//
// The timing model keeps one time per unit (fetch stage, load/execute/store
// queue units, DRAM channel) and repeatedly processes the earliest possible
// event: either the fetch stage handling its next instruction, or a queue
// head starting once its unit is free and its dependency tokens have arrived.
// Each event costs O(1), so the simulator runs millions of instructions per
// second; docs/sim.md derives every duration.
//
//===----------------------------------------------------------------------===//

#include "SimImpl.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace adagp::sim {

using namespace isa;

namespace {

uint64_t ceilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/// No real transfer moves more than 2^32 elements (16 GiB) at once; the
/// bound also keeps every byte and cycle count far from overflow.
constexpr uint64_t kMaxDmaElements = uint64_t(1) << 32;

/// Valid (in-range) index interval of one DMA dimension, as [lo, hi).
void validRange(const DmaDim &d, int64_t &lo, int64_t &hi) {
  if (d.extent == 0) {
    lo = 0;
    hi = d.size;
    return;
  }
  lo = std::max<int64_t>(0, -d.start);
  hi = std::min<int64_t>(d.size, d.extent - d.start);
  if (hi < lo)
    hi = lo;
}

unsigned queueIndex(Opcode op) {
  return static_cast<unsigned>(opcodeInfo(op).queue);
}


/// Element passes of each vector function: simple and complex operations per
/// element (docs/sim.md, "Vector unit").
void vecPasses(VecFunct f, unsigned &simple, unsigned &complex) {
  simple = 1;
  complex = 0;
  switch (f) {
  case VecFunct::Sigmoid:
  case VecFunct::Tanh:
  case VecFunct::Exp:
  case VecFunct::Log:
  case VecFunct::Sqrt:
  case VecFunct::Rsqrt:
  case VecFunct::Recip:
  case VecFunct::Div:
  case VecFunct::Erf:
    simple = 0;
    complex = 1;
    return;
  case VecFunct::Gelu:
    simple = 2;
    complex = 1;
    return;
  case VecFunct::GeluGrad:
    simple = 4;
    complex = 2;
    return;
  case VecFunct::ClipImm:
    simple = 2;
    return;
  case VecFunct::SigmoidGrad:
  case VecFunct::TanhGrad:
    simple = 3;
    return;
  case VecFunct::SoftmaxRows:
    simple = 3;
    complex = 1;
    return;
  default:
    return;
  }
}

} // namespace

void tokenChannels(unsigned q, uint8_t deps, int pops[2], int pushes[2]) {
  pops[0] = pops[1] = pushes[0] = pushes[1] = -1;
  switch (q) {
  case 0: // load (prev: store)
    if (deps & kPopNext)
      pops[0] = kExecToLoad;
    if (deps & kPopPrev)
      pops[1] = kStoreToLoad;
    if (deps & kPushNext)
      pushes[0] = kLoadToExec;
    if (deps & kPushPrev)
      pushes[1] = kLoadToStore;
    break;
  case 1: // execute
    if (deps & kPopPrev)
      pops[0] = kLoadToExec;
    if (deps & kPopNext)
      pops[1] = kStoreToExec;
    if (deps & kPushPrev)
      pushes[0] = kExecToLoad;
    if (deps & kPushNext)
      pushes[1] = kExecToStore;
    break;
  case 2: // store (next: load)
    if (deps & kPopPrev)
      pops[0] = kExecToStore;
    if (deps & kPopNext)
      pops[1] = kLoadToStore;
    if (deps & kPushPrev)
      pushes[0] = kStoreToExec;
    if (deps & kPushNext)
      pushes[1] = kStoreToLoad;
    break;
  default:
    break;
  }
}

const char *fetchStallName(FetchStall s) {
  switch (s) {
  case FetchStall::LoadQueueFull:
    return "load_queue_full";
  case FetchStall::ExecuteQueueFull:
    return "execute_queue_full";
  case FetchStall::StoreQueueFull:
    return "store_queue_full";
  case FetchStall::Fence:
    return "fence";
  case FetchStall::HostIO:
    return "host_io";
  case FetchStall::ScalarMemory:
    return "scalar_memory";
  case FetchStall::Branch:
    return "branch";
  case FetchStall::NumKinds:
    break;
  }
  return "invalid";
}

ActionCounts &ActionCounts::operator+=(const ActionCounts &o) {
  instructions += o.instructions;
  macs += o.macs;
  spadReadBytes += o.spadReadBytes;
  spadWriteBytes += o.spadWriteBytes;
  accReadBytes += o.accReadBytes;
  accWriteBytes += o.accWriteBytes;
  dramReadBytes += o.dramReadBytes;
  dramWriteBytes += o.dramWriteBytes;
  hostBytes += o.hostBytes;
  vectorSimpleOps += o.vectorSimpleOps;
  vectorComplexOps += o.vectorComplexOps;
  for (unsigned q = 0; q < kNumQueues; ++q)
    busyCycles[q] += o.busyCycles[q];
  return *this;
}

void Dram::read(uint64_t addr, void *out, uint64_t n) const {
  uint8_t *dst = static_cast<uint8_t *>(out);
  while (n) {
    uint64_t off = addr & (kPageBytes - 1);
    uint64_t chunk = std::min(n, kPageBytes - off);
    const uint8_t *p = page(addr >> kPageBits);
    if (p)
      std::memcpy(dst, p + off, chunk);
    else
      std::memset(dst, 0, chunk);
    dst += chunk;
    addr += chunk;
    n -= chunk;
  }
}

void Dram::write(uint64_t addr, const void *in, uint64_t n) {
  const uint8_t *src = static_cast<const uint8_t *>(in);
  while (n) {
    uint64_t off = addr & (kPageBytes - 1);
    uint64_t chunk = std::min(n, kPageBytes - off);
    std::memcpy(pageForWrite(addr >> kPageBits) + off, src, chunk);
    src += chunk;
    addr += chunk;
    n -= chunk;
  }
}

//===----------------------------------------------------------------------===//
// Setup
//===----------------------------------------------------------------------===//

Simulator::Impl::Impl(const Config &config, Host *host, RunOptions options)
    : cfg(config), host(host), opts(options) {}

bool Simulator::Impl::load(const Program &program, std::string &err) {
  prog = program;
  loaded = false;
  dram.clear();
  spad.assign(cfg.spadElements(), 0.0f);
  acc.assign(cfg.accElements(), 0.0f);
  std::fill(std::begin(regs), std::end(regs), 0);
  for (auto &q : dmaRegs)
    for (DmaDim &d : q)
      d = DmaDim();
  weights.clear();
  weightsValid = dispatchWeightsValid = false;
  weightK = weightN = dispatchWeightK = dispatchWeightN = 0;
  pc = fetchTime = dramFreeAt = endCycle = fetched = 0;
  halted = false;
  blockedOnQueue = -1;
  for (unsigned q = 0; q < kNumQueues; ++q) {
    rings[q].init(cfg.queueDepth(q));
    freeAt[q] = lastPopTime[q] = 0;
    queueStats[q] = QueueStats();
  }
  for (auto &t : tokens)
    t.clear();
  for (auto &c : phaseCounts)
    c = ActionCounts();
  dramTagBytes = DramTagBytes();
  std::fill(std::begin(fetchStalls), std::end(fetchStalls), 0);
  metrics.clear();
  metricCount = 0;
  trace.clear();
  wallSeconds = 0;
  error = SimError();
  status = RunStatus::Finished;
  if (program.instructions.empty()) {
    err = "program has no instructions";
    return false;
  }
  if (!validateProgram(program, err))
    return false;
  for (size_t s = 0; s < program.segments.size(); ++s) {
    const DataSegment &seg = program.segments[s];
    uint64_t end = seg.dramAddr + seg.bytes.size();
    if (seg.dramAddr % 4 || end < seg.dramAddr || end > cfg.dramBytes) {
      err = fmt::format("data segment #{} [0x{:x}, 0x{:x}) is outside DRAM "
                        "({} bytes) or misaligned",
                        s, seg.dramAddr, end, cfg.dramBytes);
      return false;
    }
    dram.write(seg.dramAddr, seg.bytes.data(), seg.bytes.size());
  }
  loaded = true;
  return true;
}

bool Simulator::Impl::fail(uint64_t atPc, const std::string &msg) {
  if (!error.set) {
    error.set = true;
    error.pc = atPc;
    error.mnemonic = atPc < prog.instructions.size()
                         ? mnemonic(prog.instructions[atPc].opcode,
                                    prog.instructions[atPc].funct)
                         : "none";
    error.message = msg;
  }
  status = RunStatus::Error;
  halted = true;
  return false;
}

//===----------------------------------------------------------------------===//
// Dispatch-time checks
//===----------------------------------------------------------------------===//

bool Simulator::Impl::checkRange(uint64_t atPc, const char *what, int64_t addr,
                                 int64_t rows, int64_t cols, int64_t rowStride,
                                 int64_t colStride) {
  int64_t lo = addr, hi = addr;
  int64_t r = (rows - 1) * rowStride, c = (cols - 1) * colStride;
  lo += std::min<int64_t>(0, r) + std::min<int64_t>(0, c);
  hi += std::max<int64_t>(0, r) + std::max<int64_t>(0, c);
  int64_t spadN = int64_t(spad.size()), accN = int64_t(acc.size());
  int64_t accBase = int64_t(kAccBase);
  if (lo >= 0 && hi < spadN)
    return true;
  if (lo >= accBase && hi < accBase + accN)
    return true;
  if (lo >= 0 && lo < accBase && hi < accBase)
    return fail(atPc, fmt::format("scratchpad overflow: operand '{}' covers "
                                  "elements [{}, {}] but the scratchpad "
                                  "holds {} elements",
                                  what, lo, hi, spadN));
  if (lo >= accBase && lo < accBase + (int64_t(1) << 23))
    return fail(atPc, fmt::format("accumulator overflow: operand '{}' covers "
                                  "ACC+[{}, {}] but the accumulator holds {} "
                                  "elements",
                                  what, lo - accBase, hi - accBase, accN));
  return fail(atPc, fmt::format("operand '{}' covers on-chip addresses [{}, "
                                "{}], outside the scratchpad [0, {}) and the "
                                "accumulator [0x{:x}, 0x{:x})",
                                what, lo, hi, spadN, accBase, accBase + accN));
}

bool Simulator::Impl::checkQueueInstruction(const Instruction &inst, Entry &e) {
  const uint64_t at = e.pc;
  const int64_t *f = inst.field;
  switch (inst.opcode) {
  case Opcode::Load:
  case Opcode::Store: {
    bool isLoad = inst.opcode == Opcode::Load;
    e.dims[0].size = f[dma::Size];
    e.dims[0].start = f[dma::Start];
    e.dims[0].extent = f[dma::Extent];
    e.dims[0].dramStride = f[dma::DramStride];
    e.dims[0].chipStride = f[dma::ChipStride];
    for (unsigned d = 1; d < kMaxDmaDims; ++d)
      e.dims[d] = dmaRegs[isLoad ? 0 : 1][d];
    int64_t dramAddr = regs[f[dma::DramReg]] + f[dma::DramAddr];
    int64_t chipAddr = regs[f[dma::ChipReg]] + f[dma::ChipAddr];
    if (dramAddr < 0 || dramAddr % 4 != 0)
      return fail(at, fmt::format("DRAM address {} is negative or not "
                                  "4-byte aligned",
                                  dramAddr));
    e.dramAddr = uint64_t(dramAddr);
    uint64_t box = 1;
    for (const DmaDim &d : e.dims) {
      box *= uint64_t(d.size);
      if (box > kMaxDmaElements)
        return fail(at, fmt::format("DMA box has more than {} elements",
                                    kMaxDmaElements));
    }
    // On-chip side: the whole box (padding is written on loads).
    int64_t lo = chipAddr, hi = chipAddr;
    for (const DmaDim &d : e.dims) {
      int64_t span = (d.size - 1) * d.chipStride;
      lo += std::min<int64_t>(0, span);
      hi += std::max<int64_t>(0, span);
    }
    // Two rows with row stride hi-lo cover exactly [lo, hi].
    if (!checkRange(at, "chip", lo, 2, 1, hi - lo, 0))
      return false;
    e.chipAddr = uint32_t(chipAddr);
    // DRAM side: only in-range elements are touched.
    int64_t dlo = 0, dhi = 0;
    for (const DmaDim &d : e.dims) {
      int64_t jlo, jhi;
      validRange(d, jlo, jhi);
      if (jlo == jhi)
        return true; // all padding: no DRAM access
      int64_t a = (d.start + jlo) * d.dramStride;
      int64_t b = (d.start + jhi - 1) * d.dramStride;
      dlo += std::min(a, b);
      dhi += std::max(a, b);
    }
    int64_t first = dramAddr + 4 * dlo, last = dramAddr + 4 * dhi + 4;
    if (first < 0 || uint64_t(last) > cfg.dramBytes)
      return fail(at, fmt::format("DRAM access [{}, {}) is outside DRAM ({} "
                                  "bytes)",
                                  first, last, cfg.dramBytes));
    return true;
  }
  case Opcode::Gemm: {
    int64_t M = f[gemm::M], K = f[gemm::K], N = f[gemm::N];
    if (K > cfg.arrayDim || N > cfg.arrayDim)
      return fail(at, fmt::format("k={} n={} exceed the {}x{} array", K, N,
                                  cfg.arrayDim, cfg.arrayDim));
    int64_t a = regs[f[gemm::AReg]] + f[gemm::A];
    int64_t c = regs[f[gemm::CReg]] + f[gemm::C];
    int64_t lda = f[gemm::Lda], ldb = f[gemm::Ldb], ldc = f[gemm::Ldc];
    bool ta = f[gemm::TransA], tb = f[gemm::TransB], tc = f[gemm::TransC];
    if (!(ta ? checkRange(at, "a", a, M, K, 1, lda)
             : checkRange(at, "a", a, M, K, lda, 1)))
      return false;
    if (!(tc ? checkRange(at, "c", c, M, N, 1, ldc)
             : checkRange(at, "c", c, M, N, ldc, 1)))
      return false;
    if (f[gemm::KeepWeights]) {
      if (!dispatchWeightsValid)
        return fail(at, "keep=1 but no weights are preloaded in the array");
      if (dispatchWeightK != K || dispatchWeightN != N)
        return fail(at, fmt::format("keep=1 with k={} n={} but the array "
                                    "holds {}x{} weights",
                                    K, N, dispatchWeightK, dispatchWeightN));
    } else {
      if (!(tb ? checkRange(at, "b", f[gemm::B], K, N, 1, ldb)
               : checkRange(at, "b", f[gemm::B], K, N, ldb, 1)))
        return false;
      dispatchWeightsValid = true;
      dispatchWeightK = K;
      dispatchWeightN = N;
    }
    e.gemmA = uint32_t(a);
    e.gemmC = uint32_t(c);
    return true;
  }
  case Opcode::Vec: {
    VecFunct fn = static_cast<VecFunct>(inst.funct);
    int64_t R = f[vec::Rows], C = f[vec::Cols];
    if (fn != VecFunct::Fill &&
        !checkRange(at, "a", f[vec::A], R, C, f[vec::ARowStride],
                    f[vec::AColStride]))
      return false;
    if (fn == VecFunct::Affine) {
      if (!checkRange(at, "b", f[vec::B], 2, C, f[vec::BRowStride],
                      f[vec::BColStride]))
        return false;
    } else if (vecReadsB(fn) &&
               !checkRange(at, "b", f[vec::B], R, C, f[vec::BRowStride],
                           f[vec::BColStride])) {
      return false;
    }
    int64_t dr = isColReduction(fn) ? 1 : R, dc = isRowReduction(fn) ? 1 : C;
    return checkRange(at, "d", f[vec::D], dr, dc, f[vec::DRowStride],
                      f[vec::DColStride]);
  }
  case Opcode::Pool: {
    PoolFunct fn = static_cast<PoolFunct>(inst.funct);
    int64_t inSize = f[pool::N] * f[pool::H] * f[pool::W] * f[pool::C];
    int64_t outSize = f[pool::N] * f[pool::OH] * f[pool::OW] * f[pool::C];
    bool fwd = fn <= PoolFunct::AdaptiveAvgFwd;
    if (!fwd)
      std::swap(inSize, outSize); // backward: in = dy, out = dx
    if (!checkRange(at, "in", f[pool::In], 1, inSize, 0, 1) ||
        !checkRange(at, "out", f[pool::Out], 1, outSize, 0, 1))
      return false;
    if (fn == PoolFunct::MaxBwd &&
        !checkRange(at, "aux", f[pool::Aux], 1, outSize, 0, 1))
      return false;
    return true;
  }
  case Opcode::Xent: {
    int64_t B = f[xent::Batch], K = f[xent::Classes];
    return checkRange(at, "logits", f[xent::Logits], B, K,
                      f[xent::LogitsRowStride], 1) &&
           checkRange(at, "labels", f[xent::Labels], 1, B, 0, 1) &&
           checkRange(at, "grad", f[xent::Grad], B, K, f[xent::GradRowStride],
                      1) &&
           checkRange(at, "loss", f[xent::Loss], 1, 2, 0, 1);
  }
  case Opcode::Opt: {
    OptFunct fn = static_cast<OptFunct>(inst.funct);
    int64_t n = f[opt::N];
    if (!checkRange(at, "param", f[opt::Param], 1, n, 0, 1) ||
        !checkRange(at, "grad", f[opt::Grad], 1, n, 0, 1) ||
        !checkRange(at, "hp", f[opt::Hp], 1, kNumHyperParams, 0, 1))
      return false;
    if (fn != OptFunct::Sgd && !checkRange(at, "m", f[opt::M], 1, n, 0, 1))
      return false;
    if ((fn == OptFunct::Adam || fn == OptFunct::AdamW) &&
        !checkRange(at, "v", f[opt::V], 1, n, 0, 1))
      return false;
    return true;
  }
  default:
    return fail(at, "not a queue instruction");
  }
}

//===----------------------------------------------------------------------===//
// Costs
//===----------------------------------------------------------------------===//

void Simulator::Impl::chargeChip(ActionCounts &c, int64_t addr, uint64_t elems,
                                 bool write) const {
  bool isAcc = addr >= int64_t(kAccBase);
  uint64_t bytes = elems * 4;
  if (isAcc)
    (write ? c.accWriteBytes : c.accReadBytes) += bytes;
  else
    (write ? c.spadWriteBytes : c.spadReadBytes) += bytes;
}

Cost Simulator::Impl::costOf(const Instruction &inst, const Entry &e) const {
  Cost cost;
  ActionCounts &c = cost.counts;
  const int64_t *f = inst.field;
  const uint64_t lanes = cfg.vectorLanes;
  const uint64_t cs = cfg.vectorSimpleCycles, cc = cfg.vectorComplexCycles;
  switch (inst.opcode) {
  case Opcode::Load:
  case Opcode::Store: {
    uint64_t rows = 1, box = 1;
    for (unsigned d = 1; d < kMaxDmaDims; ++d) {
      int64_t lo, hi;
      validRange(e.dims[d], lo, hi);
      rows *= uint64_t(hi - lo);
    }
    for (const DmaDim &d : e.dims)
      box *= uint64_t(d.size);
    int64_t lo0, hi0;
    validRange(e.dims[0], lo0, hi0);
    uint64_t run = uint64_t(hi0 - lo0);
    uint64_t burst = cfg.dramBurstBytes, rowBytes = 0;
    if (run) {
      uint64_t stride = uint64_t(std::llabs(e.dims[0].dramStride));
      uint64_t span = ((run - 1) * stride + 1) * 4;
      rowBytes = std::min(run * burst, ceilDiv(span, burst) * burst);
    }
    uint64_t bytes = rows * rowBytes, useful = rows * run;
    cost.dramBytes = bytes;
    cost.cycles = uint64_t(std::ceil(double(bytes) / cfg.dramBytesPerCycle));
    if (inst.opcode == Opcode::Load) {
      c.dramReadBytes = bytes;
      chargeChip(c, e.chipAddr, box, true);
    } else {
      c.dramWriteBytes = bytes;
      chargeChip(c, e.chipAddr, useful, false);
    }
    return cost;
  }
  case Opcode::Gemm: {
    uint64_t M = f[gemm::M], K = f[gemm::K], N = f[gemm::N];
    bool keep = f[gemm::KeepWeights];
    uint64_t dim = cfg.arrayDim;
    cost.cycles = (keep ? 0 : dim) + M + dim;
    c.macs = M * K * N;
    chargeChip(c, e.gemmA, M * K, false);
    if (!keep)
      chargeChip(c, f[gemm::B], K * N, false);
    if (f[gemm::Accumulate])
      chargeChip(c, e.gemmC, M * N, false);
    chargeChip(c, e.gemmC, M * N, true);
    return cost;
  }
  case Opcode::Vec: {
    VecFunct fn = static_cast<VecFunct>(inst.funct);
    uint64_t R = f[vec::Rows], C = f[vec::Cols], n = R * C;
    unsigned sp, cp;
    vecPasses(fn, sp, cp);
    uint64_t perOp = sp * cs + cp * cc;
    // A vector op whose two sources sit in the same bank reads it twice per
    // row of lanes.
    uint64_t conflict = 1;
    if (vecReadsB(fn) && fn != VecFunct::Affine) {
      int64_t a = f[vec::A], b = f[vec::B];
      bool aAcc = a >= int64_t(kAccBase), bAcc = b >= int64_t(kAccBase);
      if (aAcc == bAcc) {
        uint64_t bankElems =
            aAcc ? acc.size() / cfg.accBanks : spad.size() / cfg.spadBanks;
        int64_t base = aAcc ? int64_t(kAccBase) : 0;
        if (bankElems &&
            uint64_t(a - base) / bankElems == uint64_t(b - base) / bankElems)
          conflict = 2;
      }
    }
    cost.cycles =
        cfg.vectorStartupCycles + ceilDiv(n, lanes) * perOp * conflict;
    c.vectorSimpleOps = n * sp;
    c.vectorComplexOps = n * cp;
    if (fn != VecFunct::Fill)
      chargeChip(c, f[vec::A], n, false);
    if (fn == VecFunct::Affine)
      chargeChip(c, f[vec::B], 2 * C, false);
    else if (vecReadsB(fn))
      chargeChip(c, f[vec::B], n, false);
    uint64_t outN = isColReduction(fn) ? C : isRowReduction(fn) ? R : n;
    if (vecReadsD(fn))
      chargeChip(c, f[vec::D], outN, false);
    chargeChip(c, f[vec::D], outN, true);
    return cost;
  }
  case Opcode::Pool: {
    PoolFunct fn = static_cast<PoolFunct>(inst.funct);
    uint64_t big = f[pool::N] * f[pool::H] * f[pool::W] * f[pool::C];
    uint64_t small = f[pool::N] * f[pool::OH] * f[pool::OW] * f[pool::C];
    uint64_t window = f[pool::KH] * f[pool::KW];
    uint64_t ops = 0;
    switch (fn) {
    case PoolFunct::MaxFwd:
      ops = small * window;
      break;
    case PoolFunct::AvgFwd:
    case PoolFunct::AvgValidFwd:
      ops = small * (window + 1);
      break;
    case PoolFunct::AdaptiveAvgFwd:
      ops = big + small;
      break;
    case PoolFunct::MaxBwd:
      ops = big + small * (window + 1);
      break;
    case PoolFunct::AvgBwd:
    case PoolFunct::AvgValidBwd:
      ops = big + small * (window + 1);
      break;
    case PoolFunct::AdaptiveAvgBwd:
      ops = 2 * big + small;
      break;
    default:
      break;
    }
    cost.cycles = cfg.vectorStartupCycles + ceilDiv(ops, lanes) * cs;
    c.vectorSimpleOps = ops;
    bool fwd = fn <= PoolFunct::AdaptiveAvgFwd;
    chargeChip(c, f[pool::In], fwd ? big : small, false);
    if (fn == PoolFunct::MaxBwd)
      chargeChip(c, f[pool::Aux], big, false);
    chargeChip(c, f[pool::Out], fwd ? small : big, true);
    return cost;
  }
  case Opcode::Xent: {
    uint64_t B = f[xent::Batch], K = f[xent::Classes], n = B * K;
    cost.cycles = cfg.vectorStartupCycles + ceilDiv(n, lanes) * (4 * cs + cc) +
                  ceilDiv(B, lanes) * cc;
    c.vectorSimpleOps = 4 * n;
    c.vectorComplexOps = n + B;
    chargeChip(c, f[xent::Logits], n, false);
    chargeChip(c, f[xent::Labels], B, false);
    chargeChip(c, f[xent::Grad], n, true);
    chargeChip(c, f[xent::Loss], 2, true);
    return cost;
  }
  case Opcode::Opt: {
    OptFunct fn = static_cast<OptFunct>(inst.funct);
    uint64_t n = f[opt::N];
    unsigned sp = 3, cp = 0, states = 0;
    switch (fn) {
    case OptFunct::Sgd:
      break;
    case OptFunct::Momentum:
      sp = 5;
      states = 1;
      break;
    case OptFunct::Nesterov:
      sp = 6;
      states = 1;
      break;
    case OptFunct::Adam:
      sp = 9;
      cp = 2;
      states = 2;
      break;
    case OptFunct::AdamW:
      sp = 10;
      cp = 2;
      states = 2;
      break;
    default:
      break;
    }
    cost.cycles =
        cfg.vectorStartupCycles + ceilDiv(n, lanes) * (sp * cs + cp * cc);
    c.vectorSimpleOps = n * sp;
    c.vectorComplexOps = n * cp;
    chargeChip(c, f[opt::Param], n, false);
    chargeChip(c, f[opt::Param], n, true);
    chargeChip(c, f[opt::Grad], n, false);
    chargeChip(c, f[opt::Hp], kNumHyperParams, false);
    if (states >= 1) {
      chargeChip(c, f[opt::M], n, false);
      chargeChip(c, f[opt::M], n, true);
    }
    if (states >= 2) {
      chargeChip(c, f[opt::V], n, false);
      chargeChip(c, f[opt::V], n, true);
    }
    return cost;
  }
  default:
    return cost;
  }
}

//===----------------------------------------------------------------------===//
// The event loop
//===----------------------------------------------------------------------===//

bool Simulator::Impl::headReady(unsigned q, uint64_t &start) const {
  if (rings[q].empty())
    return false;
  const Entry &e = rings[q].front();
  uint64_t t = std::max(freeAt[q], e.dispatch);
  int pops[2], pushes[2];
  tokenChannels(q, prog.instructions[e.pc].deps, pops, pushes);
  for (int ch : pops) {
    if (ch < 0)
      continue;
    if (tokens[ch].empty())
      return false;
    t = std::max(t, tokens[ch].front());
  }
  start = t;
  return true;
}

bool Simulator::Impl::processHead(unsigned q, uint64_t t) {
  const Entry &head = rings[q].front();
  const Instruction &inst = prog.instructions[head.pc];
  Cost cost = costOf(inst, head);
  // The cycle guard applies before the instruction runs, so one enormous
  // instruction cannot run away either; the queue is left intact.
  uint64_t projected =
      q != 1 ? std::max(t, dramFreeAt) + cost.cycles + cfg.dramLatencyCycles
             : t + cost.cycles;
  if (projected > opts.maxCycles) {
    status = RunStatus::CycleLimit;
    return false;
  }
  Entry e = head;
  rings[q].popFront();
  lastPopTime[q] = t;
  int pops[2], pushes[2];
  tokenChannels(q, inst.deps, pops, pushes);
  for (int ch : pops)
    if (ch >= 0)
      tokens[ch].pop_front();

  QueueStats &qs = queueStats[q];
  if (t > freeAt[q]) {
    if (e.dispatch > freeAt[q]) {
      qs.stallEmpty += std::min(e.dispatch, t) - freeAt[q];
      qs.stallDependency += t - std::max(e.dispatch, freeAt[q]);
    } else {
      qs.stallDependency += t - freeAt[q];
    }
  }
  uint64_t end, busy;
  if (q != 1) { // DMA: shared DRAM channel, then latency
    uint64_t channel = std::max(t, dramFreeAt);
    qs.stallBandwidth += channel - t;
    dramFreeAt = channel + cost.cycles;
    busy = cost.cycles + cfg.dramLatencyCycles;
    end = channel + busy;
  } else {
    busy = cost.cycles;
    end = t + busy;
  }
  if (!opts.timingOnly && !execute(inst, e))
    return false;
  freeAt[q] = end;
  for (int ch : pushes)
    if (ch >= 0)
      tokens[ch].push_back(end);
  qs.instructions++;
  qs.busyCycles += busy;
  cost.counts.busyCycles[q] = busy;
  phaseCounts[static_cast<unsigned>(inst.phase)] += cost.counts;
  if (q != 1) {
    unsigned tag = e.pc < opts.dramTags.size() ? opts.dramTags[e.pc] : 0;
    if (tag >= kNumDramTags)
      tag = 0;
    (q == 0 ? dramTagBytes.read : dramTagBytes.write)[tag] += cost.dramBytes;
  }
  if (opts.trace && trace.size() < opts.traceLimit)
    trace.push_back({t, end - t, e.pc, uint8_t(q + 1), -1});
  endCycle = std::max(endCycle, end);
  return true;
}

bool Simulator::Impl::fetchReady() {
  if (pc >= prog.instructions.size()) {
    uint64_t last = prog.instructions.size() - 1;
    return fail(last, "execution ran past the end of the program (end it "
                      "with 'finish')");
  }
  const Instruction &inst = prog.instructions[pc];
  unsigned q = queueIndex(inst.opcode);
  if (q < kNumQueues) {
    if (rings[q].full()) {
      blockedOnQueue = int(q);
      return false;
    }
    return true;
  }
  if (inst.opcode == Opcode::Fence) {
    bool any = inst.field[fence::WaitLoad] || inst.field[fence::WaitExecute] ||
               inst.field[fence::WaitStore];
    for (unsigned i = 0; i < kNumQueues; ++i)
      if ((!any || inst.field[fence::WaitLoad + i]) && !rings[i].empty())
        return false;
    return true;
  }
  if (inst.opcode == Opcode::Finish) {
    for (const Ring &r : rings)
      if (!r.empty())
        return false;
  }
  return true;
}

namespace {

int64_t scalarOp(ScalarFunct f, int64_t a, int64_t b) {
  auto asD = [](int64_t v) {
    double d;
    std::memcpy(&d, &v, 8);
    return d;
  };
  auto fromD = [](double d) {
    int64_t v;
    std::memcpy(&v, &d, 8);
    return v;
  };
  uint64_t ua = uint64_t(a), ub = uint64_t(b);
  double da = asD(a), db = asD(b);
  switch (f) {
  case ScalarFunct::Add:
    return int64_t(ua + ub);
  case ScalarFunct::Sub:
    return int64_t(ua - ub);
  case ScalarFunct::Mul:
    return int64_t(ua * ub);
  case ScalarFunct::Div:
    if (b == 0)
      return -1;
    if (a == INT64_MIN && b == -1)
      return a;
    return a / b;
  case ScalarFunct::Rem:
    if (b == 0)
      return a;
    if (a == INT64_MIN && b == -1)
      return 0;
    return a % b;
  case ScalarFunct::And:
    return a & b;
  case ScalarFunct::Or:
    return a | b;
  case ScalarFunct::Xor:
    return a ^ b;
  case ScalarFunct::Shl:
    return int64_t(ua << (ub & 63));
  case ScalarFunct::Shr:
    return int64_t(ua >> (ub & 63));
  case ScalarFunct::Sra:
    return a < 0 ? ~int64_t(~ua >> (ub & 63)) : int64_t(ua >> (ub & 63));
  case ScalarFunct::Slt:
    return a < b;
  case ScalarFunct::Sltu:
    return ua < ub;
  case ScalarFunct::Seq:
    return a == b;
  case ScalarFunct::Min:
    return std::min(a, b);
  case ScalarFunct::Max:
    return std::max(a, b);
  case ScalarFunct::FAdd:
    return fromD(da + db);
  case ScalarFunct::FSub:
    return fromD(da - db);
  case ScalarFunct::FMul:
    return fromD(da * db);
  case ScalarFunct::FDiv:
    return fromD(da / db);
  case ScalarFunct::FMin:
    return fromD(std::fmin(da, db));
  case ScalarFunct::FMax:
    return fromD(std::fmax(da, db));
  case ScalarFunct::FPow:
    return fromD(std::pow(da, db));
  case ScalarFunct::FLt:
    return da < db;
  case ScalarFunct::FLe:
    return da <= db;
  case ScalarFunct::FEq:
    return da == db;
  case ScalarFunct::FSqrt:
    return fromD(std::sqrt(da));
  case ScalarFunct::FExp:
    return fromD(std::exp(da));
  case ScalarFunct::FLog:
    return fromD(std::log(da));
  case ScalarFunct::FAbs:
    return fromD(std::fabs(da));
  case ScalarFunct::I2F:
    return fromD(double(a));
  case ScalarFunct::F2I:
    if (!(da == da))
      return 0;
    if (da >= 9.2233720368547758e18)
      return INT64_MAX;
    if (da <= -9.2233720368547758e18)
      return INT64_MIN;
    return int64_t(da);
  default:
    return 0;
  }
}

bool branchTaken(BranchFunct f, int64_t a, int64_t b) {
  switch (f) {
  case BranchFunct::Eq:
    return a == b;
  case BranchFunct::Ne:
    return a != b;
  case BranchFunct::Lt:
    return a < b;
  case BranchFunct::Ge:
    return a >= b;
  case BranchFunct::Ltu:
    return uint64_t(a) < uint64_t(b);
  case BranchFunct::Geu:
    return uint64_t(a) >= uint64_t(b);
  default:
    return false;
  }
}

} // namespace

bool Simulator::Impl::fetchOne() {
  const uint64_t at = pc;
  const Instruction &inst = prog.instructions[at];
  const int64_t *f = inst.field;
  ActionCounts &pcounts = phaseCounts[static_cast<unsigned>(inst.phase)];
  const uint64_t cs = cfg.scalarCyclesPerInstruction;
  unsigned q = queueIndex(inst.opcode);
  auto stall = [&](FetchStall kind, uint64_t cycles) {
    if (!cycles)
      return;
    fetchStalls[static_cast<unsigned>(kind)] += cycles;
    if (opts.trace && trace.size() < opts.traceLimit)
      trace.push_back({fetchTime, cycles, uint32_t(at), 0,
                       int8_t(static_cast<unsigned>(kind))});
    fetchTime += cycles;
  };
  ++fetched;
  pcounts.instructions++;

  if (q < kNumQueues) {
    if (blockedOnQueue == int(q)) {
      if (lastPopTime[q] > fetchTime)
        stall(static_cast<FetchStall>(q), lastPopTime[q] - fetchTime);
      blockedOnQueue = -1;
    }
    Entry tmp;
    tmp.pc = uint32_t(at);
    if (!checkQueueInstruction(inst, tmp))
      return false;
    fetchTime += cs;
    tmp.dispatch = fetchTime;
    rings[q].pushBack() = tmp;
    ++pc;
    return true;
  }

  blockedOnQueue = -1;
  uint64_t next = at + 1;
  auto setReg = [&](int64_t r, int64_t v) {
    if (r != 0)
      regs[r] = v;
  };
  switch (inst.opcode) {
  case Opcode::Nop:
    break;
  case Opcode::Finish: {
    uint64_t end = fetchTime + cs;
    for (unsigned i = 0; i < kNumQueues; ++i)
      end = std::max(end, freeAt[i]);
    fetchTime = end;
    endCycle = std::max(endCycle, end);
    halted = true;
    status = RunStatus::Finished;
    return true;
  }
  case Opcode::Fence: {
    bool any =
        f[fence::WaitLoad] || f[fence::WaitExecute] || f[fence::WaitStore];
    uint64_t t = fetchTime;
    for (unsigned i = 0; i < kNumQueues; ++i)
      if (!any || f[fence::WaitLoad + i])
        t = std::max(t, freeAt[i]);
    stall(FetchStall::Fence, t - fetchTime);
    break;
  }
  case Opcode::DmaCfg: {
    DmaCfgFunct fn = static_cast<DmaCfgFunct>(inst.funct);
    unsigned which =
        fn == DmaCfgFunct::LoadD12 || fn == DmaCfgFunct::LoadD34 ? 0 : 1;
    unsigned d0 =
        fn == DmaCfgFunct::LoadD12 || fn == DmaCfgFunct::StoreD12 ? 1 : 3;
    for (unsigned k = 0; k < 2; ++k) {
      DmaDim &d = dmaRegs[which][d0 + k];
      unsigned base = k * 5;
      d.size = f[dmacfg::SizeA + base];
      d.start = f[dmacfg::StartA + base];
      d.extent = f[dmacfg::ExtentA + base];
      d.dramStride = f[dmacfg::DramStrideA + base];
      d.chipStride = f[dmacfg::ChipStrideA + base];
    }
    break;
  }
  case Opcode::Sop:
    setReg(f[sop::Rd], scalarOp(static_cast<ScalarFunct>(inst.funct),
                                regs[f[sop::Rs1]], regs[f[sop::Rs2]]));
    break;
  case Opcode::Sopi:
    setReg(f[sopi::Rd], scalarOp(static_cast<ScalarFunct>(inst.funct),
                                 regs[f[sopi::Rs1]], f[sopi::Imm]));
    break;
  case Opcode::Branch: {
    bool taken = branchTaken(static_cast<BranchFunct>(inst.funct),
                             regs[f[branch::Rs1]], regs[f[branch::Rs2]]);
    if (opts.timingOnly && host)
      taken = host->decideBranch(at, taken);
    if (taken) {
      next = uint64_t(f[branch::Target]);
      fetchTime += cs;
      stall(FetchStall::Branch, cfg.takenBranchPenaltyCycles);
      pc = next;
      return true;
    }
    break;
  }
  case Opcode::Jump: {
    JumpFunct fn = static_cast<JumpFunct>(inst.funct);
    if (fn == JumpFunct::Jr) {
      int64_t target = regs[f[jump::Rs1]];
      if (target < 0 || uint64_t(target) >= prog.instructions.size())
        return fail(at, fmt::format("jump target {} (from r{}) is outside "
                                    "the program ({} instructions)",
                                    target, f[jump::Rs1],
                                    prog.instructions.size()));
      next = uint64_t(target);
    } else {
      next = uint64_t(f[jump::Target]);
    }
    if (fn == JumpFunct::Jal)
      setReg(f[jump::Rd], int64_t(at + 1));
    fetchTime += cs;
    stall(FetchStall::Branch, cfg.takenBranchPenaltyCycles);
    pc = next;
    return true;
  }
  case Opcode::Sld:
  case Opcode::Sst: {
    bool isLoad = inst.opcode == Opcode::Sld;
    SMemFunct fn = static_cast<SMemFunct>(inst.funct);
    int64_t addr = regs[f[smem::Base]] + f[smem::Addr];
    int64_t r = f[smem::Reg];
    if (fn == SMemFunct::ChipI32 || fn == SMemFunct::ChipF32) {
      if (!checkRange(at, "addr", addr, 1, 1, 0, 0))
        return false;
      float *p = chip(addr);
      if (isLoad) {
        if (fn == SMemFunct::ChipI32) {
          int32_t v;
          std::memcpy(&v, p, 4);
          setReg(r, v);
        } else {
          double d = *p;
          int64_t bits;
          std::memcpy(&bits, &d, 8);
          setReg(r, bits);
        }
      } else if (fn == SMemFunct::ChipI32) {
        int32_t v = int32_t(regs[r]);
        std::memcpy(p, &v, 4);
      } else {
        double d;
        std::memcpy(&d, &regs[r], 8);
        *p = float(d);
      }
      chargeChip(pcounts, addr, 1, !isLoad);
      break;
    }
    unsigned bytes =
        fn == SMemFunct::DramI64 || fn == SMemFunct::DramF64 ? 8 : 4;
    if (addr < 0 || addr % bytes != 0 || uint64_t(addr) + bytes > cfg.dramBytes)
      return fail(at, fmt::format("DRAM address {} is outside DRAM ({} bytes) "
                                  "or not {}-byte aligned",
                                  addr, cfg.dramBytes, bytes));
    if (isLoad) {
      int64_t v = 0;
      if (bytes == 8) {
        dram.read(uint64_t(addr), &v, 8);
      } else {
        uint32_t w = dram.read32(uint64_t(addr));
        if (fn == SMemFunct::DramI32) {
          v = int32_t(w);
        } else {
          float fl;
          std::memcpy(&fl, &w, 4);
          double d = fl;
          std::memcpy(&v, &d, 8);
        }
      }
      setReg(r, v);
      pcounts.dramReadBytes += bytes;
    } else {
      if (bytes == 8) {
        dram.write(uint64_t(addr), &regs[r], 8);
      } else if (fn == SMemFunct::DramI32) {
        dram.write32(uint64_t(addr), uint32_t(regs[r]));
      } else {
        double d;
        std::memcpy(&d, &regs[r], 8);
        float fl = float(d);
        uint32_t w;
        std::memcpy(&w, &fl, 4);
        dram.write32(uint64_t(addr), w);
      }
      pcounts.dramWriteBytes += bytes;
    }
    fetchTime += cs;
    stall(FetchStall::ScalarMemory, cfg.dramLatencyCycles);
    pc = next;
    return true;
  }
  case Opcode::Recv: {
    if (!host)
      return fail(at, "recv needs a host to supply batches, and none is "
                      "attached");
    int64_t in = regs[f[recv::InReg]] + f[recv::In];
    int64_t labels = regs[f[recv::LabelReg]] + f[recv::Labels];
    uint64_t inBytes = uint64_t(f[recv::InBytes]);
    uint64_t labelBytes = uint64_t(f[recv::LabelBytes]);
    if (in < 0 || labels < 0 || uint64_t(in) + inBytes > cfg.dramBytes ||
        uint64_t(labels) + labelBytes > cfg.dramBytes)
      return fail(at,
                  fmt::format("recv buffers [{}, +{}) and [{}, +{}) must "
                              "lie inside DRAM ({} bytes)",
                              in, inBytes, labels, labelBytes, cfg.dramBytes));
    std::vector<uint8_t> inBuf(inBytes), labelBuf(labelBytes);
    std::string herr;
    int64_t count = host->receiveBatch(unsigned(f[recv::Stream]), inBuf,
                                       labelBuf, !opts.timingOnly, herr);
    if (count < 0)
      return fail(at, "host failed to supply a batch: " + herr);
    if (inBuf.size() != inBytes || labelBuf.size() != labelBytes)
      return fail(at, "host resized the batch buffers");
    if (!opts.timingOnly && count > 0) {
      dram.write(uint64_t(in), inBuf.data(), inBytes);
      dram.write(uint64_t(labels), labelBuf.data(), labelBytes);
    }
    setReg(f[recv::Rd], count);
    uint64_t bytes = count > 0 ? inBytes + labelBytes : 0;
    pcounts.hostBytes += bytes;
    fetchTime += cs;
    stall(FetchStall::HostIO,
          cfg.hostLatencyCycles +
              uint64_t(std::ceil(double(bytes) / cfg.hostBytesPerCycle)));
    pc = next;
    return true;
  }
  case Opcode::Send: {
    Metric m;
    m.tag = uint32_t(f[send::Tag]);
    m.pc = at;
    m.cycle = fetchTime;
    SendFunct fn = static_cast<SendFunct>(inst.funct);
    uint64_t extra = 0;
    if (fn == SendFunct::I64) {
      m.kind = Metric::Int;
      m.intValue = regs[f[send::Rs]];
    } else if (fn == SendFunct::F64) {
      m.kind = Metric::Float;
      std::memcpy(&m.floatValue, &regs[f[send::Rs]], 8);
    } else {
      m.kind = Metric::Array;
      int64_t addr = regs[f[send::Base]] + f[send::Addr];
      uint64_t n = uint64_t(f[send::Count]);
      if (addr < 0 || addr % 4 || uint64_t(addr) + 4 * n > cfg.dramBytes)
        return fail(at, fmt::format("send block [{}, +{} bytes) is outside "
                                    "DRAM ({} bytes) or misaligned",
                                    addr, 4 * n, cfg.dramBytes));
      m.array.resize(n);
      dram.read(uint64_t(addr), m.array.data(), 4 * n);
      pcounts.dramReadBytes += 4 * n;
      extra = cfg.hostLatencyCycles +
              uint64_t(std::ceil(double(4 * n) / cfg.hostBytesPerCycle));
    }
    ++metricCount;
    if (host)
      host->sendMetric(m);
    if (metrics.size() < Report::kMaxReportedMetrics)
      metrics.push_back(std::move(m));
    fetchTime += cs;
    stall(FetchStall::HostIO, extra);
    pc = next;
    return true;
  }
  default:
    return fail(at, "unexpected instruction in the control stage");
  }
  fetchTime += cs;
  pc = next;
  return true;
}

std::string Simulator::Impl::deadlockMessage(uint64_t &blamePc) const {
  static const char *const chanName[kNumChannels] = {
      "load->execute",  "execute->load", "execute->store",
      "store->execute", "store->load",   "load->store"};
  static const char *const chanSource[kNumChannels] = {
      "load", "execute", "execute", "store", "store", "load"};
  static const unsigned chanSourceQueue[kNumChannels] = {0, 1, 1, 2, 2, 0};
  std::string heads;
  bool blamed = false;
  std::string headline;
  for (unsigned q = 0; q < kNumQueues; ++q) {
    heads +=
        fmt::format("{}{}: ", q ? "; " : "", queueName(static_cast<Queue>(q)));
    if (rings[q].empty()) {
      heads += "empty";
      continue;
    }
    const Entry &e = rings[q].front();
    const Instruction &inst = prog.instructions[e.pc];
    int pops[2], pushes[2];
    tokenChannels(q, inst.deps, pops, pushes);
    int missing = -1;
    for (int ch : pops)
      if (ch >= 0 && tokens[ch].empty() && missing < 0)
        missing = ch;
    heads +=
        fmt::format("#{} ({}) waiting for a {} token, {} queued", e.pc,
                    mnemonic(inst.opcode, inst.funct),
                    missing >= 0 ? chanName[missing] : "?", rings[q].size());
    // Blame the head whose token source has nothing left to push it: that is
    // a token popped but never pushed. Otherwise blame the first blocked
    // head.
    if (missing >= 0 && (!blamed || rings[chanSourceQueue[missing]].empty())) {
      bool neverPushed = rings[chanSourceQueue[missing]].empty();
      blamePc = e.pc;
      headline = fmt::format(
          "pops a {} token that the {} queue {}", chanName[missing],
          chanSource[missing],
          neverPushed ? "never pushed (nothing left there to push it)"
                      : "cannot push because its own head is blocked");
      blamed = true;
    }
  }
  std::string fetchDesc;
  if (pc < prog.instructions.size()) {
    const Instruction &inst = prog.instructions[pc];
    fetchDesc = fmt::format("; fetch: stopped at #{} ({})", pc,
                            mnemonic(inst.opcode, inst.funct));
    if (blockedOnQueue >= 0)
      fetchDesc += fmt::format(", {} queue full",
                               queueName(static_cast<Queue>(blockedOnQueue)));
    if (!blamed)
      blamePc = pc;
  }
  if (!blamed)
    headline = "no instruction can make progress";
  return fmt::format("{}; deadlock at cycle {}; queue heads: {}{}", headline,
                     fetchTime, heads, fetchDesc);
}

RunStatus Simulator::Impl::run() {
  if (!loaded) {
    fail(0, "no program loaded");
    return status;
  }
  if (halted)
    return status;
  auto t0 = std::chrono::steady_clock::now();
  status = RunStatus::Finished;
  while (true) {
    uint64_t best = UINT64_MAX;
    int who = -1;
    for (unsigned q = 0; q < kNumQueues; ++q) {
      uint64_t t;
      if (headReady(q, t) && t < best) {
        best = t;
        who = int(q);
      }
    }
    bool canFetch = fetchReady();
    if (error.set)
      break;
    if (canFetch && fetchTime <= best) {
      // Run the control stage ahead while it stays earliest; a dispatch can
      // create a new queue candidate, so re-evaluate after each one.
      bool stop = false;
      do {
        if (fetched >= opts.maxInstructions) {
          status = RunStatus::InstructionLimit;
          stop = true;
          break;
        }
        if (fetchTime > opts.maxCycles) {
          status = RunStatus::CycleLimit;
          stop = true;
          break;
        }
        Opcode op = prog.instructions[pc].opcode;
        if (!fetchOne() || halted) {
          stop = true;
          break;
        }
        if (queueIndex(op) < kNumQueues)
          break;
      } while (fetchTime <= best && fetchReady());
      if (stop || error.set)
        break;
      continue;
    }
    if (who >= 0) {
      if (best > opts.maxCycles) {
        status = RunStatus::CycleLimit;
        break;
      }
      if (!processHead(unsigned(who), best))
        break;
      continue;
    }
    uint64_t blame = pc;
    std::string msg = deadlockMessage(blame);
    fail(blame, msg);
    break;
  }
  if (error.set)
    status = RunStatus::Error;
  if (!halted)
    endCycle = std::max(endCycle, fetchTime);
  wallSeconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return status;
}

//===----------------------------------------------------------------------===//
// Public wrapper
//===----------------------------------------------------------------------===//

Simulator::Simulator(const Config &config, Host *host, RunOptions options)
    : impl(std::make_unique<Impl>(config, host, options)) {}
Simulator::~Simulator() = default;

bool Simulator::load(const Program &program, std::string &err) {
  return impl->load(program, err);
}
void Simulator::setOptions(const RunOptions &options) { impl->opts = options; }
RunStatus Simulator::run() { return impl->run(); }
const SimError &Simulator::error() const { return impl->error; }
std::string Simulator::errorString() const {
  const SimError &e = impl->error;
  return fmt::format("instruction #{} ({}): {}", e.pc, e.mnemonic, e.message);
}
Report Simulator::report() const { return impl->makeReport(); }
std::string Simulator::traceJson() const { return impl->traceJson(); }
uint64_t Simulator::cycle() const { return impl->endCycle; }
Snapshot Simulator::snapshot() const {
  Snapshot s;
  s.fetchCycle = impl->fetchTime;
  for (const ActionCounts &c : impl->phaseCounts)
    s.counts += c;
  s.dramTagBytes = impl->dramTagBytes;
  return s;
}

DramTagBytes &DramTagBytes::operator+=(const DramTagBytes &o) {
  for (unsigned t = 0; t < kNumDramTags; ++t) {
    read[t] += o.read[t];
    write[t] += o.write[t];
  }
  return *this;
}

DramTagBytes DramTagBytes::operator-(const DramTagBytes &o) const {
  DramTagBytes d;
  for (unsigned t = 0; t < kNumDramTags; ++t) {
    d.read[t] = read[t] - o.read[t];
    d.write[t] = write[t] - o.write[t];
  }
  return d;
}
const Config &Simulator::config() const { return impl->cfg; }
int64_t Simulator::reg(unsigned r) const {
  return r < kNumRegisters ? impl->regs[r] : 0;
}
void Simulator::setReg(unsigned r, int64_t value) {
  if (r > 0 && r < kNumRegisters)
    impl->regs[r] = value;
}

bool Simulator::writeDram(uint64_t addr, const void *data, uint64_t bytes,
                          std::string &err) {
  if (addr + bytes < addr || addr + bytes > impl->cfg.dramBytes) {
    err = fmt::format("DRAM write [0x{:x}, +{}) is outside DRAM ({} bytes)",
                      addr, bytes, impl->cfg.dramBytes);
    return false;
  }
  impl->dram.write(addr, data, bytes);
  return true;
}

bool Simulator::readDram(uint64_t addr, void *data, uint64_t bytes,
                         std::string &err) const {
  if (addr + bytes < addr || addr + bytes > impl->cfg.dramBytes) {
    err = fmt::format("DRAM read [0x{:x}, +{}) is outside DRAM ({} bytes)",
                      addr, bytes, impl->cfg.dramBytes);
    return false;
  }
  impl->dram.read(addr, data, bytes);
  return true;
}

namespace {
bool onChipSpan(const Simulator::Impl &impl, uint32_t addr, uint64_t count,
                std::string &err) {
  uint64_t base = addr >= kAccBase ? kAccBase : 0;
  uint64_t size = addr >= kAccBase ? impl.acc.size() : impl.spad.size();
  if (count == 0)
    return true;
  if (addr - base + count > size) {
    err = fmt::format("on-chip range [{}, +{}) is outside the {}", addr, count,
                      base ? "accumulator" : "scratchpad");
    return false;
  }
  return true;
}
} // namespace

bool Simulator::writeOnChip(uint32_t addr, const float *data, uint64_t count,
                            std::string &err) {
  if (!onChipSpan(*impl, addr, count, err))
    return false;
  if (count)
    std::memcpy(impl->chip(addr), data, count * 4);
  return true;
}

bool Simulator::readOnChip(uint32_t addr, float *data, uint64_t count,
                           std::string &err) const {
  if (!onChipSpan(*impl, addr, count, err))
    return false;
  if (count)
    std::memcpy(data, impl->chip(addr), count * 4);
  return true;
}

} // namespace adagp::sim
