//===- Kernels.cpp - Functional effect of queue instructions --------------===//
//
// Plain fp32 arithmetic in a fixed, documented order (docs/isa.md), so a C++
// reference written the same way reproduces the results bit for bit.
//
//===----------------------------------------------------------------------===//

#include "SimImpl.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace adagp::sim {

using namespace isa;

float roundToBf16(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu))
    return v; // NaN stays NaN
  uint32_t lsb = (b >> 16) & 1u;
  b += 0x7fffu + lsb;
  b &= 0xffff0000u;
  float r;
  std::memcpy(&r, &b, 4);
  return r;
}

namespace {

inline int32_t asInt(float v) {
  int32_t i;
  std::memcpy(&i, &v, 4);
  return i;
}

inline float asFloat(int32_t i) {
  float v;
  std::memcpy(&v, &i, 4);
  return v;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

inline float gelu(float x) {
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}

inline float geluGrad(float x) {
  float cdf = 0.5f * (1.0f + std::erf(x * 0.70710678118654752f));
  float pdf = std::exp(-0.5f * x * x) * 0.39894228040143268f;
  return cdf + x * pdf;
}

inline int32_t f2i(float x) {
  if (!(x == x))
    return 0;
  if (x >= 2147483647.0f)
    return INT32_MAX;
  if (x <= -2147483648.0f)
    return INT32_MIN;
  return int32_t(x);
}

} // namespace

bool Simulator::Impl::execute(const Instruction &inst, const Entry &e) {
  switch (inst.opcode) {
  case Opcode::Load:
    return execDma(inst, e, true);
  case Opcode::Store:
    return execDma(inst, e, false);
  case Opcode::Gemm:
    return execGemm(inst, e);
  case Opcode::Vec:
    return execVec(inst);
  case Opcode::Pool:
    return execPool(inst);
  case Opcode::Xent:
    return execXent(inst, e.pc);
  case Opcode::Opt:
    return execOpt(inst);
  default:
    return true;
  }
}

bool Simulator::Impl::execDma(const Instruction &inst, const Entry &e,
                              bool isLoad) {
  const DmaDim *d = e.dims;
  float padValue = inst.getF32(dma::Pad);
  uint32_t padBits;
  std::memcpy(&padBits, &padValue, 4);
  auto valid = [](const DmaDim &dim, int64_t i) {
    if (dim.extent == 0)
      return true;
    int64_t idx = dim.start + i;
    return idx >= 0 && idx < dim.extent;
  };
  for (int64_t i4 = 0; i4 < d[4].size; ++i4)
    for (int64_t i3 = 0; i3 < d[3].size; ++i3)
      for (int64_t i2 = 0; i2 < d[2].size; ++i2)
        for (int64_t i1 = 0; i1 < d[1].size; ++i1) {
          bool rowValid = valid(d[4], i4) && valid(d[3], i3) &&
                          valid(d[2], i2) && valid(d[1], i1);
          int64_t dramOff = (d[4].start + i4) * d[4].dramStride +
                            (d[3].start + i3) * d[3].dramStride +
                            (d[2].start + i2) * d[2].dramStride +
                            (d[1].start + i1) * d[1].dramStride;
          int64_t chipOff = i4 * d[4].chipStride + i3 * d[3].chipStride +
                            i2 * d[2].chipStride + i1 * d[1].chipStride;
          float *row = chip(int64_t(e.chipAddr) + chipOff);
          for (int64_t i0 = 0; i0 < d[0].size; ++i0) {
            bool ok = rowValid && valid(d[0], i0);
            float *p = row + i0 * d[0].chipStride;
            uint64_t addr =
                e.dramAddr +
                uint64_t(4 * (dramOff + (d[0].start + i0) * d[0].dramStride));
            if (isLoad) {
              uint32_t bits = ok ? dram.read32(addr) : padBits;
              std::memcpy(p, &bits, 4);
            } else if (ok) {
              uint32_t bits;
              std::memcpy(&bits, p, 4);
              dram.write32(addr, bits);
            }
          }
        }
  return true;
}

bool Simulator::Impl::execGemm(const Instruction &inst, const Entry &e) {
  const int64_t *f = inst.field;
  int64_t M = f[gemm::M], K = f[gemm::K], N = f[gemm::N];
  int64_t lda = f[gemm::Lda], ldb = f[gemm::Ldb], ldc = f[gemm::Ldc];
  bool ta = f[gemm::TransA], tb = f[gemm::TransB], tc = f[gemm::TransC];
  bool bf16 = cfg.arrayDType == ArrayDType::BF16;
  if (!f[gemm::KeepWeights]) {
    const float *B = chip(f[gemm::B]);
    weights.resize(size_t(K * N));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) {
        float w = tb ? B[n * ldb + k] : B[k * ldb + n];
        weights[size_t(k * N + n)] = bf16 ? roundToBf16(w) : w;
      }
    weightK = K;
    weightN = N;
    weightsValid = true;
  }
  const float *A = chip(e.gemmA);
  float *C = chip(e.gemmC);
  bool accumulate = f[gemm::Accumulate];
  float a[256];
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) {
      float v = ta ? A[k * lda + m] : A[m * lda + k];
      a[k] = bf16 ? roundToBf16(v) : v;
    }
    for (int64_t n = 0; n < N; ++n) {
      // The partial sum flows down the column in k order, then is added to
      // the accumulator.
      float psum = 0.0f;
      for (int64_t k = 0; k < K; ++k)
        psum += a[k] * weights[size_t(k * N + n)];
      float &c = tc ? C[n * ldc + m] : C[m * ldc + n];
      c = accumulate ? c + psum : psum;
    }
  }
  return true;
}

