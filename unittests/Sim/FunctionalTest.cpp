//===- FunctionalTest.cpp - Each queue instruction against a reference ----===//
//
// Every reference below is a plain loop written from the formulas in
// docs/isa.md, in the same fp32 operation order, so results must match bit
// for bit.
//
//===----------------------------------------------------------------------===//

#include "SimTestUtil.h"

#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <sstream>

using namespace adagp;
using namespace adagp::sim;
using namespace adagp::sim::test;
using isa::kAccBase;

namespace {

std::vector<float> run1(const std::string &body,
                        const std::function<void(Simulator &)> &setup,
                        uint32_t readAddr, size_t readCount,
                        Config cfg = defaultConfig()) {
  auto sim = makeSim(body + "\n finish\n", cfg);
  setup(*sim);
  RunStatus s = sim->run();
  EXPECT_EQ(s, RunStatus::Finished) << sim->errorString();
  return getChip(*sim, readAddr, readCount);
}

} // namespace

//===----------------------------------------------------------------------===//
// DMA
//===----------------------------------------------------------------------===//

TEST(Functional, LoadStridedBoxWithPaddingAndFiveDims) {
  // X[3][4][5][6] contiguous at 0x1000.
  std::mt19937 rng(1);
  std::vector<float> x = randomFloats(3 * 4 * 5 * 6, rng);
  auto sim = makeSim(R"(
    dmacfg.load.d12 size_a=7 start_a=-1 extent_a=5 dstride_a=6 cstride_a=8 size_b=2 start_b=3 extent_b=4 dstride_b=30 cstride_b=56
    dmacfg.load.d34 size_a=2 start_a=2 extent_a=3 dstride_a=120 cstride_a=112 size_b=2 dstride_b=0 cstride_b=224
    load dram=0x1000 chip=0x10 size=8 start=-1 extent=6 dstride=1 cstride=1 pad=0.5
    finish
  )");
  putDram(*sim, 0x1000, x);
  runOk(*sim);
  std::vector<float> got = getChip(*sim, 0x10, 448);
  std::vector<float> ref(448, 0.0f);
  for (int i4 = 0; i4 < 2; ++i4)
    for (int i3 = 0; i3 < 2; ++i3)
      for (int i2 = 0; i2 < 2; ++i2)
        for (int i1 = 0; i1 < 7; ++i1)
          for (int i0 = 0; i0 < 8; ++i0) {
            int a = 2 + i3, b = 3 + i2, c = -1 + i1, d = -1 + i0;
            bool ok = a >= 0 && a < 3 && b >= 0 && b < 4 && c >= 0 && c < 5 &&
                      d >= 0 && d < 6;
            // dim 4 has stride 0 in DRAM: both copies read the same data.
            ref[i4 * 224 + i3 * 112 + i2 * 56 + i1 * 8 + i0] =
                ok ? x[((a * 4 + b) * 5 + c) * 6 + d] : 0.5f;
          }
  EXPECT_FLOATS_IDENTICAL(ref, got);
}

TEST(Functional, TransposedLoadAndClippedStore) {
  // Load the 5x3 matrix at 0x2000 transposed into SPAD, then store a 4x4 box
  // starting at (-1, 0) of a 3x5 destination: out-of-range rows are skipped.
  std::mt19937 rng(2);
  std::vector<float> m = randomFloats(15, rng);
  auto sim = makeSim(R"(
    dmacfg.load.d12 size_a=3 dstride_a=1 cstride_a=5
    load dram=0x2000 chip=0 size=5 dstride=3 cstride=1 deps=push_next
    vec.copy rows=1 cols=1 d=100 a=0 deps=pop_prev|push_next
    dmacfg.store.d12 size_a=4 start_a=-1 extent_a=3 dstride_a=5 cstride_a=5
    store dram=0x3000 chip=0 size=4 extent=5 dstride=1 cstride=1 deps=pop_prev
    finish
  )");
  putDram(*sim, 0x2000, m);
  putDram(*sim, 0x3000, std::vector<float>(15, 9.0f));
  runOk(*sim);
  std::vector<float> t = getChip(*sim, 0, 20);
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 3; ++c)
      ASSERT_EQ(t[c * 5 + r], m[r * 3 + c]);
  std::vector<float> out = getDram(*sim, 0x3000, 15);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) {
      // Destination row r came from box row r+1 (start -1), columns < 4.
      float expect = c < 4 ? t[(r + 1) * 5 + c] : 9.0f;
      ASSERT_EQ(out[r * 5 + c], expect) << r << "," << c;
    }
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

