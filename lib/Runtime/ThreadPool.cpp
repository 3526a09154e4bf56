//===- ThreadPool.cpp - The kernels' worker threads -----------------------===//

#include "ThreadPool.h"

#include "adagp/Runtime/Kernels.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace adagp::runtime {
namespace {

class Pool {
public:
  explicit Pool(int64_t threads) { start(threads); }
  ~Pool() { stop(); }

  int64_t size() const { return static_cast<int64_t>(workers.size()) + 1; }

  void resize(int64_t threads) {
    stop();
    start(threads);
  }

  void run(int64_t n, const std::function<void(int64_t, int64_t, int64_t)>
                          &body) {
    int64_t t = size();
    if (t == 1 || n <= 1) {
      body(0, 0, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = &body;
      jobSize = n;
      pending = static_cast<int>(workers.size());
      ++generation;
    }
    wake.notify_all();
    runShare(0, n, body);
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return pending == 0; });
    job = nullptr;
  }

private:
  void runShare(int64_t thread, int64_t n,
                const std::function<void(int64_t, int64_t, int64_t)> &body) {
    int64_t t = size();
    int64_t begin = n * thread / t, end = n * (thread + 1) / t;
    if (begin < end)
      body(thread, begin, end);
  }

  void start(int64_t threads) {
    threads = std::max<int64_t>(1, threads);
    quit = false;
    for (int64_t i = 1; i < threads; ++i)
      workers.emplace_back([this, i] { loop(i); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      quit = true;
      ++generation;
    }
    wake.notify_all();
    for (auto &w : workers)
      w.join();
    workers.clear();
  }

  void loop(int64_t index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t, int64_t, int64_t)> *body;
      int64_t n;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation != seen; });
        seen = generation;
        if (quit)
          return;
        body = job;
        n = jobSize;
      }
      runShare(index, n, *body);
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (--pending == 0)
          done.notify_one();
      }
    }
  }

  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(int64_t, int64_t, int64_t)> *job = nullptr;
  int64_t jobSize = 0;
  int pending = 0;
  uint64_t generation = 0;
  bool quit = false;
};

int64_t defaultThreads() {
  if (const char *env = std::getenv("ADAGP_NUM_THREADS")) {
    int64_t n = std::atoll(env);
    if (n > 0)
      return n;
  }
  return std::max<unsigned>(1, std::thread::hardware_concurrency());
}

Pool &pool() {
  static Pool instance(defaultThreads());
  return instance;
}

struct Scratch {
  std::vector<std::unique_ptr<float, void (*)(void *)>> slots;
  std::vector<int64_t> sizes;
};

std::vector<Scratch> &scratchTable() {
  static std::vector<Scratch> table;
  return table;
}

} // namespace

int64_t numThreads() { return pool().size(); }

void setNumThreads(int64_t threads) {
  if (threads != pool().size())
    pool().resize(threads);
}

void parallelFor(int64_t n,
                 const std::function<void(int64_t, int64_t, int64_t)> &body) {
  pool().run(n, body);
}

float *scratch(int64_t thread, int slot, int64_t floats) {
  // Sized before the parallel region by the calling thread: the table only
  // grows in the (single-threaded) first call of a kernel with more
  // threads, so workers never resize it concurrently.
  static std::mutex growth;
  std::lock_guard<std::mutex> lock(growth);
  auto &table = scratchTable();
  if (static_cast<int64_t>(table.size()) <= thread)
    table.resize(thread + 1);
  Scratch &s = table[thread];
  if (static_cast<int>(s.slots.size()) <= slot) {
    while (static_cast<int>(s.slots.size()) <= slot) {
      s.slots.emplace_back(nullptr, std::free);
      s.sizes.push_back(0);
    }
  }
  if (s.sizes[slot] < floats) {
    size_t bytes = (static_cast<size_t>(floats) * sizeof(float) + 63) / 64 * 64;
    s.slots[slot].reset(static_cast<float *>(std::aligned_alloc(64, bytes)));
    s.sizes[slot] = floats;
  }
  return s.slots[slot].get();
}

} // namespace adagp::runtime

extern "C" void adagp_set_num_threads(int64_t threads) {
  adagp::runtime::setNumThreads(threads);
}

extern "C" int64_t adagp_get_num_threads(void) {
  return adagp::runtime::numThreads();
}
