//===- Diagnostics.cpp - Error reporting for the adagp tools --------------===//

#include "adagp/Tools/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string adagp::describeLocation(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    if (file.getLine() == 0)
      return file.getFilename().str();
    return (file.getFilename().getValue() + ":" + Twine(file.getLine()) + ":" +
            Twine(file.getColumn()))
        .str();
  }
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string inner = describeLocation(name.getChildLoc());
    std::string text = "'" + name.getName().str() + "'";
    return inner.empty() ? text : inner + ": " + text;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location l : fused.getLocations()) {
      std::string s = describeLocation(l);
      if (!s.empty())
        return s;
    }
    return "";
  }
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    return describeLocation(callSite.getCallee());
  return "";
}

void adagp::releaseOptionName(const char *name) {
  auto &options = llvm::cl::getRegisteredOptions();
  auto it = options.find(name);
  if (it != options.end())
    it->second->removeArgument();
}

void adagp::reportError(const std::string &tool, const std::string &message) {
  llvm::errs() << tool << ": error: " << message << "\n";
}

adagp::ToolDiagnosticHandler::ToolDiagnosticHandler(MLIRContext *context,
                                                    std::string toolName)
    : ScopedDiagnosticHandler(context), toolName(std::move(toolName)) {
  setHandler([this](Diagnostic &diag) {
    const char *severity = "error";
    switch (diag.getSeverity()) {
    case DiagnosticSeverity::Error:
      ++errors;
      break;
    case DiagnosticSeverity::Warning:
      severity = "warning";
      break;
    case DiagnosticSeverity::Note:
      severity = "note";
      break;
    case DiagnosticSeverity::Remark:
      severity = "remark";
      break;
    }
    std::string where = describeLocation(diag.getLocation());
    llvm::errs() << this->toolName << ": " << severity << ": "
                 << (where.empty() ? "" : where + ": ") << diag.str() << "\n";
    for (Diagnostic &note : diag.getNotes()) {
      std::string noteWhere = describeLocation(note.getLocation());
      llvm::errs() << this->toolName << ": note: "
                   << (noteWhere.empty() ? "" : noteWhere + ": ") << note.str()
                   << "\n";
    }
    return success();
  });
}