namespace {

void checkGemm(bool ta, bool tb, bool tc, bool acc, bool bf16) {
  const int M = 37, K = 13, N = 11;
  const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2,
            ldc = (tc ? M : N) + 1;
  std::mt19937 rng(ta * 8 + tb * 4 + tc * 2 + acc + 16 * bf16);
  std::vector<float> A = randomFloats(size_t((ta ? K : M) * lda), rng);
  std::vector<float> B = randomFloats(size_t((tb ? N : K) * ldb), rng);
  std::vector<float> C0 = randomFloats(size_t((tc ? N : M) * ldc), rng);
  Config cfg = defaultConfig();
  if (bf16)
    cfg.arrayDType = ArrayDType::BF16;
  const uint32_t aAddr = 0, bAddr = 0x1000, cAddr = kAccBase + 0x40;
  std::string prog = fmt::format(
      "gemm a={} lda={} b={} ldb={} c={} ldc={} m={} k={} n={} ta={} tb={} "
      "tc={} acc={}",
      aAddr, lda, bAddr, ldb, cAddr, ldc, M, K, N, int(ta), int(tb), int(tc),
      int(acc));
  std::vector<float> got = run1(
      prog,
      [&](Simulator &s) {
        putChip(s, aAddr, A);
        putChip(s, bAddr, B);
        putChip(s, cAddr, C0);
      },
      cAddr, C0.size(), cfg);
  auto rnd = [&](float v) { return bf16 ? roundToBf16(v) : v; };
  std::vector<float> ref = C0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      float psum = 0.0f;
      for (int k = 0; k < K; ++k) {
        float a = ta ? A[k * lda + m] : A[m * lda + k];
        float b = tb ? B[n * ldb + k] : B[k * ldb + n];
        psum += rnd(a) * rnd(b);
      }
      float &c = tc ? ref[n * ldc + m] : ref[m * ldc + n];
      c = acc ? c + psum : psum;
    }
  EXPECT_FLOATS_IDENTICAL(ref, got);
}

} // namespace

TEST(Functional, GemmAllTransposeAndAccumulateCombinations) {
  for (int bits = 0; bits < 16; ++bits) {
    SCOPED_TRACE(bits);
    checkGemm(bits & 1, bits & 2, bits & 4, bits & 8, false);
  }
}

TEST(Functional, GemmBf16InputsFp32Accumulation) {
  checkGemm(false, false, false, true, true);
  checkGemm(true, true, false, false, true);
}

TEST(Functional, GemmKeepWeightsUsesPreloadedArray) {
  // The second GEMM keeps the weights although B in SPAD was overwritten in
  // between: the array, not the scratchpad, holds them.
  const int M = 4, K = 3, N = 2;
  std::mt19937 rng(5);
  std::vector<float> A = randomFloats(M * K, rng), B = randomFloats(K * N, rng);
  std::vector<float> got = run1(
      R"(gemm a=0 lda=3 b=0x100 ldb=2 c=ACC ldc=2 m=4 k=3 n=2
         vec.fill rows=1 cols=6 d=0x100 imm=100
         gemm a=0 lda=3 c=ACC+8 ldc=2 m=4 k=3 n=2 keep=1)",
      [&](Simulator &s) {
        putChip(s, 0, A);
        putChip(s, 0x100, B);
      },
      kAccBase, 16);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      float psum = 0.0f;
      for (int k = 0; k < K; ++k)
        psum += A[m * K + k] * B[k * N + n];
      ASSERT_EQ(got[m * N + n], psum);
      ASSERT_EQ(got[8 + m * N + n], psum);
    }
}

//===----------------------------------------------------------------------===//
// Vector unit
//===----------------------------------------------------------------------===//

