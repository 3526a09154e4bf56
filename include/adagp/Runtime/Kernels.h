/*===- Kernels.h - adagp's CPU kernel library (C API) --------------*- C -*-===//
 *
 * The compiled code calls these functions for the operations that dominate
 * the run time. All tensors are dense, row-major float32 (NCHW for images,
 * OIHW for filters); every function overwrites its outputs completely and
 * is deterministic for a given thread count. Convolutions and matrix
 * products run on oneDNN, everything on one OpenMP thread team.
 *
 * Convolution parameters, in this order, are
 *   N, C, H, W     input batch, channels, height, width
 *   K, R, S        output channels, filter height, filter width
 *   OH, OW         output height and width
 *   SH, SW         strides
 *   PT, PL, PB, PR padding at the top, left, bottom and right
 *   DH, DW         dilations
 *   G              groups (C and K are multiples of G)
 *
 *===----------------------------------------------------------------------===*/

#ifndef ADAGP_RUNTIME_KERNELS_H
#define ADAGP_RUNTIME_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ADAGP_CONV_PARAMS                                                      \
  int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,           \
      int64_t S, int64_t OH, int64_t OW, int64_t SH, int64_t SW, int64_t PT,  \
      int64_t PL, int64_t PB, int64_t PR, int64_t DH, int64_t DW, int64_t G

/// Sets the number of worker threads of every kernel (default: the number
/// of cores). Not to be called while a kernel runs.
void adagp_set_num_threads(int64_t threads);
int64_t adagp_get_num_threads(void);

/// y = conv(x, w) (+ b[k] when `b` is not null).
void adagp_conv2d_forward(const float *x, const float *w, float *y,
                          ADAGP_CONV_PARAMS);
void adagp_conv2d_forward_bias(const float *x, const float *w, const float *b,
                               float *y, ADAGP_CONV_PARAMS);
/// dx = the gradient of the convolution with respect to its input.
void adagp_conv2d_input_grad(const float *dy, const float *w, float *dx,
                             ADAGP_CONV_PARAMS);
/// dw = the gradient with respect to the filter, summed over the batch.
void adagp_conv2d_filter_grad(const float *dy, const float *x, float *dw,
                              ADAGP_CONV_PARAMS);

/// y[M x N] = alpha * op(a) * op(b), op = transpose when the flag is set;
/// a is [M x K] (or [K x M] transposed), b is [K x N] (or [N x K]).
void adagp_matmul(const float *a, const float *b, float *y, int64_t M,
                  int64_t N, int64_t K, int64_t transA, int64_t transB,
                  double alpha);
/// y[i] = a[i] * b[i] for `batch` matrix products; consecutive matrices of a
/// and b are `strideA` and `strideB` elements apart (0 broadcasts one
/// matrix).
void adagp_batch_matmul(const float *a, const float *b, float *y,
                        int64_t batch, int64_t M, int64_t N, int64_t K,
                        int64_t strideA, int64_t strideB, int64_t transA,
                        int64_t transB);

/// Max pooling's gradient: each dy element goes to its window's first
/// maximum in x (row-major order), as PyTorch routes it.
void adagp_max_pool2d_grad(const float *dy, const float *x, float *dx,
                           int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                           int64_t DH, int64_t DW);
/// Average pooling's gradient; `divisors` holds each window's divisor
/// ([OH x OW]), as the forward operation divided by it.
void adagp_avg_pool2d_grad(const float *dy, const float *divisors, float *dx,
                           int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PT, int64_t PL);

#ifdef __cplusplus
}
#endif

#endif /* ADAGP_RUNTIME_KERNELS_H */
