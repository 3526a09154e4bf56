//===- Conv.cpp - Convolutions as im2col + GEMM ---------------------------===//
//
// Convolutions (forward, input gradient, filter gradient) lower to GEMMs on
// im2col matrices:
//   forward       Y[k, p]   = sum_q W[k, q] col(X)[q, p]
//   input grad    col(dX)   = W^T dY, scattered back (col2im)
//   filter grad   dW[k, q] += dY[k, p] col(X)[q, p]^T
// with q = (c, r, s) and p = output position. Images are processed in tiles
// of `nb` images whose im2col columns sit side by side, so that small
// feature maps (4x4 in late ResNet stages) still give GEMMs wide enough for
// OpenBLAS's kernels. Tiles are spread over the worker threads, each of
// which runs single-threaded GEMMs; with fewer tiles than threads, tiles run
// one after another with OpenBLAS using all threads.
//
// Depthwise convolutions (one input channel per group) are memory-bound and
// use direct loops instead.
//
//===----------------------------------------------------------------------===//

#include "adagp/Runtime/Kernels.h"

#include "ThreadPool.h"

#include <algorithm>
#include <cblas.h>
#include <cstring>
#include <vector>

using namespace adagp::runtime;

namespace {

struct Conv {
  int64_t N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, DH, DW, G;
  int64_t Cg, Kg, CRS, OHW;

  Conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r,
       int64_t s, int64_t oh, int64_t ow, int64_t sh, int64_t sw, int64_t pt,
       int64_t pl, int64_t dh, int64_t dw, int64_t g)
      : N(n), C(c), H(h), W(w), K(k), R(r), S(s), OH(oh), OW(ow), SH(sh),
        SW(sw), PT(pt), PL(pl), DH(dh), DW(dw), G(g) {
    Cg = C / G;
    Kg = K / G;
    CRS = Cg * R * S;
    OHW = OH * OW;
  }

  /// A 1x1 convolution with unit stride and no padding: the image itself is
  /// its im2col matrix.
  bool pointwise() const {
    return R == 1 && S == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 &&
           OH == H && OW == W;
  }
  bool depthwise() const { return Cg == 1 && G > 1; }

  /// Images per tile: enough columns for an efficient GEMM.
  int64_t tileImages() const {
    if (pointwise())
      return 1;
    int64_t nb = std::max<int64_t>(1, (512 + OHW - 1) / OHW);
    return std::min(nb, N);
  }

  const float *image(const float *x, int64_t n, int64_t g) const {
    return x + (n * C + g * Cg) * H * W;
  }
};

/// Writes the im2col matrix of image `x` (one group: Cg channels) into
/// `col`, whose rows are `ld` floats apart (the image's columns start at
/// `col`).
void im2col(const Conv &cv, const float *x, float *col, int64_t ld) {
  for (int64_t c = 0; c < cv.Cg; ++c)
    for (int64_t r = 0; r < cv.R; ++r)
      for (int64_t s = 0; s < cv.S; ++s) {
        float *row = col + ((c * cv.R + r) * cv.S + s) * ld;
        // Output columns whose input column is inside the image.
        int64_t offset = s * cv.DW - cv.PL;
        int64_t owBegin = offset >= 0 ? 0 : (-offset + cv.SW - 1) / cv.SW;
        int64_t owEnd =
            cv.W - offset <= 0
                ? 0
                : std::min<int64_t>(cv.OW, (cv.W - offset + cv.SW - 1) / cv.SW);
        owBegin = std::min(owBegin, cv.OW);
        owEnd = std::max(owEnd, owBegin);
        for (int64_t oh = 0; oh < cv.OH; ++oh) {
          float *out = row + oh * cv.OW;
          int64_t ih = oh * cv.SH - cv.PT + r * cv.DH;
          if (ih < 0 || ih >= cv.H) {
            std::memset(out, 0, cv.OW * sizeof(float));
            continue;
          }
          const float *in = x + (c * cv.H + ih) * cv.W + offset;
          for (int64_t ow = 0; ow < owBegin; ++ow)
            out[ow] = 0;
          if (cv.SW == 1) {
            std::memcpy(out + owBegin, in + owBegin,
                        (owEnd - owBegin) * sizeof(float));
          } else {
            for (int64_t ow = owBegin; ow < owEnd; ++ow)
              out[ow] = in[ow * cv.SW];
          }
          for (int64_t ow = owEnd; ow < cv.OW; ++ow)
            out[ow] = 0;
        }
      }
}