namespace {

struct ElementwiseCase {
  const char *name;
  std::function<float(float a, float b, float d, float imm)> ref;
  float lo = -2.0f, hi = 2.0f; // input range of A
};

float gelu(float x) {
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}

} // namespace

TEST(Functional, EveryElementwiseVectorOp) {
  using std::max;
  using std::min;
  const float nan = std::nanf("");
  (void)nan;
  std::vector<ElementwiseCase> cases = {
      {"copy", [](float a, float, float, float) { return a; }},
      {"relu", [](float a, float, float, float) { return a > 0 ? a : 0.0f; }},
      {"lrelu", [](float a, float, float, float i) { return a > 0 ? a : i * a; }},
      {"sigmoid",
       [](float a, float, float, float) { return 1.0f / (1.0f + std::exp(-a)); }},
      {"tanh", [](float a, float, float, float) { return std::tanh(a); }},
      {"exp", [](float a, float, float, float) { return std::exp(a); }},
      {"log", [](float a, float, float, float) { return std::log(a); }, 0.1f, 3.0f},
      {"sqrt", [](float a, float, float, float) { return std::sqrt(a); }, 0.1f, 3.0f},
      {"rsqrt", [](float a, float, float, float) { return 1.0f / std::sqrt(a); },
       0.1f, 3.0f},
      {"recip", [](float a, float, float, float) { return 1.0f / a; }, 0.5f, 3.0f},
      {"abs", [](float a, float, float, float) { return std::fabs(a); }},
      {"neg", [](float a, float, float, float) { return -a; }},
      {"square", [](float a, float, float, float) { return a * a; }},
      {"gelu", [](float a, float, float, float) { return gelu(a); }},
      {"erf", [](float a, float, float, float) { return std::erf(a); }},
      {"step", [](float a, float, float, float) { return a > 0 ? 1.0f : 0.0f; }},
      {"bf16", [](float a, float, float, float) { return roundToBf16(a); }},
      {"fill", [](float, float, float, float i) { return i; }},
      {"addi", [](float a, float, float, float i) { return a + i; }},
      {"muli", [](float a, float, float, float i) { return a * i; }},
      {"maxi", [](float a, float, float, float i) { return max(a, i); }},
      {"mini", [](float a, float, float, float i) { return min(a, i); }},
      {"clipi", [](float a, float, float, float i) { return min(max(a, -i), i); }},
      {"add", [](float a, float b, float, float) { return a + b; }},
      {"sub", [](float a, float b, float, float) { return a - b; }},
      {"mul", [](float a, float b, float, float) { return a * b; }},
      {"div", [](float a, float b, float, float) { return a / b; }},
      {"max", [](float a, float b, float, float) { return max(a, b); }},
      {"min", [](float a, float b, float, float) { return min(a, b); }},
      {"axpy", [](float a, float b, float, float i) { return a * i + b; }},
      {"fma", [](float a, float b, float d, float) { return d + a * b; }},
      {"select",
       [](float a, float b, float d, float) { return a != 0.0f ? b : d; }},
      {"cmpgt", [](float a, float b, float, float) { return a > b ? 1.0f : 0.0f; }},
      {"cmpge", [](float a, float b, float, float) { return a >= b ? 1.0f : 0.0f; }},
      {"cmpeq", [](float a, float b, float, float) { return a == b ? 1.0f : 0.0f; }},
      {"relu_grad", [](float a, float b, float, float) { return a > 0 ? b : 0.0f; }},
      {"lrelu_grad",
       [](float a, float b, float, float i) { return a > 0 ? b : i * b; }},
      {"sigmoid_grad",
       [](float a, float b, float, float) { return b * (a * (1.0f - a)); }},
      {"tanh_grad", [](float a, float b, float, float) { return b * (1.0f - a * a); }},
      {"gelu_grad",
       [](float a, float b, float, float) {
         float cdf = 0.5f * (1.0f + std::erf(a * 0.70710678118654752f));
         float pdf = std::exp(-0.5f * a * a) * 0.39894228040143268f;
         return b * (cdf + a * pdf);
       }},
  };
  const int R = 5, C = 7;
  // A: row stride 9; B: broadcast row (row stride 0); D: row stride 8 in ACC.
  const uint32_t a = 0, b = 0x100, d = kAccBase + 0x10;
  for (const ElementwiseCase &tc : cases) {
    SCOPED_TRACE(tc.name);
    std::mt19937 rng(11);
    std::vector<float> A = randomFloats(R * 9, rng, tc.lo, tc.hi);
    if (std::string(tc.name) == "select")
      for (size_t i = 0; i < A.size(); i += 3)
        A[i] = 0.0f;
    std::vector<float> B = randomFloats(C, rng, 0.5f, 2.0f);
    if (std::string(tc.name).rfind("cmp", 0) == 0)
      A[2] = B[2]; // exercise equality
    std::vector<float> D0 = randomFloats(R * 8, rng);
    const float imm = 0.75f;
    std::string prog = fmt::format(
        "vec.{} rows={} cols={} d={} d_rs=8 d_cs=1 a={} a_rs=9 a_cs=1 b={} "
        "b_rs=0 b_cs=1 imm={}",
        tc.name, R, C, d, a, b, imm);
    std::vector<float> got = run1(
        prog,
        [&](Simulator &s) {
          putChip(s, a, A);
          putChip(s, b, B);
          putChip(s, d, D0);
        },
        d, D0.size());
    std::vector<float> ref = D0;
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c)
        ref[r * 8 + c] = tc.ref(A[r * 9 + c], B[c], D0[r * 8 + c], imm);
    EXPECT_FLOATS_IDENTICAL(ref, got);
  }
}

