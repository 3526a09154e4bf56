//===- ModelLoading.h - Reading models in the tools -------------*- C++ -*-===//

#ifndef ADAGP_TOOLS_MODELLOADING_H
#define ADAGP_TOOLS_MODELLOADING_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <optional>
#include <string>

namespace adagp {

/// Loads an ONNX model (.onnx, .onnxtxt) binding the batch size, or an MLIR
/// file (.mlir, .mlirbc). Errors go to the context's diagnostics.
mlir::OwningOpRef<mlir::ModuleOp>
loadModel(const std::string &path, mlir::MLIRContext *context,
          std::optional<int64_t> batchSize);

/// Whether `path` names an MLIR file rather than an ONNX model.
bool isMLIRPath(const std::string &path);

} // namespace adagp

#endif // ADAGP_TOOLS_MODELLOADING_H
