//===- InitAll.h - Register every adagp dialect and pass --------*- C++ -*-===//

#ifndef ADAGP_INITALL_H
#define ADAGP_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace adagp {

/// Registers the adagp dialects, their interfaces, and the upstream dialects
/// that adagp's pipelines produce.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers adagp's passes and pipelines and the upstream passes.
void registerAllPasses();

} // namespace adagp

#endif // ADAGP_INITALL_H