bool Simulator::Impl::execVec(const Instruction &inst) {
  const int64_t *f = inst.field;
  VecFunct fn = static_cast<VecFunct>(inst.funct);
  const int64_t R = f[vec::Rows], C = f[vec::Cols];
  const int64_t drs = f[vec::DRowStride], dcs = f[vec::DColStride];
  const int64_t ars = f[vec::ARowStride], acs = f[vec::AColStride];
  const int64_t brs = f[vec::BRowStride], bcs = f[vec::BColStride];
  const float imm = inst.getF32(vec::Imm);
  float *D = chip(f[vec::D]);
  const float *A = fn == VecFunct::Fill ? nullptr : chip(f[vec::A]);
  bool readsB = (fn >= VecFunct::Add && fn <= VecFunct::Affine) ||
                fn == VecFunct::ColDot || fn == VecFunct::ColDotAcc ||
                fn == VecFunct::RowDot || fn == VecFunct::RowDotAcc;
  const float *B = readsB ? chip(f[vec::B]) : nullptr;

  // Reductions over rows (one result per column).
  if (fn >= VecFunct::ColSum && fn <= VecFunct::ColDotAcc) {
    bool accum = fn >= VecFunct::ColSumAcc;
    VecFunct base =
        accum ? static_cast<VecFunct>(static_cast<unsigned>(fn) - 4) : fn;
    for (int64_t c = 0; c < C; ++c) {
      float r = base == VecFunct::ColMax
                    ? -std::numeric_limits<float>::infinity()
                    : 0.0f;
      for (int64_t i = 0; i < R; ++i) {
        float x = A[i * ars + c * acs];
        switch (base) {
        case VecFunct::ColSum:
          r += x;
          break;
        case VecFunct::ColMax:
          r = std::max(r, x);
          break;
        case VecFunct::ColSumSq:
          r += x * x;
          break;
        default:
          r += x * B[i * brs + c * bcs];
          break;
        }
      }
      float &out = D[c * dcs];
      if (!accum)
        out = r;
      else
        out = base == VecFunct::ColMax ? std::max(out, r) : out + r;
    }
    return true;
  }
  // Reductions over columns (one result per row).
  if (fn >= VecFunct::RowSum && fn <= VecFunct::RowArgmax) {
    bool accum = fn >= VecFunct::RowSumAcc && fn <= VecFunct::RowDotAcc;
    VecFunct base =
        accum ? static_cast<VecFunct>(static_cast<unsigned>(fn) - 4) : fn;
    for (int64_t i = 0; i < R; ++i) {
      float r = base == VecFunct::RowMax || base == VecFunct::RowArgmax
                    ? -std::numeric_limits<float>::infinity()
                    : 0.0f;
      int64_t best = 0;
      for (int64_t c = 0; c < C; ++c) {
        float x = A[i * ars + c * acs];
        switch (base) {
        case VecFunct::RowSum:
          r += x;
          break;
        case VecFunct::RowMax:
          r = std::max(r, x);
          break;
        case VecFunct::RowSumSq:
          r += x * x;
          break;
        case VecFunct::RowArgmax:
          if (x > r || c == 0) {
            r = x;
            best = c;
          }
          break;
        default:
          r += x * B[i * brs + c * bcs];
          break;
        }
      }
      float &out = D[i * drs];
      if (base == VecFunct::RowArgmax)
        out = float(best);
      else if (!accum)
        out = r;
      else
        out = base == VecFunct::RowMax ? std::max(out, r) : out + r;
    }
    return true;
  }
  if (fn == VecFunct::SoftmaxRows) {
    std::vector<float> row(static_cast<size_t>(C));
    for (int64_t i = 0; i < R; ++i) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < C; ++c)
        m = std::max(m, A[i * ars + c * acs]);
      float s = 0.0f;
      for (int64_t c = 0; c < C; ++c) {
        row[size_t(c)] = std::exp(A[i * ars + c * acs] - m);
        s += row[size_t(c)];
      }
      for (int64_t c = 0; c < C; ++c)
        D[i * drs + c * dcs] = row[size_t(c)] / s;
    }
    return true;
  }
  for (int64_t i = 0; i < R; ++i) {
    for (int64_t c = 0; c < C; ++c) {
      float &d = D[i * drs + c * dcs];
      float a = A ? A[i * ars + c * acs] : 0.0f;
      float b = 0.0f;
      if (fn >= VecFunct::Add && fn != VecFunct::Affine)
        b = B[i * brs + c * bcs];
      float r;
      switch (fn) {
      case VecFunct::Copy:
        r = a;
        break;
      case VecFunct::Relu:
        r = a > 0.0f ? a : 0.0f;
        break;
      case VecFunct::LeakyRelu:
        r = a > 0.0f ? a : imm * a;
        break;
      case VecFunct::Sigmoid:
        r = sigmoid(a);
        break;
      case VecFunct::Tanh:
        r = std::tanh(a);
        break;
      case VecFunct::Exp:
        r = std::exp(a);
        break;
      case VecFunct::Log:
        r = std::log(a);
        break;
      case VecFunct::Sqrt:
        r = std::sqrt(a);
        break;
      case VecFunct::Rsqrt:
        r = 1.0f / std::sqrt(a);
        break;
      case VecFunct::Recip:
        r = 1.0f / a;
        break;
      case VecFunct::Abs:
        r = std::fabs(a);
        break;
      case VecFunct::Neg:
        r = -a;
        break;
      case VecFunct::Square:
        r = a * a;
        break;
      case VecFunct::Gelu:
        r = gelu(a);
        break;
      case VecFunct::Erf:
        r = std::erf(a);
        break;
      case VecFunct::Step:
        r = a > 0.0f ? 1.0f : 0.0f;
        break;
      case VecFunct::RoundBf16:
        r = roundToBf16(a);
        break;
      case VecFunct::CvtI2F:
        r = float(asInt(a));
        break;
      case VecFunct::CvtF2I:
        r = asFloat(f2i(a));
        break;
      case VecFunct::Fill:
        r = imm;
        break;
      case VecFunct::AddImm:
        r = a + imm;
        break;
      case VecFunct::MulImm:
        r = a * imm;
        break;
      case VecFunct::MaxImm:
        r = std::max(a, imm);
        break;
      case VecFunct::MinImm:
        r = std::min(a, imm);
        break;
      case VecFunct::ClipImm:
        r = std::min(std::max(a, -imm), imm);
        break;
      case VecFunct::Add:
        r = a + b;
        break;
      case VecFunct::Sub:
        r = a - b;
        break;
      case VecFunct::Mul:
        r = a * b;
        break;
      case VecFunct::Div:
        r = a / b;
        break;
      case VecFunct::Max:
        r = std::max(a, b);
        break;
      case VecFunct::Min:
        r = std::min(a, b);
        break;
      case VecFunct::Axpy:
        r = a * imm + b;
        break;
      case VecFunct::Fma:
        r = d + a * b;
        break;
      case VecFunct::Select:
        r = a != 0.0f ? b : d;
        break;
      case VecFunct::CmpGt:
        r = a > b ? 1.0f : 0.0f;
        break;
      case VecFunct::CmpGe:
        r = a >= b ? 1.0f : 0.0f;
        break;
      case VecFunct::CmpEq:
        r = a == b ? 1.0f : 0.0f;
        break;
      case VecFunct::ReluGrad:
        r = a > 0.0f ? b : 0.0f;
        break;
      case VecFunct::LeakyReluGrad:
        r = a > 0.0f ? b : imm * b;
        break;
      case VecFunct::SigmoidGrad:
        r = b * (a * (1.0f - a));
        break;
      case VecFunct::TanhGrad:
        r = b * (1.0f - a * a);
        break;
      case VecFunct::GeluGrad:
        r = b * geluGrad(a);
        break;
      case VecFunct::Affine:
        r = a * B[c * bcs] + B[brs + c * bcs];
        break;
      default:
        r = 0.0f;
        break;
      }
      d = r;
    }
  }
  return true;
}

