// tests/unit/policy/guard_test.cpp: the guard with a real SQLite file and an injected clock.
// SPDX-License-Identifier: MIT
#include "policy/guard.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace mailfort;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {
struct temp_db {
  std::filesystem::path dir;
  temp_db() {
    char tmpl[] = "/tmp/mailfort-guard-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~temp_db() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "state.db").string(); }
};
const auto attacker = asio::ip::make_address("192.0.2.2");
const auto owner = asio::ip::make_address("192.0.2.1");
}  // namespace

TEST(guard, brute_force_bans_the_source_not_the_account_and_persists) {
  temp_db db;
  common::manual_clock clk;
  {
    policy::guard g(db.path(), {}, {}, {}, clk);
    for (int i = 0; i < 4; ++i) EXPECT_FALSE(g.record(attacker, policy::offence::auth_failure));
    auto ban = g.record(attacker, policy::offence::auth_failure);
    ASSERT_TRUE(ban);
    EXPECT_EQ(ban->source, "192.0.2.2/32");
    EXPECT_FALSE(g.on_connect(attacker).allowed);
    EXPECT_TRUE(g.on_connect(owner).allowed);
  }
  policy::guard again(db.path(), {}, {}, {}, clk);  // a restart
  EXPECT_FALSE(again.on_connect(attacker).allowed);
  clk.advance(61min);
  EXPECT_TRUE(again.on_connect(attacker).allowed);
  for (int i = 0; i < 5; ++i) again.record(attacker, policy::offence::auth_failure);
  auto l = again.list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].until - l[0].created, 7200);  // second ban: doubled, history survived the restart
}

TEST(guard, allowlist_never_banned_and_admin_ops) {
  temp_db db;
  common::manual_clock clk;
  policy::guard g(db.path(), {}, {}, {"192.0.2.0/24"}, clk);
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(g.record(attacker, policy::offence::smuggling));
  EXPECT_TRUE(g.on_connect(attacker).allowed);
  auto other = asio::ip::make_address("198.51.100.9");
  g.ban("198.51.100.0/24", 1h, "manual");
  g.refresh();
  auto v = g.on_connect(other);
  EXPECT_FALSE(v.allowed);  // a /24 ban covers every host in it
  EXPECT_TRUE(g.unban("198.51.100.0/24"));
  EXPECT_FALSE(g.unban("198.51.100.0/24"));
  EXPECT_TRUE(g.on_connect(other).allowed);
}

TEST(guard, rate_limits) {
  temp_db db;
  common::manual_clock clk;
  policy::limits_settings l;
  l.messages_per_hour_per_ip = 3;
  l.messages_per_hour_per_user = 2;
  l.auth_per_minute_per_ip = 2;
  l.connections_per_minute_per_ip = 2;
  policy::guard g(db.path(), {}, l, {}, clk);
  std::string rule;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(g.allow_message(attacker, "", rule));
  EXPECT_FALSE(g.allow_message(attacker, "", rule));
  EXPECT_EQ(rule, "messages_per_hour_per_ip");
  EXPECT_TRUE(g.allow_message(attacker, "alice@localhost", rule));  // authenticated: per user
  EXPECT_TRUE(g.allow_message(owner, "alice@localhost", rule));
  EXPECT_FALSE(g.allow_message(owner, "alice@localhost", rule));
  EXPECT_EQ(rule, "messages_per_hour_per_user");
  EXPECT_TRUE(g.allow_auth(attacker));
  EXPECT_TRUE(g.allow_auth(attacker));
  EXPECT_FALSE(g.allow_auth(attacker));
  EXPECT_TRUE(g.on_connect(owner).allowed);
  EXPECT_TRUE(g.on_connect(owner).allowed);
  auto v = g.on_connect(owner);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.rule, "connection_rate");
  clk.advance(1min);
  EXPECT_TRUE(g.on_connect(owner).allowed);
}

TEST(guard, greeting_memory) {
  temp_db db;
  common::manual_clock clk;
  policy::limits_settings l;
  l.greeting_memory = 1h;
  policy::guard g(db.path(), {}, l, {}, clk);
  EXPECT_FALSE(g.greeting_passed(owner));
  g.mark_greeting_passed(owner);
  EXPECT_TRUE(g.greeting_passed(owner));
  clk.advance(2h);
  EXPECT_FALSE(g.greeting_passed(owner));
}
