//===- AOTLink.cpp - Object code and shared libraries for the host --------===//
//
// The object comes from LLVM's code generator for the host CPU; the shared
// library from the system's C compiler driver, which knows where the C
// library, libstdc++ and the linker live. adagp's runtime is linked in from
// its static PIC archive and its symbols are kept local (--exclude-libs), so
// that a model's .so needs no adagp library at run time and two models in
// one process keep separate runtimes. The compiled loops call LLVM's OpenMP
// runtime (__kmpc_*), oneDNN and the runtime GCC's (GOMP_*, through
// libgomp.so.1); LLVM ships a libgomp.so.1 that is its libomp.so.5 and
// provides both, and the library's RUNPATH makes the loader prefer it, so
// one OpenMP runtime serves everything (the same arrangement as the
// tools').
//
//===----------------------------------------------------------------------===//

#include "adagp/Target/CPU/AOTCompile.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Target/TargetMachine.h"

using namespace llvm;

#ifndef ADAGP_RUNTIME_ARCHIVE
#error "the build defines ADAGP_RUNTIME_ARCHIVE (the runtime's static archive)"
#endif
#ifndef ADAGP_DNNL_LIBRARY
#error "the build defines ADAGP_DNNL_LIBRARY (oneDNN's shared library)"
#endif
#ifndef ADAGP_OPENMP_LIBRARY_DIR
#error "the build defines ADAGP_OPENMP_LIBRARY_DIR (LLVM's OpenMP runtime)"
#endif

std::unique_ptr<TargetMachine>
adagp::createHostTargetMachine(unsigned optLevel, std::string &error) {
  initializeNativeTarget();
  auto builder = orc::JITTargetMachineBuilder::detectHost();
  if (!builder) {
    error = "cannot detect the host: " + toString(builder.takeError());
    return nullptr;
  }
  builder->setRelocationModel(Reloc::PIC_);
  builder->setCodeModel(CodeModel::Small);
  builder->setCodeGenOptLevel(optLevel == 0   ? CodeGenOptLevel::None
                              : optLevel >= 3 ? CodeGenOptLevel::Aggressive
                                              : CodeGenOptLevel::Default);
  auto machine = builder->createTargetMachine();
  if (!machine) {
    error = "cannot create the host's target machine: " +
            toString(machine.takeError());
    return nullptr;
  }
  return std::move(*machine);
}

/// The runtime archive: next to the tool in a build tree (bin/../lib), else
/// where the build put it.
static std::string findRuntimeArchive() {
  std::string tool = sys::fs::getMainExecutable(nullptr, nullptr);
  if (!tool.empty()) {
    SmallString<256> candidate(
        sys::path::parent_path(sys::path::parent_path(tool)));
    sys::path::append(candidate, "lib", "libADAGPRuntime.a");
    if (sys::fs::exists(candidate))
      return std::string(candidate);
  }
  if (sys::fs::exists(ADAGP_RUNTIME_ARCHIVE))
    return ADAGP_RUNTIME_ARCHIVE;
  return "";
}

bool adagp::linkSharedLibrary(const std::string &objectPath,
                              const std::string &outputPath, StringRef soname,
                              std::string &error) {
  auto driver = sys::findProgramByName("cc");
  if (!driver) {
    error = "no C compiler driver 'cc' on PATH to link the shared library "
            "(install gcc or clang, or write an object file with --emit=obj)";
    return false;
  }
  std::string runtime = findRuntimeArchive();
  if (runtime.empty()) {
    error = "cannot find adagp's runtime archive libADAGPRuntime.a (looked "
            "next to the tool and in " ADAGP_RUNTIME_ARCHIVE ")";
    return false;
  }
  std::string openmpDir = ADAGP_OPENMP_LIBRARY_DIR;
  std::string libomp = openmpDir + "/libomp.so.5";
  if (!sys::fs::exists(libomp)) {
    error = "cannot find LLVM's OpenMP runtime " + libomp +
            " (LLVM's libomp5 package)";
    return false;
  }
  std::vector<std::string> args = {
      *driver, "-shared", "-o", outputPath, objectPath, runtime,
      // The runtime stays private to this library.
      "-Wl,--exclude-libs,ALL",
      // Every symbol must resolve now, not when a user's program loads it.
      "-Wl,-z,defs", "-Wl,-z,noexecstack", ("-Wl,-soname," + soname).str(),
      ADAGP_DNNL_LIBRARY,
      // LLVM's runtime for the __kmpc_* calls of the compiled loops
      // (NEEDED libomp.so.5), and GCC's libgomp.so.1 by name only (NEEDED
      // libgomp.so.1, oneDNN's runtime): at load time the RUNPATH resolves
      // that name to LLVM's file too, the same file as libomp.so.5, which
      // the loader then maps once. oneDNN's own request for libgomp.so.1
      // finds it loaded, and one thread team serves everything.
      libomp, "-Wl,--no-as-needed", "-lgomp", "-Wl,-rpath," + openmpDir,
      "-lstdc++", "-lm"};
  std::vector<StringRef> argRefs(args.begin(), args.end());

  SmallString<128> log;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("adagp-compile-link", "log", log)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  FileRemover removeLog(log);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string message;
  int status =
      sys::ExecuteAndWait(*driver, argRefs, std::nullopt, redirects,
                          /*SecondsToWait=*/0, /*MemoryLimit=*/0, &message);
  if (status != 0) {
    std::string command;
    for (const std::string &a : args)
      command += (command.empty() ? "" : " ") + a;
    std::string output;
    if (auto buffer = MemoryBuffer::getFile(log))
      output = (*buffer)->getBuffer().rtrim().str();
    error =
        "linking failed (" +
        (message.empty() ? "exit status " + std::to_string(status) : message) +
        "): " + command + (output.empty() ? "" : "\n" + output);
    return false;
  }
  return true;
}
