//===- Dnnl.h - The runtime's oneDNN engine and stream ----------*- C++ -*-===//

#ifndef ADAGP_LIB_RUNTIME_DNNL_H
#define ADAGP_LIB_RUNTIME_DNNL_H

#include <oneapi/dnnl/dnnl.hpp>

namespace adagp::runtime {

/// The CPU engine and the (in-order) stream every kernel runs on.
dnnl::engine &engine();
dnnl::stream &stream();

} // namespace adagp::runtime

#endif // ADAGP_LIB_RUNTIME_DNNL_H
