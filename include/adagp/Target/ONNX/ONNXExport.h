//===- ONNXExport.h - The nn dialect back to ONNX ---------------*- C++ -*-===//
//
// Exports `@forward` of a module that the importer produced (possibly
// transformed and trained) as an ONNX model (opset 17) whose initializers
// hold the current values of the `ml_program.global`s. The model passes
// ONNX's checker, and importing it again gives the same IR.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TARGET_ONNX_ONNXEXPORT_H
#define ADAGP_TARGET_ONNX_ONNXEXPORT_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace adagp {

struct ONNXExportOptions {
  std::string functionName = "forward";
  /// Makes the batch dimension symbolic ("N") again.
  bool symbolicBatch = true;
};

/// Serialises the model; errors go to the module's diagnostics.
mlir::LogicalResult exportONNX(mlir::ModuleOp module, std::string &bytes,
                               const ONNXExportOptions &options = {});

} // namespace adagp

#endif // ADAGP_TARGET_ONNX_ONNXEXPORT_H
