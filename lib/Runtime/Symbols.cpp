//===- Symbols.cpp - The runtime's functions for the JIT ------------------===//

#include "adagp/Runtime/Symbols.h"

#include "adagp/Runtime/Host.h"
#include "adagp/Runtime/Kernels.h"

#include <cstddef>
#include <cstdint>

extern "C" {
void memrefCopy(int64_t, void *, void *);
void *_mlir_memref_to_llvm_alloc(size_t);
void *_mlir_memref_to_llvm_aligned_alloc(size_t, size_t);
void _mlir_memref_to_llvm_free(void *);
}

const std::vector<adagp::runtime::Symbol> &adagp::runtime::symbols() {
#define ADAGP_SYMBOL(name) Symbol{#name, reinterpret_cast<void *>(&name)}
  static const std::vector<Symbol> table = {
      ADAGP_SYMBOL(adagp_set_num_threads),
      ADAGP_SYMBOL(adagp_get_num_threads),
      ADAGP_SYMBOL(adagp_conv2d_forward),
      ADAGP_SYMBOL(adagp_conv2d_forward_bias),
      ADAGP_SYMBOL(adagp_conv2d_input_grad),
      ADAGP_SYMBOL(adagp_conv2d_filter_grad),
      ADAGP_SYMBOL(adagp_matmul),
      ADAGP_SYMBOL(adagp_batch_matmul),
      ADAGP_SYMBOL(adagp_max_pool2d_grad),
      ADAGP_SYMBOL(adagp_avg_pool2d_grad),
      ADAGP_SYMBOL(adagp_host_next_batch),
      ADAGP_SYMBOL(adagp_host_report),
      ADAGP_SYMBOL(memrefCopy),
      ADAGP_SYMBOL(_mlir_memref_to_llvm_alloc),
      ADAGP_SYMBOL(_mlir_memref_to_llvm_aligned_alloc),
      ADAGP_SYMBOL(_mlir_memref_to_llvm_free),
  };
#undef ADAGP_SYMBOL
  return table;
}
