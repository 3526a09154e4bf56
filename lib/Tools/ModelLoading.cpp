//===- ModelLoading.cpp - Reading models in the tools ---------------------===//

#include "adagp/Tools/ModelLoading.h"

#include "adagp/Support/FileUtils.h"
#include "adagp/Target/ONNX/ONNXImport.h"

#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

bool adagp::isMLIRPath(const std::string &path) {
  llvm::StringRef p(path);
  return p.ends_with(".mlir") || p.ends_with(".mlirbc");
}

OwningOpRef<ModuleOp> adagp::loadModel(const std::string &path,
                                       MLIRContext *context,
                                       std::optional<int64_t> batchSize) {
  if (!isMLIRPath(path)) {
    ONNXImportOptions options;
    options.batchSize = batchSize;
    return importONNXFile(path, context, options);
  }
  std::string bytes, error;
  if (!readFile(path, bytes, error)) {
    mlir::emitError(FileLineColLoc::get(context, path, 0, 0)) << error;
    return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(bytes, path), llvm::SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, context);
}
