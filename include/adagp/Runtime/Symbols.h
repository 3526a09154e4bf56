//===- Symbols.h - The runtime's functions for the JIT ----------*- C++ -*-===//

#ifndef ADAGP_RUNTIME_SYMBOLS_H
#define ADAGP_RUNTIME_SYMBOLS_H

#include <vector>

namespace adagp::runtime {

struct Symbol {
  const char *name;
  void *address;
};

/// Every C function of the runtime that compiled code may call, so that a
/// JIT in a tool that links the runtime statically can resolve them.
const std::vector<Symbol> &symbols();

} // namespace adagp::runtime

#endif // ADAGP_RUNTIME_SYMBOLS_H