TEST(Functional, IntegerConversions) {
  std::vector<float> in(4);
  int32_t ints[4] = {-3, 0, 7, 123456};
  std::memcpy(in.data(), ints, 16);
  std::vector<float> got = run1(
      "vec.i2f rows=1 cols=4 d=0x10 a=0 d_cs=1 a_cs=1\n"
      "vec.f2i rows=1 cols=4 d=0x20 a=0x10 d_cs=1 a_cs=1",
      [&](Simulator &s) { putChip(s, 0, in); }, 0x10, 20);
  EXPECT_EQ(got[0], -3.0f);
  EXPECT_EQ(got[3], 123456.0f);
  int32_t back[4];
  std::memcpy(back, &got[16], 16);
  EXPECT_EQ(back[0], -3);
  EXPECT_EQ(back[3], 123456);
}

TEST(Functional, ReductionsAlongRowsAndColumns) {
  const int R = 6, C = 5;
  std::mt19937 rng(3);
  std::vector<float> A = randomFloats(R * C, rng), B = randomFloats(R * C, rng);
  std::vector<float> D0 = randomFloats(8, rng);
  struct Case {
    const char *name;
    bool col, acc;
  };
  for (Case k : {Case{"colsum", true, false},
                 {"colmax", true, false},
                 {"colsumsq", true, false},
                 {"coldot", true, false},
                 {"colsum_acc", true, true},
                 {"colmax_acc", true, true},
                 {"colsumsq_acc", true, true},
                 {"coldot_acc", true, true},
                 {"rowsum", false, false},
                 {"rowmax", false, false},
                 {"rowsumsq", false, false},
                 {"rowdot", false, false},
                 {"rowsum_acc", false, true},
                 {"rowmax_acc", false, true},
                 {"rowsumsq_acc", false, true},
                 {"rowdot_acc", false, true},
                 {"rowargmax", false, false}}) {
    SCOPED_TRACE(k.name);
    std::string name = k.name;
    std::string prog = fmt::format(
        "vec.{} rows={} cols={} d=0x200 d_rs=1 d_cs=1 a=0 a_rs={} a_cs=1 "
        "b=0x100 b_rs={} b_cs=1",
        k.name, R, C, C, C);
    std::vector<float> got = run1(
        prog,
        [&](Simulator &s) {
          putChip(s, 0, A);
          putChip(s, 0x100, B);
          putChip(s, 0x200, D0);
        },
        0x200, 8);
    std::vector<float> ref = D0;
    int outer = k.col ? C : R, inner = k.col ? R : C;
    for (int o = 0; o < outer; ++o) {
      float r = name.find("max") != std::string::npos ? -INFINITY : 0.0f;
      int arg = 0;
      for (int i = 0; i < inner; ++i) {
        int idx = k.col ? i * C + o : o * C + i;
        float x = A[idx];
        if (name.find("sumsq") != std::string::npos)
          r += x * x;
        else if (name.find("sum") != std::string::npos)
          r += x;
        else if (name.find("dot") != std::string::npos)
          r += x * B[idx];
        else if (name == "rowargmax") {
          if (i == 0 || x > r) {
            r = x;
            arg = i;
          }
        } else
          r = std::max(r, x);
      }
      if (name == "rowargmax")
        ref[o] = float(arg);
      else if (!k.acc)
        ref[o] = r;
      else
        ref[o] = name.find("max") != std::string::npos ? std::max(ref[o], r)
                                                       : ref[o] + r;
    }
    EXPECT_FLOATS_IDENTICAL(ref, got);
  }
}

