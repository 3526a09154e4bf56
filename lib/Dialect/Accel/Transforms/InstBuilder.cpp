//===- InstBuilder.cpp - Instructions from DMA boxes and views ------------===//

#include "Lowering.h"

#include <cstring>

using namespace mlir;

namespace adagp::accel {

DmaBox DmaBox::contiguous(int64_t n) {
  DmaBox box;
  box.dim[0] = {n, 0, 0, 1, 1};
  return box;
}

DmaBox DmaBox::rows(int64_t rows, int64_t cols, int64_t dramRowStride,
                    int64_t chipRowStride) {
  // Rows that are back to back on both sides are one run: the DMA engine
  // pays bursts per row, so short rows would cost a burst each.
  if (dramRowStride == cols && chipRowStride == cols && rows * cols <= 65536)
    return contiguous(rows * cols);
  DmaBox box;
  box.dim[0] = {cols, 0, 0, 1, 1};
  box.dim[1] = {rows, 0, 0, dramRowStride, chipRowStride};
  return box;
}

int64_t DmaBox::numElements() const {
  int64_t n = 1;
  for (const BoxDim &d : dim)
    n *= d.size;
  return n;
}

Operation *InstBuilder::emit(isa::Instruction inst, StringRef target,
                             StringRef tensorClass) {
  inst.phase = phase;
  return createInstruction(b, loc, inst, target, tensorClass);
}

void InstBuilder::dma(bool isLoad, uint64_t dram, int64_t chip,
                      const DmaBox &boxIn, isa::TensorClass cls) {
  using namespace isa;
  // A DMACFG dimension of size 1 never steps: its on-chip stride (and its
  // DRAM stride when it starts at 0) is irrelevant, so it is written as 0
  // and cannot overflow its field.
  DmaBox box = boxIn;
  for (BoxDim &d : llvm::drop_begin(box.dim))
    if (d.size == 1) {
      d.cstride = 0;
      if (d.start == 0)
        d.dstride = 0;
    }
  // All four DMACFG dimensions are written before every DMA so that each
  // DMA is self-contained; --accel-elide-dmacfg removes repeated writes.
  for (unsigned pair = 0; pair < 2; ++pair) {
    DmaCfgFunct f = isLoad ? (pair ? DmaCfgFunct::LoadD34 : DmaCfgFunct::LoadD12)
                           : (pair ? DmaCfgFunct::StoreD34
                                   : DmaCfgFunct::StoreD12);
    Instruction cfg = makeInstruction(Opcode::DmaCfg, uint8_t(f));
    const BoxDim &a = box.dim[1 + 2 * pair], &b2 = box.dim[2 + 2 * pair];
    cfg.set(dmacfg::SizeA, a.size)
        .set(dmacfg::StartA, a.start)
        .set(dmacfg::ExtentA, a.extent)
        .set(dmacfg::DramStrideA, a.dstride)
        .set(dmacfg::ChipStrideA, a.cstride)
        .set(dmacfg::SizeB, b2.size)
        .set(dmacfg::StartB, b2.start)
        .set(dmacfg::ExtentB, b2.extent)
        .set(dmacfg::DramStrideB, b2.dstride)
        .set(dmacfg::ChipStrideB, b2.cstride);
    emit(cfg);
  }
  Instruction inst = makeInstruction(isLoad ? Opcode::Load : Opcode::Store);
  const BoxDim &d0 = box.dim[0];
  inst.set(dma::DramAddr, int64_t(dram))
      .set(dma::ChipAddr, chip)
      .set(dma::Size, d0.size)
      .set(dma::Start, d0.start)
      .set(dma::Extent, d0.extent)
      .set(dma::DramStride, d0.dstride)
      .set(dma::ChipStride, d0.cstride)
      .setF32(dma::Pad, box.pad);
  emit(inst, {}, tensorClassName(cls));
}

void InstBuilder::load(uint64_t dram, int64_t chip, const DmaBox &box,
                       isa::TensorClass cls) {
  dma(true, dram, chip, box, cls);
}

void InstBuilder::store(uint64_t dram, int64_t chip, const DmaBox &box,
                        isa::TensorClass cls) {
  dma(false, dram, chip, box, cls);
}

void InstBuilder::gemm(const Gemm &g) {
  using namespace isa;
  Instruction inst = makeInstruction(Opcode::Gemm);
  inst.set(gemm::TransA, g.ta)
      .set(gemm::TransB, g.tb)
      .set(gemm::TransC, g.tc)
      .set(gemm::Accumulate, g.acc)
      .set(gemm::KeepWeights, g.keep)
      .set(gemm::A, g.a)
      .set(gemm::Lda, g.lda)
      .set(gemm::B, g.b)
      .set(gemm::Ldb, g.ldb)
      .set(gemm::C, g.c)
      .set(gemm::Ldc, g.ldc)
      .set(gemm::M, g.m)
      .set(gemm::K, g.k)
      .set(gemm::N, g.n);
  emit(inst);
}

void InstBuilder::vec(isa::VecFunct f, int64_t rows, int64_t cols, View d,
                      View a, View b2, float imm) {
  using namespace isa;
  Instruction inst = makeInstruction(Opcode::Vec, uint8_t(f));
  inst.set(vec::Rows, rows)
      .set(vec::Cols, cols)
      .set(vec::D, d.addr)
      .set(vec::DRowStride, d.rs)
      .set(vec::DColStride, d.cs)
      .set(vec::A, a.addr)
      .set(vec::ARowStride, a.rs)
      .set(vec::AColStride, a.cs)
      .set(vec::B, b2.addr)
      .set(vec::BRowStride, b2.rs)
      .set(vec::BColStride, b2.cs)
      .setF32(vec::Imm, imm);
  emit(inst);
}

void InstBuilder::vecFlat(isa::VecFunct f, int64_t n, int64_t d, int64_t a,
                          int64_t b2, float imm) {
  // Rows of up to 4096 elements keep both counts within 16 bits for any
  // tile that fits on chip.
  const int64_t width = 4096;
  int64_t done = 0;
  while (done < n) {
    int64_t rem = n - done;
    int64_t cols = std::min(rem, width);
    int64_t rows = std::min<int64_t>(rem / cols, 65536);
    View vd{d + done, cols, 1};
    View va{a < 0 ? 0 : a + done, cols, a < 0 ? 0 : 1};
    View vb{b2 < 0 ? 0 : b2 + done, cols, b2 < 0 ? 0 : 1};
    if (a < 0)
      va = View{0, 0, 0};
    if (b2 < 0)
      vb = View{0, 0, 0};
    vec(f, rows, cols, vd, va, vb, imm);
    done += rows * cols;
  }
}

void InstBuilder::fill(int64_t rows, int64_t cols, View d, float value) {
  vec(isa::VecFunct::Fill, rows, cols, d, View{0, 0, 0}, View{0, 0, 0},
      value);
}

void InstBuilder::sopi(isa::ScalarFunct f, unsigned rd, unsigned rs1,
                       int64_t imm) {
  isa::Instruction inst = isa::makeInstruction(isa::Opcode::Sopi, uint8_t(f));
  inst.set(isa::sopi::Rd, rd).set(isa::sopi::Rs1, rs1).set(isa::sopi::Imm,
                                                            imm);
  emit(inst);
}

void InstBuilder::sopiF(isa::ScalarFunct f, unsigned rd, unsigned rs1,
                        double imm) {
  int64_t bits;
  std::memcpy(&bits, &imm, 8);
  sopi(f, rd, rs1, bits);
}

void InstBuilder::sop(isa::ScalarFunct f, unsigned rd, unsigned rs1,
                      unsigned rs2) {
  isa::Instruction inst = isa::makeInstruction(isa::Opcode::Sop, uint8_t(f));
  inst.set(isa::sop::Rd, rd).set(isa::sop::Rs1, rs1).set(isa::sop::Rs2, rs2);
  emit(inst);
}

void InstBuilder::sld(isa::SMemFunct f, unsigned r, int64_t addr) {
  isa::Instruction inst = isa::makeInstruction(isa::Opcode::Sld, uint8_t(f));
  inst.set(isa::smem::Reg, r).set(isa::smem::Addr, addr);
  emit(inst);
}

void InstBuilder::sst(isa::SMemFunct f, unsigned r, int64_t addr) {
  isa::Instruction inst = isa::makeInstruction(isa::Opcode::Sst, uint8_t(f));
  inst.set(isa::smem::Reg, r).set(isa::smem::Addr, addr);
  emit(inst);
}

} // namespace adagp::accel
