//===- ThreadPool.h - The kernels' worker threads ---------------*- C++ -*-===//
//
// A fixed set of workers that run `parallelFor` bodies. Work is split
// statically (worker t always gets the same share for the same size), so
// results, including reductions over per-worker partial sums, are
// reproducible bit for bit for a given thread count.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_LIB_RUNTIME_THREADPOOL_H
#define ADAGP_LIB_RUNTIME_THREADPOOL_H

#include <cstdint>
#include <functional>

namespace adagp::runtime {

int64_t numThreads();
void setNumThreads(int64_t threads);

/// Runs body(thread, begin, end) on every worker t < numThreads(), with
/// [begin, end) its static share of [0, n). Returns when all are done.
void parallelFor(int64_t n,
                 const std::function<void(int64_t thread, int64_t begin,
                                          int64_t end)> &body);

/// Per-thread scratch memory that grows as needed and is reused across
/// kernel calls (64-byte aligned).
float *scratch(int64_t thread, int slot, int64_t floats);

} // namespace adagp::runtime

#endif // ADAGP_LIB_RUNTIME_THREADPOOL_H