TEST(Functional, SoftmaxRowsAndAffine) {
  const int R = 3, C = 6;
  std::mt19937 rng(4);
  std::vector<float> A = randomFloats(R * C, rng, -3, 3);
  std::vector<float> SS = randomFloats(2 * 8, rng); // scale row, shift row
  std::vector<float> got = run1(
      "vec.softmax rows=3 cols=6 d=0x100 d_rs=6 d_cs=1 a=0 a_rs=6 a_cs=1\n"
      "vec.affine rows=3 cols=6 d=0x200 d_rs=6 d_cs=1 a=0 a_rs=6 a_cs=1 "
      "b=0x300 b_rs=8 b_cs=1",
      [&](Simulator &s) {
        putChip(s, 0, A);
        putChip(s, 0x300, SS);
      },
      0x100, 0x118);
  for (int r = 0; r < R; ++r) {
    float m = -INFINITY, s = 0.0f, e[C];
    for (int c = 0; c < C; ++c)
      m = std::max(m, A[r * C + c]);
    for (int c = 0; c < C; ++c) {
      e[c] = std::exp(A[r * C + c] - m);
      s += e[c];
    }
    for (int c = 0; c < C; ++c) {
      ASSERT_EQ(got[r * C + c], e[c] / s);
      ASSERT_EQ(got[0x100 + r * C + c], A[r * C + c] * SS[c] + SS[8 + c]);
    }
  }
}

TEST(Functional, BatchNormAsDocumentedComposition) {
  // docs/isa.md: BatchNorm training forward over a [rows=N*H*W][cols=C] tile
  // = colsum/colsumsq statistics, per-channel scale/shift on [1 x C], one
  // affine pass.
  const int R = 10, C = 4;
  std::mt19937 rng(6);
  std::vector<float> X = randomFloats(R * C, rng, -2, 3);
  std::vector<float> gammaBeta = {1.5f, 0.5f,  2.0f, 1.0f,
                                  0.1f, -0.2f, 0.3f, 0.0f};
  std::vector<float> got = run1(R"(
      vec.colsum   rows=10 cols=4 d=0x100 d_cs=1 a=0 a_rs=4 a_cs=1
      vec.colsumsq rows=10 cols=4 d=0x104 d_cs=1 a=0 a_rs=4 a_cs=1
      vec.muli rows=1 cols=8 d=0x100 d_cs=1 a=0x100 a_cs=1 imm=0.1
      vec.mul  rows=1 cols=4 d=0x108 d_cs=1 a=0x100 a_cs=1 b=0x100 b_cs=1
      vec.sub  rows=1 cols=4 d=0x104 d_cs=1 a=0x104 a_cs=1 b=0x108 b_cs=1
      vec.addi rows=1 cols=4 d=0x104 d_cs=1 a=0x104 a_cs=1 imm=1e-5
      vec.rsqrt rows=1 cols=4 d=0x104 d_cs=1 a=0x104 a_cs=1
      vec.mul  rows=1 cols=4 d=0x110 d_cs=1 a=0x104 a_cs=1 b=0x200 b_cs=1
      vec.mul  rows=1 cols=4 d=0x108 d_cs=1 a=0x100 a_cs=1 b=0x110 b_cs=1
      vec.sub  rows=1 cols=4 d=0x114 d_cs=1 a=0x204 a_cs=1 b=0x108 b_cs=1
      vec.affine rows=10 cols=4 d=0x300 d_rs=4 d_cs=1 a=0 a_rs=4 a_cs=1 b=0x110 b_rs=4 b_cs=1
  )",
                                [&](Simulator &s) {
                                  putChip(s, 0, X);
                                  putChip(s, 0x200, gammaBeta);
                                },
                                0x300, R * C);
  for (int c = 0; c < C; ++c) {
    double mean = 0, sq = 0;
    for (int r = 0; r < R; ++r) {
      mean += X[r * C + c];
      sq += double(X[r * C + c]) * X[r * C + c];
    }
    mean /= R;
    double var = sq / R - mean * mean;
    for (int r = 0; r < R; ++r) {
      double y = (X[r * C + c] - mean) / std::sqrt(var + 1e-5) * gammaBeta[c] +
                 gammaBeta[4 + c];
      ASSERT_NEAR(got[r * C + c], y, 1e-4) << r << "," << c;
    }
  }
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