/// Adds the im2col matrix `col` (rows `ld` apart) back into image `dx`.
void col2im(const Conv &cv, const float *col, int64_t ld, float *dx) {
  for (int64_t c = 0; c < cv.Cg; ++c)
    for (int64_t r = 0; r < cv.R; ++r)
      for (int64_t s = 0; s < cv.S; ++s) {
        const float *row = col + ((c * cv.R + r) * cv.S + s) * ld;
        int64_t offset = s * cv.DW - cv.PL;
        int64_t owBegin = offset >= 0 ? 0 : (-offset + cv.SW - 1) / cv.SW;
        int64_t owEnd =
            cv.W - offset <= 0
                ? 0
                : std::min<int64_t>(cv.OW, (cv.W - offset + cv.SW - 1) / cv.SW);
        owBegin = std::min(owBegin, cv.OW);
        for (int64_t oh = 0; oh < cv.OH; ++oh) {
          int64_t ih = oh * cv.SH - cv.PT + r * cv.DH;
          if (ih < 0 || ih >= cv.H)
            continue;
          const float *in = row + oh * cv.OW;
          float *out = dx + (c * cv.H + ih) * cv.W + offset;
          if (cv.SW == 1) {
            for (int64_t ow = owBegin; ow < owEnd; ++ow)
              out[ow] += in[ow];
          } else {
            for (int64_t ow = owBegin; ow < owEnd; ++ow)
              out[ow * cv.SW] += in[ow];
          }
        }
      }
}

/// Runs `tile(thread, first image, image count)` over all tiles: in
/// parallel with single-threaded BLAS when there are enough tiles,
/// otherwise one after another with multi-threaded BLAS.
template <typename Fn> void forEachTile(const Conv &cv, Fn tile) {
  int64_t nb = cv.tileImages();
  int64_t tiles = (cv.N + nb - 1) / nb;
  int64_t threads = numThreads();
  if (tiles >= threads || threads == 1) {
    openblas_set_num_threads(1);
    parallelFor(tiles, [&](int64_t thread, int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t)
        tile(thread, t * nb, std::min(nb, cv.N - t * nb));
    });
  } else {
    openblas_set_num_threads(static_cast<int>(threads));
    for (int64_t t = 0; t < tiles; ++t)
      tile(0, t * nb, std::min(nb, cv.N - t * nb));
    openblas_set_num_threads(1);
  }
}

//===----------------------------------------------------------------------===//
// Depthwise convolutions (Cg == 1): direct loops
//===----------------------------------------------------------------------===//

/// Calls fn(oh, ow0, ow1, ih, offset) for each output row `oh` and filter
/// tap (r, s) with the output columns [ow0, ow1) that read inside the input;
/// input column = ow * SW + offset.
template <typename Fn>
void forEachValidRow(const Conv &cv, int64_t r, int64_t s, Fn fn) {
  int64_t offset = s * cv.DW - cv.PL;
  int64_t owBegin = offset >= 0 ? 0 : (-offset + cv.SW - 1) / cv.SW;
  int64_t owEnd =
      cv.W - offset <= 0
          ? 0
          : std::min<int64_t>(cv.OW, (cv.W - offset + cv.SW - 1) / cv.SW);
  if (owBegin >= owEnd)
    return;
  for (int64_t oh = 0; oh < cv.OH; ++oh) {
    int64_t ih = oh * cv.SH - cv.PT + r * cv.DH;
    if (ih >= 0 && ih < cv.H)
      fn(oh, owBegin, owEnd, ih, offset);
  }
}

