// tests/unit/address/address_db_test.cpp: domains, aliases, allowed senders and catch-alls in state.db, and
// the snapshot noticing another connection's change.
// SPDX-License-Identifier: MIT
#include "address/address_db.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

using namespace mailfort::address;

namespace {
struct temp_dir {
  std::filesystem::path p;
  temp_dir() {
    char tmpl[] = "/tmp/mailfort-adb-XXXXXX";
    p = mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(p); }
};

TEST(AddressDb, DomainsAndCatchAll) {
  temp_dir t;
  address_db db((t.p / "state.db").string());
  EXPECT_TRUE(db.add_domain("Example.ORG"));
  EXPECT_FALSE(db.add_domain("example.org"));
  EXPECT_THROW(db.add_domain("bad/name"), std::invalid_argument);
  db.set_catch_all("example.org", "alice@example.org");
  EXPECT_THROW(db.set_catch_all("other.org", "alice@example.org"), std::runtime_error);
  auto l = db.list_domains();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].name, "example.org");
  EXPECT_EQ(l[0].catch_all, "alice@example.org");
  auto b = db.snapshot();
  EXPECT_EQ(b->domains.count("example.org"), 1u);
  EXPECT_EQ(b->catch_all.at("example.org"), "alice@example.org");
  db.set_catch_all("example.org", "");
  EXPECT_EQ(db.snapshot()->catch_all.count("example.org"), 0u);
  EXPECT_TRUE(db.remove_domain("example.org"));
  EXPECT_FALSE(db.remove_domain("example.org"));
  struct stat st {};
  ASSERT_EQ(::stat((t.p / "state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(AddressDb, Aliases) {
  temp_dir t;
  address_db db((t.p / "state.db").string());
  db.add_alias("Sales@example.org", {"alice@example.org", "friend@remote.test"}, {"alice@example.org"});
  db.add_alias("sales@example.org", {"bob@example.org", "alice@example.org"}, {});
  EXPECT_THROW(db.add_alias("x@example.org", {"x@example.org"}, {}), std::invalid_argument);
  EXPECT_THROW(db.add_alias("x@example.org", {}, {}), std::invalid_argument);
  EXPECT_THROW(db.add_alias("x@example.org", {"not an address"}, {}), std::invalid_argument);
  auto l = db.list_aliases();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].address, "sales@example.org");
  EXPECT_EQ(l[0].targets, (std::vector<std::string>{"alice@example.org", "friend@remote.test", "bob@example.org"}));
  EXPECT_EQ(l[0].senders, std::vector<std::string>{"alice@example.org"});
  EXPECT_TRUE(db.remove_alias("sales@example.org"));
  EXPECT_FALSE(db.remove_alias("sales@example.org"));
  EXPECT_TRUE(db.snapshot()->senders.empty());
}

TEST(AddressDb, SnapshotSeesOtherConnections) {
  temp_dir t;
  const std::string path = (t.p / "state.db").string();
  address_db server(path);
  auto before = server.snapshot();
  EXPECT_TRUE(before->aliases.empty());
  EXPECT_EQ(server.snapshot(), before);  // unchanged: the same snapshot
  {
    address_db cli(path);
    cli.add_alias("team@example.org", {"alice@example.org"}, {});
  }
  auto after = server.snapshot();
  EXPECT_NE(after, before);
  EXPECT_EQ(after->aliases.count("team@example.org"), 1u);
  // Removals too, however many snapshots were taken in between.
  server.add_domain("example.org");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(server.snapshot()->domains.count("example.org"), 1u);
  {
    address_db cli(path);
    EXPECT_TRUE(cli.remove_domain("example.org"));
    EXPECT_TRUE(cli.remove_alias("team@example.org"));
  }
  EXPECT_EQ(server.snapshot()->domains.count("example.org"), 0u);
  EXPECT_EQ(server.snapshot()->aliases.count("team@example.org"), 0u);
}

}  // namespace
