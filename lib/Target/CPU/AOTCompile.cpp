//===- AOTCompile.cpp - Ahead-of-time compilation for the CPU -------------===//
//
// The driver of `adagp-compile --target=cpu`; see AOTCompile.h for the
// route. Outputs are produced completely before any is put in place, so an
// error leaves neither the library nor its header behind.
//
//===----------------------------------------------------------------------===//

#include "adagp/Target/CPU/AOTCompile.h"

#include "adagp/Support/FileUtils.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <cstdio>

using namespace mlir;

void adagp::flattenGlobalInitializers(ModuleOp module) {
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    auto elements = dyn_cast_or_null<ElementsAttr>(global.getValueOrNull());
    if (!elements || elements.getShapedType().getRank() <= 1)
      continue;
    ShapedType type = elements.getShapedType();
    Type element = global.getGlobalType();
    while (auto array = dyn_cast<LLVM::LLVMArrayType>(element))
      element = array.getElementType();
    auto flatType =
        RankedTensorType::get({type.getNumElements()}, type.getElementType());
    Attribute flat;
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements))
      flat = DenseResourceElementsAttr::get(flatType, resource.getRawHandle());
    else if (auto dense = dyn_cast<DenseElementsAttr>(elements))
      flat = dense.reshape(flatType);
    else
      continue;
    global.setValueAttr(flat);
    global.setGlobalType(
        LLVM::LLVMArrayType::get(element, type.getNumElements()));
  }
}

namespace {

/// Output files written next to their destinations (so that rename() stays
/// within one file system) and renamed into place together once every one
/// of them is complete; whatever is not committed is removed.
class StagedOutputs {
public:
  ~StagedOutputs() {
    for (const Entry &entry : entries)
      llvm::sys::fs::remove(entry.staging);
  }

  /// An empty file that will become `path`; "" (and `error`) on failure.
  std::string create(const std::string &path, std::string &error) {
    int fd = -1;
    llvm::SmallString<256> staging;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(
            path + ".tmp.%%%%%%", fd, staging)) {
      error =
          "cannot create a temporary file for '" + path + "': " + ec.message();
      return "";
    }
    llvm::sys::fs::closeFile(fd);
    entries.push_back({std::string(staging.str()), path});
    return entries.back().staging;
  }

  /// Fills the staging file `staging` with `bytes`.
  static bool fill(const std::string &staging, std::string_view bytes,
                   std::string &error) {
    std::error_code ec;
    llvm::raw_fd_ostream os(staging, ec);
    if (!ec) {
      os.write(bytes.data(), bytes.size());
      os.close();
      ec = os.error();
    }
    if (ec) {
      error = "cannot write '" + staging + "': " + ec.message();
      return false;
    }
    return true;
  }

  bool commit(std::string &error) {
    for (size_t i = 0; i < entries.size(); ++i) {
      if (std::error_code ec =
              llvm::sys::fs::rename(entries[i].staging, entries[i].path)) {
        error = "cannot write '" + entries[i].path + "': " + ec.message();
        entries.erase(entries.begin(), entries.begin() + i);
        return false;
      }
    }
    entries.clear();
    return true;
  }

private:
  struct Entry {
    std::string staging, path;
  };
  std::vector<Entry> entries;
};

} // namespace

static std::string
printToString(llvm::function_ref<void(llvm::raw_ostream &)> print) {
  std::string text;
  llvm::raw_string_ostream os(text);
  print(os);
  return text;
}

