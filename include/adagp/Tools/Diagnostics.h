//===- Diagnostics.h - Error reporting for the adagp tools ------*- C++ -*-===//
//
// Prints MLIR diagnostics the way the adagp tools report errors:
//   adagp-translate: error: model.onnx: node 'conv1' (Conv, opset 13): ...
// A location naming a file at line 0 stands for the file as a whole (ONNX
// models have no lines); NameLocs print as the name they carry.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TOOLS_DIAGNOSTICS_H
#define ADAGP_TOOLS_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"

#include <string>

namespace adagp {

class ToolDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  ToolDiagnosticHandler(mlir::MLIRContext *context, std::string toolName);
  unsigned errorCount() const { return errors; }

private:
  std::string toolName;
  unsigned errors = 0;
};

/// Formats a location for a one-line message ("file.onnx", "f.mlir:3:5",
/// "'conv1'"), or "" when it carries nothing useful.
std::string describeLocation(mlir::Location loc);

/// Unregisters a hidden option of libLLVM that has the name a tool wants
/// (libLLVM registers a `-threads`), so that the tool can define its own.
/// Call before constructing the tool's option.
void releaseOptionName(const char *name);

/// Prints `tool: error: message` to stderr.
void reportError(const std::string &tool, const std::string &message);

} // namespace adagp

#endif // ADAGP_TOOLS_DIAGNOSTICS_H