TEST(Functional, PoolingForwardAndBackwardAllModes) {
  const int N = 2, H = 7, W = 6, C = 3, KH = 3, KW = 3, S = 2, P = 1;
  const int OH = (H + 2 * P - KH) / S + 1, OW = (W + 2 * P - KW) / S + 1;
  std::mt19937 rng(8);
  std::vector<float> X = randomFloats(N * H * W * C, rng);
  std::vector<float> DY = randomFloats(N * OH * OW * C, rng);
  auto bigIdx = [&](int n, int h, int w, int c) {
    return ((n * H + h) * W + w) * C + c;
  };
  auto smallIdx = [&](int n, int h, int w, int c) {
    return ((n * OH + h) * OW + w) * C + c;
  };
  for (std::string mode :
       {"max", "avg", "avg_valid", "max_grad", "avg_grad", "avg_valid_grad"}) {
    SCOPED_TRACE(mode);
    bool grad = mode.find("grad") != std::string::npos;
    std::string prog = fmt::format(
        "pool.{} n={} h={} w={} c={} oh={} ow={} kh={} kw={} sh={} sw={} "
        "pt={} pl={} in={} aux=0x1000 out=0x2000",
        mode, N, H, W, C, OH, OW, KH, KW, S, S, P, P, grad ? 0x800 : 0x1000);
    size_t outN = grad ? X.size() : DY.size();
    std::vector<float> got = run1(
        prog,
        [&](Simulator &s) {
          putChip(s, 0x1000, X);
          putChip(s, 0x800, DY);
        },
        0x2000, outN);
    std::vector<float> ref(outN, 0.0f);
    for (int n = 0; n < N; ++n)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow)
          for (int c = 0; c < C; ++c) {
            int valid = 0;
            float m = -INFINITY, s = 0.0f;
            int arg = -1;
            for (int i = 0; i < KH; ++i)
              for (int j = 0; j < KW; ++j) {
                int h = oh * S - P + i, w = ow * S - P + j;
                if (h < 0 || h >= H || w < 0 || w >= W)
                  continue;
                ++valid;
                float x = X[bigIdx(n, h, w, c)];
                s += x;
                if (arg < 0 || x > m) {
                  m = x;
                  arg = bigIdx(n, h, w, c);
                }
              }
            float div = mode.find("valid") != std::string::npos
                            ? float(valid)
                            : float(KH * KW);
            if (mode == "max")
              ref[smallIdx(n, oh, ow, c)] = m;
            else if (!grad)
              ref[smallIdx(n, oh, ow, c)] = s / div;
            else if (mode == "max_grad")
              ref[arg] += DY[smallIdx(n, oh, ow, c)];
            else
              for (int i = 0; i < KH; ++i)
                for (int j = 0; j < KW; ++j) {
                  int h = oh * S - P + i, w = ow * S - P + j;
                  if (h >= 0 && h < H && w >= 0 && w < W)
                    ref[bigIdx(n, h, w, c)] += DY[smallIdx(n, oh, ow, c)] / div;
                }
          }
    if (mode == "max_grad" || !grad) {
      EXPECT_FLOATS_IDENTICAL(ref, got);
    } else {
      // Same terms, possibly summed in another order: allow rounding.
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_NEAR(ref[i], got[i], 1e-6) << i;
    }
  }
}