void depthwiseForward(const Conv &cv, const float *x, const float *w,
                      const float *b, float *y) {
  parallelFor(cv.N * cv.K, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      int64_t n = plane / cv.K, k = plane % cv.K, c = k / cv.Kg;
      const float *in = x + (n * cv.C + c) * cv.H * cv.W;
      float *out = y + plane * cv.OHW;
      float init = b ? b[k] : 0.f;
      std::fill(out, out + cv.OHW, init);
      for (int64_t r = 0; r < cv.R; ++r)
        for (int64_t s = 0; s < cv.S; ++s) {
          float weight = w[(k * cv.R + r) * cv.S + s];
          forEachValidRow(cv, r, s,
                          [&](int64_t oh, int64_t ow0, int64_t ow1,
                              int64_t ih, int64_t offset) {
                            const float *row = in + ih * cv.W + offset;
                            float *o = out + oh * cv.OW;
                            for (int64_t ow = ow0; ow < ow1; ++ow)
                              o[ow] += weight * row[ow * cv.SW];
                          });
        }
    }
  });
}

void depthwiseInputGrad(const Conv &cv, const float *dy, const float *w,
                        float *dx) {
  // Parallel over input planes: each gathers from the Kg output channels
  // that read it, so no two threads write the same element.
  parallelFor(cv.N * cv.C, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      int64_t n = plane / cv.C, c = plane % cv.C;
      float *out = dx + plane * cv.H * cv.W;
      std::fill(out, out + cv.H * cv.W, 0.f);
      for (int64_t k = c * cv.Kg; k < (c + 1) * cv.Kg; ++k) {
        const float *g = dy + (n * cv.K + k) * cv.OHW;
        for (int64_t r = 0; r < cv.R; ++r)
          for (int64_t s = 0; s < cv.S; ++s) {
            float weight = w[(k * cv.R + r) * cv.S + s];
            forEachValidRow(cv, r, s,
                            [&](int64_t oh, int64_t ow0, int64_t ow1,
                                int64_t ih, int64_t offset) {
                              float *row = out + ih * cv.W + offset;
                              const float *gi = g + oh * cv.OW;
                              for (int64_t ow = ow0; ow < ow1; ++ow)
                                row[ow * cv.SW] += weight * gi[ow];
                            });
          }
      }
    }
  });
}

void depthwiseFilterGrad(const Conv &cv, const float *dy, const float *x,
                         float *dw) {
  // Parallel over output channels; each sums over the whole batch in a
  // fixed order.
  parallelFor(cv.K, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      int64_t c = k / cv.Kg;
      for (int64_t r = 0; r < cv.R; ++r)
        for (int64_t s = 0; s < cv.S; ++s) {
          double acc = 0;
          for (int64_t n = 0; n < cv.N; ++n) {
            const float *in = x + (n * cv.C + c) * cv.H * cv.W;
            const float *g = dy + (n * cv.K + k) * cv.OHW;
            float part = 0;
            forEachValidRow(cv, r, s,
                            [&](int64_t oh, int64_t ow0, int64_t ow1,
                                int64_t ih, int64_t offset) {
                              const float *row = in + ih * cv.W + offset;
                              const float *gi = g + oh * cv.OW;
                              for (int64_t ow = ow0; ow < ow1; ++ow)
                                part += gi[ow] * row[ow * cv.SW];
                            });
            acc += part;
          }
          dw[(k * cv.R + r) * cv.S + s] = static_cast<float>(acc);
        }
    }
  });
}

//===----------------------------------------------------------------------===//
// General convolutions
//===----------------------------------------------------------------------===//