bool Simulator::Impl::execPool(const Instruction &inst) {
  const int64_t *f = inst.field;
  PoolFunct fn = static_cast<PoolFunct>(inst.funct);
  const int64_t N = f[pool::N], H = f[pool::H], W = f[pool::W], C = f[pool::C],
                OH = f[pool::OH], OW = f[pool::OW], KH = f[pool::KH],
                KW = f[pool::KW], SH = f[pool::SH], SW = f[pool::SW],
                PT = f[pool::PadTop], PL = f[pool::PadLeft];
  const float *in = chip(f[pool::In]);
  float *out = chip(f[pool::Out]);
  const float *aux = fn == PoolFunct::MaxBwd ? chip(f[pool::Aux]) : nullptr;
  bool adaptive =
      fn == PoolFunct::AdaptiveAvgFwd || fn == PoolFunct::AdaptiveAvgBwd;
  bool fwd = fn <= PoolFunct::AdaptiveAvgFwd;
  auto big = [&](int64_t n, int64_t h, int64_t w) {
    return ((n * H + h) * W + w) * C;
  };
  auto small = [&](int64_t n, int64_t h, int64_t w) {
    return ((n * OH + h) * OW + w) * C;
  };
  if (!fwd)
    std::fill(out, out + N * H * W * C, 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        // The input window, clipped to the tensor.
        int64_t h0, h1, w0, w1;
        if (adaptive) {
          h0 = (oh * H) / OH;
          h1 = ((oh + 1) * H + OH - 1) / OH;
          w0 = (ow * W) / OW;
          w1 = ((ow + 1) * W + OW - 1) / OW;
        } else {
          h0 = oh * SH - PT;
          h1 = h0 + KH;
          w0 = ow * SW - PL;
          w1 = w0 + KW;
        }
        int64_t ch0 = std::max<int64_t>(h0, 0), ch1 = std::min(h1, H);
        int64_t cw0 = std::max<int64_t>(w0, 0), cw1 = std::min(w1, W);
        int64_t valid =
            std::max<int64_t>(0, ch1 - ch0) * std::max<int64_t>(0, cw1 - cw0);
        float divisor = adaptive ? float(valid)
                        : (fn == PoolFunct::AvgFwd || fn == PoolFunct::AvgBwd)
                            ? float(KH * KW)
                            : float(valid);
        for (int64_t c = 0; c < C; ++c) {
          if (fn == PoolFunct::MaxFwd) {
            float m = -std::numeric_limits<float>::infinity();
            for (int64_t h = ch0; h < ch1; ++h)
              for (int64_t w = cw0; w < cw1; ++w)
                m = std::max(m, in[big(n, h, w) + c]);
            out[small(n, oh, ow) + c] = valid ? m : 0.0f;
          } else if (fwd) {
            float s = 0.0f;
            for (int64_t h = ch0; h < ch1; ++h)
              for (int64_t w = cw0; w < cw1; ++w)
                s += in[big(n, h, w) + c];
            out[small(n, oh, ow) + c] = valid ? s / divisor : 0.0f;
          } else if (fn == PoolFunct::MaxBwd) {
            if (!valid)
              continue;
            // Gradient goes to the first maximum in window scan order.
            int64_t bestIdx = big(n, ch0, cw0) + c;
            float m = aux[bestIdx];
            for (int64_t h = ch0; h < ch1; ++h)
              for (int64_t w = cw0; w < cw1; ++w) {
                int64_t idx = big(n, h, w) + c;
                if (aux[idx] > m) {
                  m = aux[idx];
                  bestIdx = idx;
                }
              }
            out[bestIdx] += in[small(n, oh, ow) + c];
          } else {
            if (!valid)
              continue;
            float g = in[small(n, oh, ow) + c] / divisor;
            for (int64_t h = ch0; h < ch1; ++h)
              for (int64_t w = cw0; w < cw1; ++w)
                out[big(n, h, w) + c] += g;
          }
        }
      }
  return true;
}

