//===- ONNXImport.h - ONNX models to the nn dialect -------------*- C++ -*-===//
//
// Imports an ONNX model (binary protobuf or ONNX text syntax) into a module
// holding
//   - one mutable `ml_program.global` per float initializer, named after the
//     initializer, whose value is a `dense_resource` blob;
//   - `func.func @forward(graph inputs) -> graph outputs` in the nn dialect,
//     with each operation located at its ONNX node's name.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TARGET_ONNX_ONNXIMPORT_H
#define ADAGP_TARGET_ONNX_ONNXIMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <optional>
#include <string>

namespace adagp {

struct ONNXImportOptions {
  /// Binds the symbolic first dimension of the graph inputs.
  std::optional<int64_t> batchSize;
  /// The name of the entry function.
  std::string functionName = "forward";
};

/// Imports the model in `path`. Errors are reported through the context's
/// diagnostic handler at a location naming the file and, where one is
/// involved, the node; all unsupported nodes are reported before failing.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXFile(const std::string &path, mlir::MLIRContext *context,
               const ONNXImportOptions &options = {});

/// Imports a model from `bytes` (binary or text); `path` names it in errors
/// and decides the syntax by its extension (`.onnxtxt`, `.onnxtext`, `.txt`
/// are text).
mlir::OwningOpRef<mlir::ModuleOp>
importONNXBytes(const std::string &bytes, const std::string &path,
                mlir::MLIRContext *context,
                const ONNXImportOptions &options = {});

/// Registers the dialects the importer produces.
void registerONNXImportDialects(mlir::DialectRegistry &registry);

} // namespace adagp

#endif // ADAGP_TARGET_ONNX_ONNXIMPORT_H
