//===- GemmEngine.cpp - Tiled matrix products on the systolic array -------===//
//
// The loop nest every matrix product and convolution lowers to:
//
//   for each n-block, m-block:                    C block -> accumulator buffer
//     for each k-block:                           (alternating 0/1)
//       A tile -> scratchpad buffer (alternating)   loadA callback
//       B tile -> scratchpad buffer (alternating)   loadB callback
//       GEMMs over DIM x DIM pieces of the tiles, accumulating into C
//     epilogue and store                          storeC callback
//
// The buffers alternate, so once --accel-insert-tokens orders each load
// after the last GEMM that read its buffer, the next tile loads while the
// array works on the current one.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;

namespace adagp::accel {

LogicalResult emitGemm(InstBuilder &ib, const GemmProblem &p,
                                     const sim::Config &cfg, Operation *op) {
  const GemmShape &s = p.shape;
  const GemmTile &t = p.tile;
  std::string why;
  if (!gemmTileFits(s, t, cfg, why))
    return op->emitError("tile {m = ")
           << t.m << ", k = " << t.k << ", n = " << t.n
           << "} does not fit: " << why;
  const int64_t dim = cfg.arrayDim;
  std::vector<Span> mBlocks = makeBlocks(s.mUnits, t.m, s.mGroup);
  std::vector<Span> kBlocks = makeBlocks(s.kUnits, t.k, s.kGroup);
  std::vector<Span> nBlocks = makeBlocks(s.nUnits, t.n, 0);
  int64_t mtMax = std::min(t.m, s.mUnits) * s.mScale;
  int64_t ktMax = std::min(t.k, s.kUnits) * s.kScale;
  int64_t ntMax = std::min(t.n, s.nUnits) * s.nScale;
  int64_t aSize = mtMax * ktMax, bSize = ktMax * ntMax, cSize = mtMax * ntMax;
  const int64_t aBuf[2] = {0, aSize};
  const int64_t bBuf[2] = {2 * aSize, 2 * aSize + bSize};
  const int64_t scratch = 2 * aSize + 2 * bSize;
  const int64_t cBuf[2] = {int64_t(isa::kAccBase),
                           int64_t(isa::kAccBase) + cSize};
  if (p.initB)
    for (int64_t buf : bBuf)
      p.initB(ib, buf, bSize);
  unsigned tileIndex = 0, cIndex = 0;
  for (const Span &nb : nBlocks) {
    for (const Span &mb : mBlocks) {
      int64_t mt = mb.size * s.mScale, nt = nb.size * s.nScale;
      int64_t cAddr = cBuf[cIndex++ % 2], ldc = nt;
      bool firstK = true;
      for (const Span &kb : kBlocks) {
        int64_t kt = kb.size * s.kScale;
        int64_t aAddr = aBuf[tileIndex % 2], bAddr = bBuf[tileIndex % 2];
        ++tileIndex;
        int64_t lda = p.kMajorA ? mt : kt;
        int64_t ldb = p.nMajorB ? kt : nt;
        p.loadA(ib, mb, kb, aAddr, lda);
        p.loadB(ib, kb, nb, bAddr, ldb);
        InstBuilder::Gemm g;
        if (!t.swap) {
          for (int64_t n0 = 0; n0 < nt; n0 += dim) {
            for (int64_t k0 = 0; k0 < kt; k0 += dim) {
              g.m = mt;
              g.k = std::min(dim, kt - k0);
              g.n = std::min(dim, nt - n0);
              g.ta = p.kMajorA;
              g.a = aAddr + (p.kMajorA ? k0 * lda : k0);
              g.lda = lda;
              g.tb = p.nMajorB;
              g.b = bAddr + (p.nMajorB ? n0 * ldb + k0 : k0 * ldb + n0);
              g.ldb = ldb;
              g.tc = false;
              g.c = cAddr + n0;
              g.ldc = ldc;
              g.acc = !(firstK && k0 == 0);
              ib.gemm(g);
            }
          }
        } else {
          // C^T = B^T A^T: the n side streams through the array and DIM x
          // DIM pieces of A^T stay in it; C is written transposed back into
          // the same [m][n] accumulator tile.
          for (int64_t m0 = 0; m0 < mt; m0 += dim) {
            for (int64_t k0 = 0; k0 < kt; k0 += dim) {
              g.m = nt;
              g.k = std::min(dim, kt - k0);
              g.n = std::min(dim, mt - m0);
              g.ta = !p.nMajorB;
              g.a = bAddr + (p.nMajorB ? k0 : k0 * ldb);
              g.lda = ldb;
              g.tb = !p.kMajorA;
              g.b = aAddr + (p.kMajorA ? k0 * lda + m0 : m0 * lda + k0);
              g.ldb = lda;
              g.tc = true;
              g.c = cAddr + m0 * ldc;
              g.ldc = ldc;
              g.acc = !(firstK && k0 == 0);
              ib.gemm(g);
            }
          }
        }
        firstK = false;
      }
      p.storeC(ib, mb, nb, cAddr, ldc, scratch);
    }
  }
  return success();
}

} // namespace adagp::accel
