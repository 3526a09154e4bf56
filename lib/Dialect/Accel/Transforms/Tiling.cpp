//===- Tiling.cpp - Span sizes of implicit GEMMs from the config ---------===//
//
// A matrix product is cut into blocks (m x k x n units) whose operand tiles
// are double-buffered in the scratchpad and whose result tile is
// double-buffered in the accumulator. Among the blocks that fit, the one
// with the lowest estimated time wins; the estimate follows the simulator's
// cost formulas (docs/sim.md): every DMA pays the DRAM latency and its bytes
// over the bandwidth (rounded up to bursts), every GEMM fills, streams and
// drains the array, and the three queues overlap.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace adagp::accel {


namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Limits from the instruction fields: GEMM and vector row counts, DMA and
/// GEMM leading dimensions, on-chip DMA strides (20-bit signed).
constexpr int64_t kMaxTileRows = 65536;
constexpr int64_t kMaxTileElems = (int64_t(1) << 19) - 1;

int64_t numBlocks(int64_t units, int64_t block, int64_t group) {
  if (group <= 0 || block > group)
    return ceilDiv(units, block);
  return (units / group) * ceilDiv(group, block);
}

/// Candidate block sizes along one dimension.
std::vector<int64_t> candidates(int64_t units, int64_t group, int64_t dim) {
  std::set<int64_t> c;
  auto add = [&](int64_t v) {
    if (v < 1 || v > units)
      return;
    if (group > 0 && v > group && v % group != 0)
      return;
    c.insert(v);
  };
  for (int64_t v = 1; v <= units; v *= 2)
    add(v);
  for (int64_t v = dim; v <= units && v <= 64 * dim; v += dim)
    add(v);
  add(units);
  if (group > 0) {
    for (int64_t g = 1; g * group <= units; g *= 2)
      add(g * group);
    add(group);
    // Divisors of the group split its rows evenly.
    for (int64_t d = 1; d <= group; ++d)
      if (group % d == 0)
        add(d);
  }
  return {c.begin(), c.end()};
}

struct TileSizes {
  int64_t mt, kt, nt; // elements
};

TileSizes tileSizes(const GemmShape &s, const GemmTile &t) {
  return {std::min(t.m, s.mUnits) * s.mScale,
          std::min(t.k, s.kUnits) * s.kScale,
          std::min(t.n, s.nUnits) * s.nScale};
}

/// DRAM bytes a tile of `elems` elements moves when its rows are `run`
/// contiguous elements: whole bursts per row.
double tileBytes(int64_t elems, int64_t run, const sim::Config &cfg) {
  run = std::max<int64_t>(run, 1);
  double rowBytes = double(run) * 4;
  double burst = cfg.dramBurstBytes;
  double paid = std::ceil(rowBytes / burst) * burst;
  return double(elems) * 4 * std::min(paid / rowBytes, burst / 4.0);
}

} // namespace

bool gemmTileFits(const GemmShape &s, const GemmTile &t,
                                const sim::Config &cfg, std::string &why) {
  TileSizes ts = tileSizes(s, t);
  int64_t a = ts.mt * ts.kt, b = ts.kt * ts.nt, c = ts.mt * ts.nt;
  int64_t spad = 2 * a + 2 * b + s.spadPerN * ts.nt + s.spadFixed;
  int64_t acc = 2 * c;
  int64_t spadHave = int64_t(cfg.spadElements());
  int64_t accHave = int64_t(cfg.accElements());
  if (spad > spadHave) {
    why = "the scratchpad holds " + std::to_string(spadHave * 4) +
          " bytes but the smallest double-buffered operand tiles need " +
          std::to_string(spad * 4) + " (short by " +
          std::to_string((spad - spadHave) * 4) + " bytes)";
    return false;
  }
  if (acc > accHave) {
    why = "the accumulator holds " + std::to_string(accHave * 4) +
          " bytes but the smallest double-buffered result tile needs " +
          std::to_string(acc * 4) + " (short by " +
          std::to_string((acc - accHave) * 4) + " bytes)";
    return false;
  }
  if (ts.mt > kMaxTileRows || ts.nt > kMaxTileRows || ts.kt > kMaxTileRows ||
      a > kMaxTileElems || b > kMaxTileElems || c > kMaxTileElems) {
    why = "a tile exceeds the instruction fields' limits";
    return false;
  }
  return true;
}

