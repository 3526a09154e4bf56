//===- Host.cpp - The compiled training loop's host interface -------------===//

#include "adagp/Runtime/Host.h"

#include <cstring>

namespace {
adagp_host currentHost;
bool hasHost = false;

template <typename T> T *pointer(int64_t address) {
  return reinterpret_cast<T *>(static_cast<intptr_t>(address));
}
} // namespace

extern "C" void adagp_set_host(const adagp_host *host) {
  hasHost = host != nullptr;
  if (host)
    currentHost = *host;
  else
    std::memset(&currentHost, 0, sizeof(currentHost));
}

extern "C" void adagp_host_next_batch(int64_t inputs, int64_t labels,
                                      int64_t epoch) {
  *pointer<int64_t>(epoch) =
      hasHost && currentHost.next_batch
          ? currentHost.next_batch(currentHost.context, pointer<void>(inputs),
                                   pointer<int64_t>(labels))
          : -1;
}

extern "C" void adagp_host_report(int64_t mode, int64_t loss,
                                  int64_t predictorLoss, int64_t quality) {
  if (!hasHost || !currentHost.report)
    return;
  currentHost.report(currentHost.context, *pointer<int64_t>(mode),
                     *pointer<float>(loss), *pointer<float>(predictorLoss),
                     *pointer<float>(quality));
}
