// tests/unit/queue/maildir_test.cpp: Maildir paths cannot escape; delivery is tmp -> new.
// SPDX-License-Identifier: MIT
#include "delivery/maildir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

using namespace mailfort::delivery;
namespace fs = std::filesystem;

TEST(maildir, path_traversal_refused) {
  fs::path root = "/srv/mail";
  EXPECT_EQ(*mailbox_path(root, "Alice", "LocalHost"), root / "localhost" / "alice");
  const std::vector<std::string> bads = {"../x",
                                         "a/b",
                                         ".",
                                         "..",
                                         ".hidden",
                                         "a..b",
                                         "",
                                         std::string("a\0b", 3),
                                         "a b",
                                         "j\xc3\xb6rg",
                                         std::string(65, 'a')};
  for (const auto& bad : bads) EXPECT_FALSE(mailbox_path(root, bad, "localhost")) << bad;
  EXPECT_FALSE(mailbox_path(root, "alice", "../etc"));
  EXPECT_FALSE(mailbox_path(root, "alice", "a/b"));
}

TEST(maildir, delivers_into_new) {
  char tmpl[] = "/tmp/mailfort-md-XXXXXX";
  fs::path root = mkdtemp(tmpl);
  std::string name;
  ASSERT_FALSE(deliver_maildir(root / "box", "Subject: x\r\n\r\nhi\r\n", &name));
  EXPECT_TRUE(fs::is_empty(root / "box" / "tmp"));
  EXPECT_TRUE(fs::exists(root / "box" / "new" / name));
  EXPECT_TRUE(fs::is_directory(root / "box" / "cur"));
  std::string name2;
  ASSERT_FALSE(deliver_maildir(root / "box", "x", &name2));
  EXPECT_NE(name, name2);
  EXPECT_NE(name.find(",S=18"), std::string::npos);
  fs::remove_all(root);
}

TEST(maildir, staged_batch_commit) {
  char tmpl[] = "/tmp/mailfort-md-XXXXXX";
  fs::path root = mkdtemp(tmpl);
  std::vector<staged_file> files(3);
  ASSERT_FALSE(stage_maildir(root / "a", "one", files[0]));
  ASSERT_FALSE(stage_maildir(root / "b", "two", files[1]));
  ASSERT_FALSE(stage_maildir(root / "a", "three", files[2]));
  EXPECT_TRUE(fs::is_empty(root / "a" / "new"));  // nothing visible before the commit
  auto res = commit_maildir(files);
  ASSERT_EQ(res.size(), 3u);
  for (const auto& e : res) EXPECT_FALSE(e);
  EXPECT_TRUE(fs::is_empty(root / "a" / "tmp"));
  EXPECT_TRUE(fs::exists(files[0].final_path) && fs::exists(files[1].final_path) && fs::exists(files[2].final_path));
  std::vector<staged_file> lost(1);
  ASSERT_FALSE(stage_maildir(root / "c", "gone", lost[0]));
  fs::remove_all(root / "c" / "new");  // the rename fails: the error is reported, tmp/ is cleaned
  auto r2 = commit_maildir(lost);
  EXPECT_TRUE(r2[0]);
  EXPECT_TRUE(fs::is_empty(root / "c" / "tmp"));
  fs::remove_all(root);
}
