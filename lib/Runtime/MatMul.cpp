//===- MatMul.cpp - Matrix products on oneDNN -----------------------------===//
//
// dnnl_sgemm (row-major) runs on the shared OpenMP team. A batch of
// products with at least one per thread is split over the threads, each
// product single-threaded (oneDNN does not nest OpenMP parallelism).
//
//===----------------------------------------------------------------------===//

#include "adagp/Runtime/Kernels.h"

#include "ThreadPool.h"

#include <oneapi/dnnl/dnnl.h>

using namespace adagp::runtime;

static void sgemm(const float *a, const float *b, float *y, int64_t M,
                  int64_t N, int64_t K, bool transA, bool transB,
                  float alpha) {
  dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, alpha, a,
             transA ? M : K, b, transB ? K : N, 0.f, y, N);
}

extern "C" void adagp_matmul(const float *a, const float *b, float *y,
                             int64_t M, int64_t N, int64_t K, int64_t transA,
                             int64_t transB, double alpha) {
  sgemm(a, b, y, M, N, K, transA, transB, static_cast<float>(alpha));
}

extern "C" void adagp_batch_matmul(const float *a, const float *b, float *y,
                                   int64_t batch, int64_t M, int64_t N,
                                   int64_t K, int64_t strideA, int64_t strideB,
                                   int64_t transA, int64_t transB) {
  auto one = [&](int64_t i) {
    sgemm(a + i * strideA, b + i * strideB, y + i * M * N, M, N, K, transA,
          transB, 1.f);
  };
  if (batch >= numThreads()) {
    parallelFor(batch, [&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        one(i);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i)
      one(i);
  }
}
