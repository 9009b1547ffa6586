// tests/unit/common/safeio_test.cpp: the durable-file helper (common/safeio.hpp): new files only, the rename
// into place, and what is left behind when a step fails.
// SPDX-License-Identifier: MIT
#include "common/safeio.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
namespace safeio = mailfort::common::safeio;

namespace {

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("mailfort-safeio-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(Safeio, WriteNewCreatesAnOwnerOnlyFileOnce) {
  auto d = fresh_dir("new");
  for (auto how : {safeio::flush::none, safeio::flush::data, safeio::flush::all}) {
    auto p = d / ("f" + std::to_string(static_cast<int>(how)));
    ASSERT_FALSE(safeio::write_new(p, "hello\r\n", how));
    EXPECT_EQ(slurp(p), "hello\r\n");
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(safeio::write_new(p, "other", how), std::errc::file_exists);  // never overwrites
    EXPECT_EQ(slurp(p), "hello\r\n");
  }
  fs::remove_all(d);
}

TEST(Safeio, WriteFileReplacesAtomically) {
  auto d = fresh_dir("replace");
  fs::create_directories(d / "tmp");
  fs::create_directories(d / "new");
  ASSERT_FALSE(safeio::write_file(d / "tmp" / "a", d / "new" / "a", "one", safeio::flush::data));
  ASSERT_FALSE(safeio::write_file(d / "tmp" / "a", d / "new" / "a", "two", safeio::flush::all));
  EXPECT_EQ(slurp(d / "new" / "a"), "two");
  EXPECT_FALSE(fs::exists(d / "tmp" / "a"));
  fs::remove_all(d);
}

TEST(Safeio, FailedPublishLeavesNoTemporaryFile) {
  auto d = fresh_dir("fail");
  ASSERT_FALSE(safeio::write_new(d / "t", "x", safeio::flush::none));
  EXPECT_TRUE(safeio::publish(d / "t", d / "missing" / "t"));  // no such directory
  EXPECT_FALSE(fs::exists(d / "t"));
  EXPECT_TRUE(safeio::write_new(d / "missing" / "u", "x", safeio::flush::data));
  EXPECT_TRUE(safeio::sync_dir(d / "missing"));
  EXPECT_FALSE(safeio::sync_dir(d));
  EXPECT_FALSE(safeio::sync_filesystem(d));
  fs::remove_all(d);
}