bool chooseGemmTile(const GemmShape &s, const sim::Config &cfg,
                                  GemmTile &best, std::string &why) {
  const int64_t dim = cfg.arrayDim;
  const double lat = cfg.dramLatencyCycles, bw = cfg.dramBytesPerCycle;
  bool found = false;
  std::string lastWhy;
  auto choices = [&](int64_t units, int64_t group,
                     bool whole) -> std::vector<int64_t> {
    if (whole)
      return {units};
    return candidates(units, group, dim);
  };
  for (int64_t m : choices(s.mUnits, s.mGroup, s.wholeM)) {
    for (int64_t n : choices(s.nUnits, 0, s.wholeN)) {
      for (int64_t k : choices(s.kUnits, s.kGroup, s.wholeK)) {
        for (bool swap : {false, true}) {
          if (swap && !s.allowSwap)
            continue;
          GemmTile t{m, k, n, swap, 0};
          std::string w;
          if (!gemmTileFits(s, t, cfg, w)) {
            // Candidates ascend, so the first failure is the smallest tile:
            // what the error reports when none fits.
            if (lastWhy.empty())
              lastWhy = w;
            continue;
          }
          TileSizes ts = tileSizes(s, t);
          double mB = double(numBlocks(s.mUnits, m, s.mGroup));
          double kB = double(numBlocks(s.kUnits, k, s.kGroup));
          double nB = double(ceilDiv(s.nUnits, n));
          double tiles = mB * kB * nB;
          // A rows are contiguous along k: one element per k unit per
          // filter tap (channels of an im2col row), or per column.
          int64_t runA = std::max<int64_t>(1, ts.kt / s.kScale);
          int64_t runB = ts.nt;
          double aBytes = tileBytes(ts.mt * ts.kt, runA, cfg) *
                          (s.aBytesPerElement / 4.0);
          double bBytes = tileBytes(ts.kt * ts.nt, runB, cfg) *
                          (s.bBytesPerElement / 4.0);
          double cBytes = double(ts.mt * ts.nt) * 4;
          double load =
              tiles * ((s.aDmas + s.bDmas) * lat + (aBytes + bBytes) / bw);
          double store = mB * nB * (lat + cBytes / bw);
          double channel = (tiles * (aBytes + bBytes) + mB * nB * cBytes) / bw;
          double gemms, each;
          if (!swap) {
            gemms = double(ceilDiv(ts.kt, dim) * ceilDiv(ts.nt, dim));
            each = 2.0 * dim + double(ts.mt);
          } else {
            gemms = double(ceilDiv(ts.kt, dim) * ceilDiv(ts.mt, dim));
            each = 2.0 * dim + double(ts.nt);
          }
          double exec = tiles * gemms * each +
                        mB * nB *
                            (cfg.vectorStartupCycles +
                             double(ts.mt * ts.nt) / cfg.vectorLanes);
          // Instructions cost the control core a cycle each (and DMAs two
          // DMACFGs): a tiny tie-breaker towards fewer, larger tiles.
          double instructions = tiles * (gemms + 3 * (s.aDmas + s.bDmas));
          double cost = std::max({load, store, channel, exec}) +
                        2 * lat + instructions * cfg.scalarCyclesPerInstruction;
          t.cost = cost;
          if (!found || cost < best.cost) {
            best = t;
            found = true;
          }
        }
      }
    }
  }
  if (!found)
    why = lastWhy;
  return found;
}

std::vector<Span> makeBlocks(int64_t units, int64_t block,
                                            int64_t group) {
  std::vector<Span> out;
  block = std::max<int64_t>(block, 1);
  if (group <= 0 || block > group) {
    for (int64_t b = 0; b < units; b += block)
      out.push_back({b, std::min(block, units - b)});
    return out;
  }
  for (int64_t g = 0; g < units; g += group)
    for (int64_t b = g; b < std::min(g + group, units); b += block)
      out.push_back({b, std::min(block, std::min(g + group, units) - b)});
  return out;
}

int64_t convGroupsPerBlock(const ConvGeometry &g, int64_t dim) {
  int64_t widest = std::max(g.cg(), g.og());
  return std::max<int64_t>(1, std::min(g.groups, dim / widest));
}

ConvGeometry convGroupBlock(const ConvGeometry &g, int64_t groups) {
  ConvGeometry b = g;
  b.c = g.cg() * groups;
  b.o = g.og() * groups;
  b.groups = groups;
  return b;
}

GemmShape convForwardShape(const ConvGeometry &g) {
  GemmShape s;
  s.wholeK = s.wholeN = g.groups > 1;
  s.mUnits = g.n * g.oh;
  s.mScale = g.ow;
  s.mGroup = g.oh;
  s.kUnits = g.c;
  s.kScale = g.taps();
  s.nUnits = g.o;
  s.aDmas = g.taps();
  s.bDmas = 1;
  s.spadPerN = 1; // the bias slice
  return s;
}

GemmShape convInputGradShape(const ConvGeometry &g) {
  GemmShape s;
  s.wholeK = s.wholeN = g.groups > 1;
  int64_t ph = (g.h + g.sh - 1) / g.sh, pw = (g.w + g.sw - 1) / g.sw;
  int64_t th = (g.kh + g.sh - 1) / g.sh, tw = (g.kw + g.sw - 1) / g.sw;
  s.mUnits = g.n * ph;
  s.mScale = pw;
  s.mGroup = ph;
  s.kUnits = g.o;
  s.kScale = th * tw;
  s.nUnits = g.c;
  s.aDmas = th * tw;
  s.bDmas = 1;
  s.spadFixed = 0;
  return s;
}

GemmShape convFilterGradShape(const ConvGeometry &g) {
  GemmShape s;
  // Only the diagonal blocks of the result are stored.
  s.wholeM = s.wholeN = g.groups > 1;
  s.mUnits = g.c;
  s.mScale = g.taps();
  s.kUnits = g.n * g.oh;
  s.kScale = g.ow;
  s.kGroup = g.oh;
  s.nUnits = g.o;
  s.aDmas = g.taps();
  s.bDmas = 1;
  return s;
}

GemmShape matmulShape(int64_t m, int64_t k, int64_t n) {
  GemmShape s;
  s.mUnits = m;
  s.kUnits = k;
  s.nUnits = n;
  s.aDmas = 1;
  s.bDmas = 1;
  s.spadPerN = 1;
  return s;
}

} // namespace adagp::accel
