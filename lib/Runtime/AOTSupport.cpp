//===- AOTSupport.cpp - Helpers of ahead-of-time compiled models ----------===//

#include "adagp/Runtime/AOTSupport.h"

#include <cstring>
#include <mutex>

namespace {

std::mutex &entryLock() {
  // Never destroyed: a call from another thread may still run while the
  // library's static destructors run at process exit.
  static std::mutex *instance = new std::mutex();
  return *instance;
}

/// Status of a copy of `bytes` bytes to or from the global `name`, and the
/// global when it is OK.
int checkCopy(const adagp_aot_parameter *table, int64_t count, const char *name,
              const void *data, size_t bytes,
              const adagp_aot_parameter *&found) {
  if (!name || !data)
    return ADAGP_AOT_NULL_ARGUMENT;
  found = adagp_aot_find_parameter(table, count, name);
  if (!found)
    return ADAGP_AOT_UNKNOWN_NAME;
  if (static_cast<int64_t>(bytes) != found->num_bytes)
    return ADAGP_AOT_WRONG_SIZE;
  return ADAGP_AOT_OK;
}

} // namespace

extern "C" void adagp_aot_lock(void) { entryLock().lock(); }

extern "C" void adagp_aot_unlock(void) { entryLock().unlock(); }

extern "C" const adagp_aot_parameter *
adagp_aot_find_parameter(const adagp_aot_parameter *table, int64_t count,
                         const char *name) {
  if (!name)
    return nullptr;
  // Models have at most a few hundred globals: a linear search costs
  // nothing next to a forward pass.
  for (int64_t i = 0; i < count; ++i)
    if (std::strcmp(table[i].name, name) == 0)
      return &table[i];
  return nullptr;
}

extern "C" int adagp_aot_set_parameter(const adagp_aot_parameter *table,
                                       int64_t count, const char *name,
                                       const void *data, size_t bytes) {
  const adagp_aot_parameter *found = nullptr;
  int status = checkCopy(table, count, name, data, bytes, found);
  if (status != ADAGP_AOT_OK)
    return status;
  std::lock_guard<std::mutex> lock(entryLock());
  std::memcpy(found->data, data, bytes);
  return ADAGP_AOT_OK;
}

extern "C" int adagp_aot_get_parameter(const adagp_aot_parameter *table,
                                       int64_t count, const char *name,
                                       void *data, size_t bytes) {
  const adagp_aot_parameter *found = nullptr;
  int status = checkCopy(table, count, name, data, bytes, found);
  if (status != ADAGP_AOT_OK)
    return status;
  std::lock_guard<std::mutex> lock(entryLock());
  std::memcpy(data, found->data, bytes);
  return ADAGP_AOT_OK;
}
