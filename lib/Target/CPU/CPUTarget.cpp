//===- CPUTarget.cpp - Compile and run models on the CPU ------------------===//

#include "adagp/Target/CPU/CPUTarget.h"

#include "adagp/Pipelines/Pipelines.h"
#include "adagp/Runtime/Symbols.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

using namespace mlir;

void adagp::initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

static std::string dtypeOf(Type element) {
  if (element.isF32())
    return "f4";
  if (element.isF64())
    return "f8";
  if (element.isInteger(64))
    return "i8";
  if (element.isInteger(32))
    return "i4";
  return "";
}

FailureOr<std::vector<adagp::GlobalInfo>>
adagp::prepareForCPU(ModuleOp module, const CPUCompileOptions &options) {
  std::vector<GlobalInfo> infos;
  SymbolTable symbols(module);
  for (auto global : llvm::make_early_inc_range(
           module.getOps<ml_program::GlobalOp>())) {
    auto type = dyn_cast<RankedTensorType>(global.getType());
    std::string dtype = type ? dtypeOf(type.getElementType()) : "";
    if (dtype.empty())
      return global.emitError("global of type ")
             << global.getType() << " cannot be compiled for the CPU";
    GlobalInfo info;
    info.name = global.getSymName().str();
    info.shape.assign(type.getShape().begin(), type.getShape().end());
    info.dtype = dtype;
    info.bytes = type.getNumElements() *
                 (type.getElementType().getIntOrFloatBitWidth() / 8);
    if (auto value = global.getValue()) {
      if (auto resource = dyn_cast<DenseResourceElementsAttr>(*value)) {
        if (AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
          ArrayRef<char> data = blob->getData();
          info.initialValue.assign(data.begin(), data.end());
        }
      } else if (auto dense = dyn_cast<DenseElementsAttr>(*value)) {
        info.initialValue.resize(info.bytes);
        if (dense.isSplat()) {
          std::vector<char> one = {};
          ArrayRef<char> raw = dense.getRawData();
          for (int64_t i = 0; i < type.getNumElements(); ++i)
            std::memcpy(info.initialValue.data() + i * raw.size(), raw.data(),
                        raw.size());
        } else {
          ArrayRef<char> raw = dense.getRawData();
          std::memcpy(info.initialValue.data(), raw.data(), info.bytes);
        }
      }
      if (static_cast<int64_t>(info.initialValue.size()) != info.bytes &&
          !info.initialValue.empty())
        return global.emitError("initial value of global '")
               << info.name << "' has the wrong size";
    }
    if (!options.embedInitialValues) {
      // A zero splat keeps the compiled code small; the engine copies the
      // real values in.
      global.setValueAttr(DenseElementsAttr::get(
          type, Builder(module).getZeroAttr(type.getElementType())));
    }
    if (failed(symbols.rename(global, kGlobalSymbolPrefix + info.name)))
      return global.emitError("cannot rename global '") << info.name << "'";
    global.setPublic();
    infos.push_back(std::move(info));
  }
  return infos;
}

LogicalResult adagp::lowerToLLVMDialect(ModuleOp module,
                                        const CPUCompileOptions &options) {
  PassManager pm(module->getContext());
  CPUPipelineOptions pipelineOptions;
  pipelineOptions.kernels = options.kernels;
  if (failed(buildCPUPipeline(pm, pipelineOptions)))
    return failure();
  return pm.run(module);
}