bool Simulator::Impl::execXent(const Instruction &inst, uint32_t atPc) {
  const int64_t *f = inst.field;
  const int64_t B = f[xent::Batch], K = f[xent::Classes];
  const int64_t lrs = f[xent::LogitsRowStride], grs = f[xent::GradRowStride];
  const float scale = inst.getF32(xent::Scale);
  const float *logits = chip(f[xent::Logits]);
  const float *labels = chip(f[xent::Labels]);
  float *grad = chip(f[xent::Grad]);
  float *loss = chip(f[xent::Loss]);
  for (int64_t b = 0; b < B; ++b) {
    int32_t y = asInt(labels[b]);
    if (y < 0 || y >= K)
      return fail(atPc, fmt::format("label {} of sample {} is outside [0, {})",
                                    y, b, K));
  }
  float total = 0.0f, correct = 0.0f;
  std::vector<float> p(size_t(K), 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    const float *z = logits + b * lrs;
    int32_t y = asInt(labels[b]);
    float m = z[0];
    int64_t arg = 0;
    for (int64_t k = 1; k < K; ++k)
      if (z[k] > m) {
        m = z[k];
        arg = k;
      }
    float s = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      p[size_t(k)] = std::exp(z[k] - m);
      s += p[size_t(k)];
    }
    total += (m + std::log(s)) - z[y];
    correct += arg == y ? 1.0f : 0.0f;
    float *g = grad + b * grs;
    for (int64_t k = 0; k < K; ++k)
      g[k] = (p[size_t(k)] / s - (k == y ? 1.0f : 0.0f)) * scale;
  }
  loss[0] = total / float(B);
  loss[1] = correct;
  return true;
}