void forward(const Conv &cv, const float *x, const float *w, const float *b,
             float *y) {
  if (cv.depthwise())
    return depthwiseForward(cv, x, w, b, y);
  int64_t nbMax = cv.tileImages();
  // Scratch is sized before the workers start.
  for (int64_t t = 0; t < numThreads(); ++t) {
    scratch(t, 0, cv.CRS * nbMax * cv.OHW);
    scratch(t, 1, cv.Kg * nbMax * cv.OHW);
  }
  forEachTile(cv, [&](int64_t thread, int64_t n0, int64_t nb) {
    float *col = scratch(thread, 0, cv.CRS * nb * cv.OHW);
    float *tmp = scratch(thread, 1, cv.Kg * nb * cv.OHW);
    int64_t ld = nb * cv.OHW;
    for (int64_t g = 0; g < cv.G; ++g) {
      const float *wg = w + g * cv.Kg * cv.CRS;
      if (cv.pointwise()) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv.Kg, cv.OHW,
                    cv.CRS, 1.f, wg, cv.CRS, cv.image(x, n0, g), cv.OHW, 0.f,
                    y + (n0 * cv.K + g * cv.Kg) * cv.OHW, cv.OHW);
        continue;
      }
      for (int64_t j = 0; j < nb; ++j)
        im2col(cv, cv.image(x, n0 + j, g), col + j * cv.OHW, ld);
      float *out = nb == 1 ? y + (n0 * cv.K + g * cv.Kg) * cv.OHW : tmp;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv.Kg, ld,
                  cv.CRS, 1.f, wg, cv.CRS, col, ld, 0.f, out, ld);
      if (nb > 1)
        for (int64_t j = 0; j < nb; ++j)
          for (int64_t k = 0; k < cv.Kg; ++k)
            std::memcpy(y + ((n0 + j) * cv.K + g * cv.Kg + k) * cv.OHW,
                        tmp + k * ld + j * cv.OHW, cv.OHW * sizeof(float));
    }
    if (b)
      for (int64_t j = 0; j < nb; ++j)
        for (int64_t k = 0; k < cv.K; ++k) {
          float *o = y + ((n0 + j) * cv.K + k) * cv.OHW;
          for (int64_t p = 0; p < cv.OHW; ++p)
            o[p] += b[k];
        }
  });
}

void inputGrad(const Conv &cv, const float *dy, const float *w, float *dx) {
  if (cv.depthwise())
    return depthwiseInputGrad(cv, dy, w, dx);
  int64_t nbMax = cv.tileImages();
  for (int64_t t = 0; t < numThreads(); ++t) {
    scratch(t, 0, cv.CRS * nbMax * cv.OHW);
    scratch(t, 1, cv.Kg * nbMax * cv.OHW);
  }
  forEachTile(cv, [&](int64_t thread, int64_t n0, int64_t nb) {
    float *col = scratch(thread, 0, cv.CRS * nb * cv.OHW);
    float *gathered = scratch(thread, 1, cv.Kg * nb * cv.OHW);
    int64_t ld = nb * cv.OHW;
    for (int64_t g = 0; g < cv.G; ++g) {
      const float *wg = w + g * cv.Kg * cv.CRS;
      if (cv.pointwise()) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv.CRS, cv.OHW,
                    cv.Kg, 1.f, wg, cv.CRS,
                    dy + (n0 * cv.K + g * cv.Kg) * cv.OHW, cv.OHW, 0.f,
                    dx + (n0 * cv.C + g * cv.Cg) * cv.H * cv.W, cv.OHW);
        continue;
      }
      const float *grad = dy + (n0 * cv.K + g * cv.Kg) * cv.OHW;
      if (nb > 1) {
        for (int64_t j = 0; j < nb; ++j)
          for (int64_t k = 0; k < cv.Kg; ++k)
            std::memcpy(gathered + k * ld + j * cv.OHW,
                        dy + ((n0 + j) * cv.K + g * cv.Kg + k) * cv.OHW,
                        cv.OHW * sizeof(float));
        grad = gathered;
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv.CRS, ld, cv.Kg,
                  1.f, wg, cv.CRS, grad, ld, 0.f, col, ld);
      for (int64_t j = 0; j < nb; ++j) {
        float *image = dx + ((n0 + j) * cv.C + g * cv.Cg) * cv.H * cv.W;
        std::memset(image, 0, cv.Cg * cv.H * cv.W * sizeof(float));
        col2im(cv, col + j * cv.OHW, ld, image);
      }
    }
  });
}

