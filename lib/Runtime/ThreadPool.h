//===- ThreadPool.h - The kernels' threads ----------------------*- C++ -*-===//
//
// Every kernel, oneDNN's included, runs on one OpenMP thread team (GNU
// libgomp, which oneDNN uses), so no two thread pools compete for the
// cores. Work is split statically, so results (including sums of per-thread
// partial results) are reproducible bit for bit for a given thread count.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_LIB_RUNTIME_THREADPOOL_H
#define ADAGP_LIB_RUNTIME_THREADPOOL_H

#include <cstdint>
#include <functional>

namespace adagp::runtime {

int64_t numThreads();
void setNumThreads(int64_t threads);

/// Runs body(thread, begin, end) on every thread t < numThreads(), with
/// [begin, end) its static share of [0, n).
void parallelFor(int64_t n,
                 const std::function<void(int64_t thread, int64_t begin,
                                          int64_t end)> &body);

} // namespace adagp::runtime

#endif // ADAGP_LIB_RUNTIME_THREADPOOL_H
