//===- FileUtils.h - Atomic output files ------------------------*- C++ -*-===//
//
// Every tool writes its outputs through these helpers so that a failing run
// never leaves a partial file behind: bytes go to a temporary file in the
// destination directory, which is renamed over the destination only once it
// is complete.
//
// No MLIR or LLVM dependency: the simulator uses it too.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_SUPPORT_FILEUTILS_H
#define ADAGP_SUPPORT_FILEUTILS_H

#include <string>
#include <string_view>

namespace adagp {

/// Writes `bytes` to `path` atomically. "-" means standard output (not
/// atomic, by nature). Returns false and sets `error` on failure.
bool writeFileAtomically(const std::string &path, std::string_view bytes,
                         std::string &error);

/// Reads a whole file. Returns false and sets `error` ("cannot open 'x': No
/// such file or directory") on failure.
bool readFile(const std::string &path, std::string &bytes, std::string &error);

/// Replaces directory `dir` by `staging` as atomically as POSIX allows:
/// `staging` is renamed to `dir` after the previous `dir` (if any) is moved
/// aside and then removed. Used for checkpoints and gradient dumps.
bool replaceDirectory(const std::string &staging, const std::string &dir,
                      std::string &error);

} // namespace adagp

#endif // ADAGP_SUPPORT_FILEUTILS_H
