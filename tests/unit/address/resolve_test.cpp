// tests/unit/address/resolve_test.cpp: alias expansion (recursion, depth, loops, duplicates), subaddresses,
// postmaster@/abuse@, catch-all and send-as (address/resolve.hpp).
// SPDX-License-Identifier: MIT
#include "address/resolve.hpp"

#include <gtest/gtest.h>

using namespace mailfort::address;

namespace {

const std::function<bool(std::string_view)> local = [](std::string_view d) {
  return d == "example.org" || d == "example.net";
};

book sample() {
  book b;
  for (const char* u : {"alice@example.org", "bob@example.org", "carol@example.net"}) {
    b.users.insert(u);
    b.users_in_order.emplace_back(u);
  }
  b.aliases["sales@example.org"] = {"alice@example.org", "bob@example.org", "friend@remote.test"};
  b.aliases["team@example.org"] = {"sales@example.org", "alice@example.org"};
  b.aliases["a@example.org"] = {"b@example.org"};
  b.aliases["b@example.org"] = {"a@example.org"};
  b.aliases["c@example.org"] = {"d@example.org", "bob@example.org"};
  b.aliases["d@example.org"] = {"c@example.org"};
  b.senders["sales@example.org"] = {"alice@example.org"};
  return b;
}

TEST(Resolve, UserIsItself) {
  auto r = resolve("Alice@Example.ORG", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.recipients, std::vector<std::string>{"alice@example.org"});
  EXPECT_FALSE(r.via_alias);
}

TEST(Resolve, UnknownStaysUnknown) {
  auto r = resolve("nobody@example.org", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::unknown);
  EXPECT_TRUE(r.recipients.empty());
}

TEST(Resolve, AliasToLocalAndRemote) {
  auto r = resolve("sales@example.org", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.recipients, (std::vector<std::string>{"alice@example.org", "bob@example.org", "friend@remote.test"}));
  EXPECT_TRUE(r.via_alias);
}

TEST(Resolve, RecursiveAndDeduplicated) {
  auto r = resolve("team@example.org", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.recipients, (std::vector<std::string>{"alice@example.org", "bob@example.org", "friend@remote.test"}));
}

TEST(Resolve, PureLoopIsDetected) {
  auto r = resolve("a@example.org", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::loop);
  EXPECT_TRUE(r.recipients.empty());
}

TEST(Resolve, LoopWithAnExitDeliversTheExit) {
  auto r = resolve("c@example.org", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.recipients, std::vector<std::string>{"bob@example.org"});
  EXPECT_TRUE(r.loop_seen);
}

TEST(Resolve, DepthLimit) {
  book b = sample();
  for (int i = 0; i < 20; ++i)
    b.aliases["l" + std::to_string(i) + "@example.org"] = {"l" + std::to_string(i + 1) + "@example.org"};
  b.aliases["l20@example.org"] = {"alice@example.org"};
  options o;
  o.max_depth = 8;
  EXPECT_EQ(resolve("l0@example.org", b, o, local).result, outcome::too_deep);
  EXPECT_EQ(resolve("l15@example.org", b, o, local).result, outcome::ok);
}

TEST(Resolve, TooManyTargets) {
  book b = sample();
  for (int i = 0; i < 5; ++i) b.aliases["big@example.org"].push_back("x" + std::to_string(i) + "@remote.test");
  options o;
  o.max_targets = 4;
  EXPECT_EQ(resolve("big@example.org", b, o, local).result, outcome::too_many);
  o.max_targets = 5;
  EXPECT_EQ(resolve("big@example.org", b, o, local).result, outcome::ok);
}

TEST(Resolve, Subaddress) {
  auto r = resolve("alice+news@example.org", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.recipients, std::vector<std::string>{"alice+news@example.org"});
  options off;
  off.delimiter = "";
  EXPECT_EQ(resolve("alice+news@example.org", sample(), off, local).result, outcome::unknown);
  options dash;
  dash.delimiter = "-";
  EXPECT_EQ(resolve("alice-news@example.org", sample(), dash, local).recipients,
            std::vector<std::string>{"alice-news@example.org"});
  // Nothing before or after the delimiter is no subaddress.
  EXPECT_EQ(resolve("alice+@example.org", sample(), {}, local).result, outcome::unknown);
  EXPECT_EQ(resolve("+news@example.org", sample(), {}, local).result, outcome::unknown);
  // An alias's subaddress expands the alias.
  EXPECT_EQ(resolve("sales+x@example.org", sample(), {}, local).recipients.size(), 3u);
}

TEST(Resolve, UserWithDelimiterInNameWins) {
  book b = sample();
  b.users.insert("dave+x@example.org");
  EXPECT_EQ(resolve("dave+x@example.org", b, {}, local).recipients, std::vector<std::string>{"dave+x@example.org"});
}

TEST(Resolve, RoleAddressesAlwaysResolve) {
  auto r = resolve("postmaster@example.org", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.recipients, std::vector<std::string>{"alice@example.org"});  // first user of the domain
  EXPECT_EQ(resolve("ABUSE@example.net", sample(), {}, local).recipients,
            std::vector<std::string>{"carol@example.net"});
  options o;
  o.postmaster = "bob@example.org";
  EXPECT_EQ(resolve("abuse@example.net", sample(), o, local).recipients, std::vector<std::string>{"bob@example.org"});
  book b = sample();
  b.aliases["postmaster@example.org"] = {"bob@example.org"};  // an explicit alias wins
  EXPECT_EQ(resolve("postmaster@example.org", b, {}, local).recipients, std::vector<std::string>{"bob@example.org"});
  book none;
  EXPECT_EQ(resolve("postmaster@example.org", none, {}, local).result, outcome::unknown);
}

TEST(Resolve, RoleFallsBackToFirstUserOfAnyDomain) {
  book b;
  b.users = {"carol@example.net"};
  b.users_in_order = {"carol@example.net"};
  EXPECT_EQ(resolve("postmaster@example.org", b, {}, local).recipients, std::vector<std::string>{"carol@example.net"});
}

TEST(Resolve, CatchAllPerDomain) {
  book b = sample();
  b.catch_all["example.net"] = "carol@example.net";
  EXPECT_EQ(resolve("anything@example.net", b, {}, local).recipients, std::vector<std::string>{"carol@example.net"});
  EXPECT_EQ(resolve("anything@example.org", b, {}, local).result, outcome::unknown);
  // A catch-all pointing at itself (or at an address that comes back) is a loop, not a hang.
  b.catch_all["example.org"] = "nobody@example.org";
  EXPECT_EQ(resolve("anything@example.org", b, {}, local).result, outcome::loop);
}

TEST(Resolve, RemoteIsItself) {
  auto r = resolve("someone@remote.test", sample(), {}, local);
  EXPECT_EQ(r.result, outcome::ok);
  EXPECT_EQ(r.recipients, std::vector<std::string>{"someone@remote.test"});
}

TEST(Resolve, SplitSubaddress) {
  auto s = split_subaddress("Alice+News@Example.org", "+");
  EXPECT_EQ(s.base, "alice@example.org");
  EXPECT_EQ(s.tag, "news");
  EXPECT_TRUE(split_subaddress("alice@example.org", "+").base.empty());
  EXPECT_TRUE(split_subaddress("alice+x", "+").base.empty());
  EXPECT_EQ(split_subaddress("a+b+c@x.org", "+").tag, "b+c");
}

TEST(Resolve, RoleAddress) {
  EXPECT_TRUE(is_role_address("Postmaster@x.org"));
  EXPECT_TRUE(is_role_address("abuse@x.org"));
  EXPECT_FALSE(is_role_address("abuser@x.org"));
  EXPECT_FALSE(is_role_address("postmaster"));
}

TEST(SendAs, OwnSubaddressAndAllowedAliases) {
  const book b = sample();
  EXPECT_TRUE(may_send_as("alice@example.org", "ALICE@example.org", b, "+"));
  EXPECT_TRUE(may_send_as("alice@example.org", "alice+news@example.org", b, "+"));
  EXPECT_TRUE(may_send_as("alice@example.org", "sales@example.org", b, "+"));
  EXPECT_TRUE(may_send_as("alice@example.org", "sales+x@example.org", b, "+"));
  EXPECT_FALSE(may_send_as("bob@example.org", "sales@example.org", b, "+"));
  EXPECT_FALSE(may_send_as("alice@example.org", "bob@example.org", b, "+"));
  EXPECT_FALSE(may_send_as("alice@example.org", "bob+alice@example.org", b, "+"));
  EXPECT_FALSE(may_send_as("alice@example.org", "alice@example.net", b, "+"));
  EXPECT_FALSE(may_send_as("alice@example.org", "alice+news@example.org", b, ""));
  EXPECT_FALSE(may_send_as("", "", b, "+"));
  EXPECT_FALSE(may_send_as("alice@example.org", "team@example.org", b, "+"));
}

TEST(SafeFolderTag, Names) {
  EXPECT_TRUE(safe_folder_tag("news"));
  EXPECT_TRUE(safe_folder_tag("a-b_1"));
  EXPECT_FALSE(safe_folder_tag(""));
  EXPECT_FALSE(safe_folder_tag(".."));
  EXPECT_FALSE(safe_folder_tag("a/b"));
  EXPECT_FALSE(safe_folder_tag("a.b"));
  EXPECT_FALSE(safe_folder_tag(std::string(65, 'a')));
}

}  // namespace