void filterGrad(const Conv &cv, const float *dy, const float *x, float *dw) {
  if (cv.depthwise())
    return depthwiseFilterGrad(cv, dy, x, dw);
  int64_t nbMax = cv.tileImages();
  int64_t threads = numThreads();
  int64_t weights = cv.K * cv.CRS;
  // Each worker accumulates into its own copy; the copies are added in
  // thread order, so the sum does not depend on scheduling.
  for (int64_t t = 0; t < threads; ++t) {
    scratch(t, 0, cv.CRS * nbMax * cv.OHW);
    scratch(t, 1, cv.Kg * nbMax * cv.OHW);
    std::memset(scratch(t, 2, weights), 0, weights * sizeof(float));
  }
  forEachTile(cv, [&](int64_t thread, int64_t n0, int64_t nb) {
    float *col = scratch(thread, 0, cv.CRS * nb * cv.OHW);
    float *gathered = scratch(thread, 1, cv.Kg * nb * cv.OHW);
    float *acc = scratch(thread, 2, weights);
    int64_t ld = nb * cv.OHW;
    for (int64_t g = 0; g < cv.G; ++g) {
      const float *grad = dy + (n0 * cv.K + g * cv.Kg) * cv.OHW;
      const float *cols = col;
      int64_t ldCols = ld;
      if (cv.pointwise()) {
        cols = cv.image(x, n0, g);
        ldCols = cv.OHW;
      } else {
        for (int64_t j = 0; j < nb; ++j)
          im2col(cv, cv.image(x, n0 + j, g), col + j * cv.OHW, ld);
        if (nb > 1) {
          for (int64_t j = 0; j < nb; ++j)
            for (int64_t k = 0; k < cv.Kg; ++k)
              std::memcpy(gathered + k * ld + j * cv.OHW,
                          dy + ((n0 + j) * cv.K + g * cv.Kg + k) * cv.OHW,
                          cv.OHW * sizeof(float));
          grad = gathered;
        }
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cv.Kg, cv.CRS,
                  nb * cv.OHW, 1.f, grad, nb == 1 ? cv.OHW : ld, cols, ldCols,
                  1.f, acc + g * cv.Kg * cv.CRS, cv.CRS);
    }
  });
  std::memcpy(dw, scratch(0, 2, weights), weights * sizeof(float));
  for (int64_t t = 1; t < threads; ++t) {
    const float *part = scratch(t, 2, weights);
    for (int64_t i = 0; i < weights; ++i)
      dw[i] += part[i];
  }
}

} // namespace

extern "C" {

void adagp_conv2d_forward(const float *x, const float *w, float *y,
                          ADAGP_CONV_PARAMS) {
  forward(Conv(N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, DH, DW, G), x, w,
          nullptr, y);
}

void adagp_conv2d_forward_bias(const float *x, const float *w, const float *b,
                               float *y, ADAGP_CONV_PARAMS) {
  forward(Conv(N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, DH, DW, G), x, w,
          b, y);
}

void adagp_conv2d_input_grad(const float *dy, const float *w, float *dx,
                             ADAGP_CONV_PARAMS) {
  inputGrad(Conv(N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, DH, DW, G), dy,
            w, dx);
}

void adagp_conv2d_filter_grad(const float *dy, const float *x, float *dw,
                              ADAGP_CONV_PARAMS) {
  filterGrad(Conv(N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, DH, DW, G), dy,
             x, dw);
}

} // extern "C"