TEST(Functional, AdaptiveAveragePoolingToFixedSize) {
  // The ADA-GP reorganization: any HxW map to a fixed 3x3.
  const int H = 7, W = 5, C = 2, OH = 3, OW = 3;
  std::mt19937 rng(9);
  std::vector<float> X = randomFloats(H * W * C, rng);
  std::vector<float> got = run1(
      fmt::format("pool.adaptive_avg n=1 h={} w={} c={} oh={} ow={} in=0 "
                  "out=0x100",
                  H, W, C, OH, OW),
      [&](Simulator &s) { putChip(s, 0, X); }, 0x100, OH * OW * C);
  for (int oh = 0; oh < OH; ++oh)
    for (int ow = 0; ow < OW; ++ow)
      for (int c = 0; c < C; ++c) {
        int h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
        int w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        float s = 0.0f;
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w)
            s += X[(h * W + w) * C + c];
        ASSERT_EQ(got[(oh * OW + ow) * C + c],
                  s / float((h1 - h0) * (w1 - w0)));
      }
}

//===----------------------------------------------------------------------===//
// Softmax cross-entropy and optimizers
//===----------------------------------------------------------------------===//

TEST(Functional, SoftmaxCrossEntropyLossAndGradient) {
  const int B = 5, K = 7;
  std::mt19937 rng(10);
  std::vector<float> Z = randomFloats(B * 8, rng, -3, 3);
  int32_t labels[B] = {0, 6, 3, 3, 1};
  std::vector<float> L(B);
  std::memcpy(L.data(), labels, sizeof(labels));
  auto sim = makeSim(R"(
    xent b=5 k=7 logits=0 logits_rs=8 labels=0x100 grad=0x200 grad_rs=7 loss=0x300 scale=0.2
    finish
  )");
  putChip(*sim, 0, Z);
  putChip(*sim, 0x100, L);
  runOk(*sim);
  std::vector<float> g = getChip(*sim, 0x200, B * K);
  std::vector<float> loss = getChip(*sim, 0x300, 2);
  float total = 0.0f, correct = 0.0f;
  for (int b = 0; b < B; ++b) {
    const float *z = &Z[b * 8];
    float m = z[0];
    int arg = 0;
    for (int k = 1; k < K; ++k)
      if (z[k] > m) {
        m = z[k];
        arg = k;
      }
    float s = 0.0f, p[K];
    for (int k = 0; k < K; ++k) {
      p[k] = std::exp(z[k] - m);
      s += p[k];
    }
    total += (m + std::log(s)) - z[labels[b]];
    correct += arg == labels[b] ? 1.0f : 0.0f;
    for (int k = 0; k < K; ++k)
      ASSERT_EQ(g[b * K + k],
                (p[k] / s - (k == labels[b] ? 1.0f : 0.0f)) * 0.2f);
  }
  EXPECT_EQ(loss[0], total / float(B));
  EXPECT_EQ(loss[1], correct);
}

TEST(Functional, CrossEntropyRejectsOutOfRangeLabel) {
  auto sim = makeSim("xent b=2 k=3 logits=0 logits_rs=3 labels=0x10 grad=0x20 "
                     "grad_rs=3 loss=0x30\nfinish\n");
  int32_t labels[2] = {1, 3};
  std::vector<float> L(2);
  std::memcpy(L.data(), labels, 8);
  putChip(*sim, 0x10, L);
  EXPECT_EQ(sim->run(), RunStatus::Error);
  EXPECT_EQ(sim->errorString(),
            "instruction #0 (xent): label 3 of sample 1 is outside [0, 3)");
}

