//===- ThreadPool.cpp - The kernels' threads ------------------------------===//

#include "ThreadPool.h"

#include "Dnnl.h"

#include "adagp/Runtime/Kernels.h"

#include <algorithm>
#include <cstdlib>
#include <omp.h>

namespace adagp::runtime {

int64_t numThreads() { return omp_get_max_threads(); }

void setNumThreads(int64_t threads) {
  omp_set_num_threads(static_cast<int>(std::max<int64_t>(1, threads)));
}

void parallelFor(int64_t n,
                 const std::function<void(int64_t, int64_t, int64_t)> &body) {
  int64_t t = std::min<int64_t>(numThreads(), std::max<int64_t>(n, 1));
  if (t <= 1) {
    body(0, 0, n);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(t))
  {
    int64_t thread = omp_get_thread_num();
    int64_t begin = n * thread / t, end = n * (thread + 1) / t;
    if (begin < end)
      body(thread, begin, end);
  }
}

dnnl::engine &engine() {
  static dnnl::engine instance(dnnl::engine::kind::cpu, 0);
  return instance;
}

dnnl::stream &stream() {
  static dnnl::stream instance(engine());
  return instance;
}

} // namespace adagp::runtime

extern "C" void adagp_set_num_threads(int64_t threads) {
  adagp::runtime::setNumThreads(threads);
}

extern "C" int64_t adagp_get_num_threads(void) {
  return adagp::runtime::numThreads();
}
