//===- FileUtils.cpp - Atomic output files --------------------------------===//

#include "adagp/Support/FileUtils.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace adagp {

static std::string errnoMessage(const char *what, const std::string &path) {
  return std::string(what) + " '" + path + "': " + std::strerror(errno);
}

bool writeFileAtomically(const std::string &path, std::string_view bytes,
                         std::string &error) {
  if (path == "-") {
    size_t written = std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
    if (written != bytes.size()) {
      error = "cannot write to standard output";
      return false;
    }
    return true;
  }
  // The temporary file lives next to the destination so that rename() stays
  // within one file system and is atomic.
  std::string temp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    error = errnoMessage("cannot create a temporary file for", path);
    return false;
  }
  const char *cursor = bytes.data();
  size_t remaining = bytes.size();
  while (remaining > 0) {
    ssize_t n = ::write(fd, cursor, remaining);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      error = errnoMessage("cannot write", path);
      ::close(fd);
      ::unlink(temp.c_str());
      return false;
    }
    cursor += n;
    remaining -= static_cast<size_t>(n);
  }
  // mkstemp creates files with mode 0600; outputs get the usual 0644 (minus
  // the umask) like any other file the user creates.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  if (::close(fd) != 0) {
    error = errnoMessage("cannot write", path);
    ::unlink(temp.c_str());
    return false;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    error = errnoMessage("cannot write", path);
    ::unlink(temp.c_str());
    return false;
  }
  return true;
}

bool readFile(const std::string &path, std::string &bytes,
              std::string &error) {
  FILE *file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!file) {
    error = errnoMessage("cannot open", path);
    return false;
  }
  struct stat info;
  if (file != stdin && ::fstat(::fileno(file), &info) == 0 &&
      S_ISDIR(info.st_mode)) {
    error = "cannot read '" + path + "': it is a directory";
    std::fclose(file);
    return false;
  }
  bytes.clear();
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    bytes.append(buffer, n);
  bool failed = std::ferror(file);
  if (file != stdin)
    std::fclose(file);
  if (failed) {
    error = errnoMessage("cannot read", path);
    return false;
  }
  return true;
}

bool replaceDirectory(const std::string &staging, const std::string &dir,
                      std::string &error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string old = dir + ".old";
  fs::remove_all(old, ec);
  bool hadOld = fs::exists(dir, ec);
  if (hadOld && ::rename(dir.c_str(), old.c_str()) != 0) {
    error = errnoMessage("cannot replace", dir);
    return false;
  }
  if (::rename(staging.c_str(), dir.c_str()) != 0) {
    error = errnoMessage("cannot replace", dir);
    if (hadOld)
      ::rename(old.c_str(), dir.c_str());
    return false;
  }
  fs::remove_all(old, ec);
  return true;
}

} // namespace adagp
