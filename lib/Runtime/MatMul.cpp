//===- MatMul.cpp - Matrix products ---------------------------------------===//
//
// A single product uses OpenBLAS with all worker threads; a batch of
// products is spread over the workers with single-threaded OpenBLAS, unless
// there are fewer products than workers.
//
//===----------------------------------------------------------------------===//

#include "adagp/Runtime/Kernels.h"

#include "ThreadPool.h"

#include <cblas.h>

using namespace adagp::runtime;

extern "C" void adagp_matmul(const float *a, const float *b, float *y,
                             int64_t M, int64_t N, int64_t K, int64_t transA,
                             int64_t transB, double alpha) {
  openblas_set_num_threads(static_cast<int>(numThreads()));
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, M, N, K,
              static_cast<float>(alpha), a, transA ? M : K, b,
              transB ? K : N, 0.f, y, N);
  openblas_set_num_threads(1);
}

extern "C" void adagp_batch_matmul(const float *a, const float *b, float *y,
                                   int64_t batch, int64_t M, int64_t N,
                                   int64_t K, int64_t strideA, int64_t strideB,
                                   int64_t transA, int64_t transB) {
  auto one = [&](int64_t i) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, 1.f,
                a + i * strideA, transA ? M : K, b + i * strideB,
                transB ? K : N, 0.f, y + i * M * N, N);
  };
  if (batch >= numThreads()) {
    openblas_set_num_threads(1);
    parallelFor(batch, [&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        one(i);
    });
  } else {
    openblas_set_num_threads(static_cast<int>(numThreads()));
    for (int64_t i = 0; i < batch; ++i)
      one(i);
    openblas_set_num_threads(1);
  }
}
