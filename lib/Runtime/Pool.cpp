//===- Pool.cpp - Pooling gradients ---------------------------------------===//
//
// Gradients route each output gradient back into its window; windows
// overlap, so each (image, channel) plane is one task and is written by one
// thread only.
//
//===----------------------------------------------------------------------===//

#include "adagp/Runtime/Kernels.h"

#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace adagp::runtime;

extern "C" void adagp_max_pool2d_grad(const float *dy, const float *x,
                                      float *dx, int64_t N, int64_t C,
                                      int64_t H, int64_t W, int64_t OH,
                                      int64_t OW, int64_t KH, int64_t KW,
                                      int64_t SH, int64_t SW, int64_t PT,
                                      int64_t PL, int64_t DH, int64_t DW) {
  parallelFor(N * C, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const float *in = x + plane * H * W;
      const float *g = dy + plane * OH * OW;
      float *out = dx + plane * H * W;
      std::fill(out, out + H * W, 0.f);
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          // The first maximum in row-major order (NaN wins, as in PyTorch).
          float best = -std::numeric_limits<float>::infinity();
          int64_t where = -1;
          for (int64_t kh = 0; kh < KH; ++kh) {
            int64_t ih = oh * SH - PT + kh * DH;
            if (ih < 0 || ih >= H)
              continue;
            for (int64_t kw = 0; kw < KW; ++kw) {
              int64_t iw = ow * SW - PL + kw * DW;
              if (iw < 0 || iw >= W)
                continue;
              float v = in[ih * W + iw];
              if (where < 0 || v > best || std::isnan(v)) {
                best = v;
                where = ih * W + iw;
                if (std::isnan(v))
                  goto found;
              }
            }
          }
        found:
          if (where >= 0)
            out[where] += g[oh * OW + ow];
        }
    }
  });
}

extern "C" void adagp_avg_pool2d_grad(const float *dy, const float *divisors,
                                      float *dx, int64_t N, int64_t C,
                                      int64_t H, int64_t W, int64_t OH,
                                      int64_t OW, int64_t KH, int64_t KW,
                                      int64_t SH, int64_t SW, int64_t PT,
                                      int64_t PL) {
  parallelFor(N * C, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const float *g = dy + plane * OH * OW;
      float *out = dx + plane * H * W;
      std::fill(out, out + H * W, 0.f);
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float share = g[oh * OW + ow] / divisors[oh * OW + ow];
          int64_t h0 = std::max<int64_t>(0, oh * SH - PT);
          int64_t h1 = std::min<int64_t>(H, oh * SH - PT + KH);
          int64_t w0 = std::max<int64_t>(0, ow * SW - PL);
          int64_t w1 = std::min<int64_t>(W, ow * SW - PL + KW);
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              out[ih * W + iw] += share;
        }
    }
  });
}
