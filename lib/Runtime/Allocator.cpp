//===- Allocator.cpp - Buffers of compiled code ---------------------------===//
//
// Compiled code allocates its intermediate buffers through these functions
// (finalize-memref-to-llvm{use-generic-functions}). A training step asks
// for the same sizes in the same order every time, so freed blocks are kept
// per size and handed out again: a step costs no page faults and no zeroing
// of fresh pages by the kernel after the first one.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void *>> free;
  std::unordered_map<void *, size_t> sizes;
};

Cache &cache() {
  static Cache *instance = new Cache(); // never destroyed: outlives users
  return *instance;
}

void *allocate(size_t alignment, size_t size) {
  // One size class per rounded size; 64-byte alignment covers AVX-512.
  size_t rounded = (size + 63) / 64 * 64;
  if (rounded == 0)
    rounded = 64;
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free.find(rounded);
    if (it != c.free.end() && !it->second.empty()) {
      void *p = it->second.back();
      it->second.pop_back();
      return p;
    }
  }
  void *p = std::aligned_alloc(alignment > 64 ? alignment : 64, rounded);
  std::lock_guard<std::mutex> lock(c.mutex);
  c.sizes[p] = rounded;
  return p;
}

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) {
  return allocate(64, size);
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t size) {
  return allocate(alignment, size);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.sizes.find(ptr);
  if (it == c.sizes.end()) {
    std::free(ptr);
    return;
  }
  c.free[it->second].push_back(ptr);
}