TEST(Functional, OptimizerUpdates) {
  const int n = 40;
  std::mt19937 rng(12);
  std::vector<float> P = randomFloats(n, rng), G = randomFloats(n, rng),
                     M0 = randomFloats(n, rng), V0 = randomFloats(n, rng, 0, 1);
  // lr, beta1/momentum, beta2, eps, wd, dampening, bc1, bc2, grad scale
  std::vector<float> hp = {0.05f, 0.9f, 0.999f, 1e-8f, 0.01f,
                           0.1f,  1.5f, 1.2f,   0.5f};
  for (std::string fn : {"sgd", "momentum", "nesterov", "adam", "adamw"}) {
    SCOPED_TRACE(fn);
    auto sim = makeSim(fmt::format(
        "opt.{} n={} param=0 grad=0x100 m=0x200 v=0x300 hp=0x400\nfinish\n", fn,
        n));
    putChip(*sim, 0, P);
    putChip(*sim, 0x100, G);
    putChip(*sim, 0x200, M0);
    putChip(*sim, 0x300, V0);
    putChip(*sim, 0x400, hp);
    runOk(*sim);
    std::vector<float> p = P, m = M0, v = V0;
    const float lr = hp[0], b1 = hp[1], b2 = hp[2], eps = hp[3], wd = hp[4],
                damp = hp[5], bc1 = hp[6], bc2 = hp[7], gs = hp[8];
    for (int i = 0; i < n; ++i) {
      float g = G[i] * gs;
      if (fn == "sgd") {
        g = g + wd * p[i];
        p[i] = p[i] - lr * g;
      } else if (fn == "momentum" || fn == "nesterov") {
        g = g + wd * p[i];
        m[i] = b1 * m[i] + (1.0f - damp) * g;
        p[i] = p[i] - lr * (fn == "nesterov" ? g + b1 * m[i] : m[i]);
      } else {
        if (fn == "adamw")
          p[i] = p[i] * (1.0f - lr * wd);
        else
          g = g + wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * (g * g);
        p[i] = p[i] - lr * (m[i] * bc1) / (std::sqrt(v[i] * bc2) + eps);
      }
    }
    EXPECT_FLOATS_IDENTICAL(p, getChip(*sim, 0, n));
    if (fn != "sgd")
      EXPECT_FLOATS_IDENTICAL(m, getChip(*sim, 0x200, n));
    if (fn == "adam" || fn == "adamw")
      EXPECT_FLOATS_IDENTICAL(v, getChip(*sim, 0x300, n));
  }
}

//===----------------------------------------------------------------------===//
// The conv_tile example against a direct convolution
//===----------------------------------------------------------------------===//

TEST(Functional, ConvTileExampleMatchesDirectConvolution) {
  std::ifstream in(std::string(ADAGP_SOURCE_DIR) +
                   "/examples/accel/conv_tile.s");
  std::stringstream ss;
  ss << in.rdbuf();
  auto sim = makeSim(ss.str());
  runOk(*sim);
  std::vector<float> x = getDram(*sim, 0x0, 8 * 8 * 16);
  std::vector<float> w = getDram(*sim, 0x10000, 9 * 16 * 16);
  std::vector<float> y = getDram(*sim, 0x20000, 8 * 8 * 16);
  for (int oh = 0; oh < 8; ++oh)
    for (int ow = 0; ow < 8; ++ow)
      for (int co = 0; co < 16; ++co) {
        // The program's order: one partial sum per tap (k over ci), taps
        // accumulated in ACC in order.
        float acc = 0.0f;
        for (int t = 0; t < 9; ++t) {
          int h = oh + t / 3 - 1, wv = ow + t % 3 - 1;
          float psum = 0.0f;
          for (int ci = 0; ci < 16; ++ci) {
            float xv = h >= 0 && h < 8 && wv >= 0 && wv < 8
                           ? x[(h * 8 + wv) * 16 + ci]
                           : 0.0f;
            psum += xv * w[(t * 16 + ci) * 16 + co];
          }
          acc = t == 0 ? psum : acc + psum;
        }
        ASSERT_EQ(y[(oh * 8 + ow) * 16 + co], acc > 0 ? acc : 0.0f)
            << oh << "," << ow << "," << co;
      }
}