LogicalResult adagp::compileAOTForCPU(ModuleOp module,
                                      const AOTCompileOptions &options) {
  MLIRContext *context = module.getContext();
  // Problems with a file name the file; the others stand alone.
  auto fileError = [&](const std::string &path) {
    return emitError(FileLineColLoc::get(context, path, 0, 0));
  };
  auto plainError = [&]() { return emitError(UnknownLoc::get(context)); };
  if (!isCIdentifier(options.prefix) ||
      llvm::StringRef(options.prefix).starts_with("adagp")) {
    return plainError() << "the prefix '" << options.prefix
                        << "' is not a C identifier that is free to use "
                           "(letters, digits and '_', not starting with a "
                           "digit or 'adagp'; no C or C++ keyword)";
  }

  AOTInterface interface;
  interface.prefix = options.prefix;
  auto entryPoints = describeEntryPoints(module, options.prefix);
  if (failed(entryPoints))
    return failure();
  interface.entryPoints = std::move(*entryPoints);

  // The destinations are checked before the (long) compilation: a staging
  // file next to each proves its directory writable.
  std::string error;
  StagedOutputs outputs;
  bool toStdout = options.outputPath == "-";
  std::string outputStaging =
      toStdout ? "" : outputs.create(options.outputPath, error);
  if (!toStdout && outputStaging.empty())
    return plainError() << error;
  std::string headerStaging;
  if (!options.headerPath.empty()) {
    headerStaging = outputs.create(options.headerPath, error);
    if (headerStaging.empty())
      return plainError() << error;
  }

  CPUCompileOptions cpu = options.cpu;
  cpu.embedInitialValues = true;
  auto globals = prepareForCPU(module, cpu);
  if (failed(globals))
    return failure();
  interface.globals = std::move(*globals);
  for (GlobalInfo &info : interface.globals)
    std::vector<char>().swap(info.initialValue); // the module holds them
  if (failed(lowerToLLVMDialect(module, cpu)))
    return failure();

  if (!options.headerPath.empty()) {
    std::string header = generateCHeader(
        interface, options, llvm::sys::path::filename(options.outputPath),
        llvm::sys::getHostCPUName());
    if (!StagedOutputs::fill(headerStaging, header, error))
      return plainError() << error;
  }
  auto writeOutput = [&](std::string_view bytes) -> LogicalResult {
    bool written = toStdout ? writeFileAtomically("-", bytes, error)
                            : StagedOutputs::fill(outputStaging, bytes, error);
    if (!written || !outputs.commit(error))
      return plainError() << error;
    return success();
  };

  if (options.emit == AOTOutputKind::MLIR)
    return writeOutput(
        printToString([&](llvm::raw_ostream &os) { module.print(os); }));

  flattenGlobalInitializers(module);
  registerBuiltinDialectTranslation(*context);
  registerLLVMDialectTranslation(*context);
  registerOpenMPDialectTranslation(*context);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, options.prefix);
  if (!llvmModule)
    return plainError() << "cannot translate the model to LLVM IR";
  std::unique_ptr<llvm::TargetMachine> machine =
      createHostTargetMachine(options.cpu.optLevel, error);
  if (!machine)
    return plainError() << error;
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(machine->getTargetTriple());
  if (!addCInterface(*llvmModule, interface, error))
    return plainError() << error;
  std::string verifierMessage;
  llvm::raw_string_ostream verifierStream(verifierMessage);
  if (llvm::verifyModule(*llvmModule, &verifierStream))
    return plainError() << "internal error: invalid LLVM IR: "
                        << verifierMessage;
  auto optimize = makeOptimizingTransformer(options.cpu.optLevel,
                                            /*sizeLevel=*/0, machine.get());
  if (llvm::Error err = optimize(llvmModule.get()))
    return plainError() << "LLVM optimisation failed: "
                        << llvm::toString(std::move(err));

  if (options.emit == AOTOutputKind::LLVMIR)
    return writeOutput(printToString(
        [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); }));

  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, os, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return plainError() << "the host's target cannot emit object files";
    codegen.run(*llvmModule);
  }
  std::string_view objectBytes(object.data(), object.size());
  if (options.emit == AOTOutputKind::Object)
    return writeOutput(objectBytes);

  // A shared library: the linker reads the object from a temporary file and
  // writes over the staging file of the destination.
  llvm::SmallString<128> objectPath;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "adagp-compile", "o", fd, objectPath))
    return plainError() << "cannot create a temporary file: " << ec.message();
  llvm::FileRemover removeObject(objectPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(objectBytes.data(), objectBytes.size());
    os.close();
    if (os.has_error())
      return plainError() << "cannot write the temporary object file '"
                          << objectPath << "': " << os.error().message();
  }
  if (!linkSharedLibrary(std::string(objectPath.str()), outputStaging,
                         llvm::sys::path::filename(options.outputPath), error))
    return fileError(options.outputPath) << error;
  if (!outputs.commit(error))
    return plainError() << error;
  return success();
}