bool Simulator::Impl::execOpt(const Instruction &inst) {
  const int64_t *f = inst.field;
  OptFunct fn = static_cast<OptFunct>(inst.funct);
  const int64_t n = f[opt::N];
  float hp[kNumHyperParams];
  std::memcpy(hp, chip(f[opt::Hp]), sizeof(hp));
  const float lr = hp[kHpLearningRate], b1 = hp[kHpBeta1], b2 = hp[kHpBeta2],
              eps = hp[kHpEpsilon], wd = hp[kHpWeightDecay],
              damp = hp[kHpDampening], bc1 = hp[kHpBiasCorrection1],
              bc2 = hp[kHpBiasCorrection2], gs = hp[kHpGradScale];
  float *p = chip(f[opt::Param]);
  const float *g = chip(f[opt::Grad]);
  float *m = fn == OptFunct::Sgd ? nullptr : chip(f[opt::M]);
  float *v =
      fn == OptFunct::Adam || fn == OptFunct::AdamW ? chip(f[opt::V]) : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] * gs;
    switch (fn) {
    case OptFunct::Sgd:
      gi = gi + wd * p[i];
      p[i] = p[i] - lr * gi;
      break;
    case OptFunct::Momentum:
      gi = gi + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - damp) * gi;
      p[i] = p[i] - lr * m[i];
      break;
    case OptFunct::Nesterov:
      gi = gi + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - damp) * gi;
      p[i] = p[i] - lr * (gi + b1 * m[i]);
      break;
    case OptFunct::Adam:
    case OptFunct::AdamW:
      if (fn == OptFunct::AdamW)
        p[i] = p[i] * (1.0f - lr * wd);
      else
        gi = gi + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * (gi * gi);
      p[i] = p[i] - lr * (m[i] * bc1) / (std::sqrt(v[i] * bc2) + eps);
      break;
    default:
      break;
    }
  }
  return true;
}

} // namespace adagp::sim
