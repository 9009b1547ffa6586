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
  const std::vector<std::string> bads = {"../x", "a/b", ".", "..", ".hidden", "a..b", "", std::string("a\0b", 3),
                                        "a b", "j\xc3\xb6rg", std::string(65, 'a')};
  for (const auto& bad : bads)
    EXPECT_FALSE(mailbox_path(root, bad, "localhost")) << bad;
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