FailureOr<std::unique_ptr<adagp::CPUEngine>>
adagp::CPUEngine::create(ModuleOp module, const CPUCompileOptions &options) {
  initializeNativeTarget();
  auto infos = prepareForCPU(module, options);
  if (failed(infos) || failed(lowerToLLVMDialect(module, options)))
    return failure();
  // ADAGP_DUMP_MLIR=FILE writes the module in the LLVM dialect.
  if (const char *path = std::getenv("ADAGP_DUMP_MLIR")) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (!ec)
      module.print(os);
  }
  registerBuiltinDialectTranslation(*module->getContext());
  registerLLVMDialectTranslation(*module->getContext());
  registerOpenMPDialectTranslation(*module->getContext());

  // The optimiser needs the host's TargetMachine: without it LLVM's cost
  // model sees no vector registers and vectorises nothing.
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return module.emitError("cannot detect the host: ")
           << llvm::toString(hostBuilder.takeError());
  hostBuilder->setCodeGenOptLevel(options.optLevel >= 3
                                      ? llvm::CodeGenOptLevel::Aggressive
                                      : llvm::CodeGenOptLevel::Default);
  auto optimizerMachine = hostBuilder->createTargetMachine();
  auto engineMachine = hostBuilder->createTargetMachine();
  if (!optimizerMachine || !engineMachine)
    return module.emitError("cannot create the host's target machine");
  std::shared_ptr<llvm::TargetMachine> optimizerTM =
      std::move(*optimizerMachine);
  auto optimize = makeOptimizingTransformer(options.optLevel,
                                            /*sizeLevel=*/0, optimizerTM.get());
  // ADAGP_DUMP_LLVM=FILE writes the optimised LLVM IR, to inspect
  // vectorisation.
  auto transformer = [optimize, optimizerTM](llvm::Module *m) -> llvm::Error {
    if (llvm::Error err = optimize(m))
      return err;
    if (const char *path = std::getenv("ADAGP_DUMP_LLVM")) {
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      if (!ec)
        m->print(os, nullptr);
    }
    return llvm::Error::success();
  };
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel =
      options.optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive
                            : llvm::CodeGenOptLevel::Default;
  engineOptions.enableGDBNotificationListener = false;
  // ADAGP_PERF=1 names JIT-compiled functions for `perf report`.
  engineOptions.enablePerfNotificationListener =
      std::getenv("ADAGP_PERF") != nullptr;
  auto created =
      ExecutionEngine::create(module, engineOptions, std::move(*engineMachine));
  if (!created) {
    std::string message = llvm::toString(created.takeError());
    return module.emitError("JIT compilation failed: ") << message;
  }
  auto result = std::unique_ptr<CPUEngine>(new CPUEngine());
  result->engine = std::move(*created);
  result->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (const auto &symbol : runtime::symbols())
      map[interner(symbol.name)] = {llvm::orc::ExecutorAddr::fromPtr(
                                        symbol.address),
                                    llvm::JITSymbolFlags::Exported};
    return map;
  });
  result->engine->initialize();
  result->globalInfo = std::move(*infos);
  for (const GlobalInfo &info : result->globalInfo) {
    auto address = result->engine->lookup(kGlobalSymbolPrefix + info.name);
    if (!address) {
      std::string message = llvm::toString(address.takeError());
      return module.emitError("cannot find global '")
             << info.name << "' in the compiled code: " << message;
    }
    result->globalAddress[info.name] = *address;
  }
  result->resetGlobals();
  return result;
}

void adagp::CPUEngine::resetGlobals() {
  for (const GlobalInfo &info : globalInfo) {
    void *address = globalAddress.at(info.name);
    if (info.initialValue.empty())
      std::memset(address, 0, info.bytes);
    else
      std::memcpy(address, info.initialValue.data(), info.bytes);
  }
}

void *adagp::CPUEngine::globalData(llvm::StringRef name) const {
  auto it = globalAddress.find(name.str());
  return it == globalAddress.end() ? nullptr : it->second;
}

LogicalResult adagp::CPUEngine::call(llvm::StringRef name,
                                     llvm::ArrayRef<void *> pointers,
                                     std::string &error) {
  // The packed wrapper takes the address of each argument.
  llvm::SmallVector<void *> storage(pointers.begin(), pointers.end());
  llvm::SmallVector<void *> args;
  for (void *&p : storage)
    args.push_back(&p);
  if (llvm::Error err = engine->invokePacked(name, args)) {
    error = llvm::toString(std::move(err));
    return failure();
  }
  return success();
}
