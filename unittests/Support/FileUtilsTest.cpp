//===- FileUtilsTest.cpp - Atomic output files -----------------------------===//

#include "adagp/Support/FileUtils.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace adagp;
namespace fs = std::filesystem;

TEST(FileUtils, WritesAtomicallyAndLeavesNoTemporaries) {
  fs::path dir = fs::temp_directory_path() / "adagp-fileutils-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string path = (dir / "out.bin").string();
  std::string error;
  ASSERT_TRUE(writeFileAtomically(path, "first", error)) << error;
  ASSERT_TRUE(writeFileAtomically(path, "second", error)) << error;
  std::string bytes;
  ASSERT_TRUE(readFile(path, bytes, error)) << error;
  EXPECT_EQ(bytes, "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()),
            1);
  // A directory that does not exist: an error naming the file, no output.
  EXPECT_FALSE(writeFileAtomically((dir / "no/such/out.bin").string(), "x",
                                   error));
  EXPECT_NE(error.find("out.bin"), std::string::npos);
  fs::remove_all(dir);
}

TEST(FileUtils, ReplacesDirectories) {
  fs::path dir = fs::temp_directory_path() / "adagp-replace-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "current");
  fs::create_directories(dir / "staging");
  std::string error;
  ASSERT_TRUE(writeFileAtomically((dir / "staging/a").string(), "new", error));
  ASSERT_TRUE(replaceDirectory((dir / "staging").string(),
                               (dir / "current").string(), error))
      << error;
  EXPECT_TRUE(fs::exists(dir / "current/a"));
  EXPECT_FALSE(fs::exists(dir / "staging"));
  EXPECT_FALSE(fs::exists(dir / "current.old"));
  fs::remove_all(dir);
}
