// tests/unit/policy/guard_test.cpp: the guard with a real SQLite file and an injected clock.
// SPDX-License-Identifier: MIT
#include "policy/guard.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <thread>

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

// ---- issue 15: ban state that stays small, /48 scores, bans seen by open sessions, trusted exemptions ----------

namespace {
std::size_t rows(const temp_db& db) {
  sqlite3* h = nullptr;
  sqlite3_open(db.path().c_str(), &h);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "SELECT count(*) FROM bans", -1, &st, nullptr);
  std::size_t n = sqlite3_step(st) == SQLITE_ROW ? static_cast<std::size_t>(sqlite3_column_int64(st, 0)) : 0;
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}
asio::ip::address v6(int net48, int net64, int host) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::%x", net48, net64, host);
  return asio::ip::make_address(buf);
}
}  // namespace

TEST(guard, connection_cap_key_is_the_ban_source) {
  temp_db db;
  common::manual_clock clk;
  policy::guard g(db.path(), {}, {}, {}, clk);
  EXPECT_EQ(g.source_of(v6(1, 2, 3)), "2001:db8:1:2::/64");
  EXPECT_EQ(g.source_of(v6(1, 2, 3)), g.source_of(asio::ip::make_address("2001:db8:1:2:ffff:ffff:ffff:ffff")));
  EXPECT_NE(g.source_of(v6(1, 2, 3)), g.source_of(v6(1, 3, 3)));
  EXPECT_EQ(g.source_of(asio::ip::make_address("::ffff:192.0.2.9")), "192.0.2.9/32");
  EXPECT_EQ(g.wide_source_of(v6(1, 2, 3)), "2001:db8:1::/48");
  EXPECT_EQ(g.wide_source_of(attacker), "");
}

TEST(guard, ipv6_48_score_stops_rotation_through_64s) {
  temp_db db;
  common::manual_clock clk;
  policy::guard g(db.path(), {}, {}, {}, clk);
  // 4 failures per /64 never reach the threshold of 5; 65,536 fresh /64s would each start at zero. The /48
  // score bans the whole /48 at 4 x 5 points.
  std::optional<policy::ban_record> ban;
  int nets = 0;
  for (; nets < 100 && !ban; ++nets)
    for (int k = 0; k < 4 && !ban; ++k) ban = g.record(v6(1, nets, 1), policy::offence::auth_failure);
  ASSERT_TRUE(ban);
  EXPECT_EQ(ban->source, "2001:db8:1::/48");
  EXPECT_EQ(nets, 5);
  EXPECT_FALSE(g.on_connect(v6(1, 0xffff, 9)).allowed);
  EXPECT_TRUE(g.on_connect(v6(2, 0, 9)).allowed);  // the neighbouring /48 is not touched
}

TEST(guard, ipv6_48_rate_limit) {
  temp_db db;
  common::manual_clock clk;
  policy::limits_settings l;
  l.messages_per_hour_per_ip = 2;
  policy::guard g(db.path(), {}, l, {}, clk);
  std::string rule;
  int allowed = 0;
  for (int net = 0; net < 20; ++net)
    for (int k = 0; k < 2; ++k) allowed += g.allow_message(v6(1, net, 1), "", rule) ? 1 : 0;
  EXPECT_EQ(allowed, 8);  // 2 per /64, 4 x 2 per /48
  EXPECT_TRUE(g.allow_message(v6(2, 0, 1), "", rule));
}

TEST(guard, generation_tells_open_sessions_about_new_bans) {
  temp_db db;
  common::manual_clock clk;
  policy::guard g(db.path(), {}, {}, {}, clk);
  auto gen = g.generation();
  EXPECT_FALSE(g.banned(attacker));
  for (int i = 0; i < 4; ++i) g.record(attacker, policy::offence::auth_failure);
  EXPECT_EQ(g.generation(), gen);
  g.record(attacker, policy::offence::auth_failure);
  EXPECT_NE(g.generation(), gen);
  EXPECT_TRUE(g.banned(attacker));
  EXPECT_FALSE(g.banned(owner));
}

TEST(guard, refresh_reads_changes_from_other_processes_and_sweeps) {
  temp_db db;
  common::manual_clock clk;
  policy::ban_settings b;
  b.history = 24h;
  policy::guard server(db.path(), b, {}, {}, clk);
  const auto other = asio::ip::make_address("198.51.100.7");
  {
    policy::guard cli(db.path(), b, {}, {}, clk);  // `mailfort ban add`
    cli.ban("198.51.100.7/32", 1h, "manual");
  }
  auto gen = server.generation();
  server.refresh();
  EXPECT_TRUE(server.banned(other));
  EXPECT_NE(server.generation(), gen);
  {
    policy::guard cli(db.path(), b, {}, {}, clk);  // `mailfort ban del`
    EXPECT_TRUE(cli.unban("198.51.100.7/32"));
  }
  server.refresh();
  EXPECT_FALSE(server.banned(other));
  EXPECT_EQ(rows(db), 1u);  // kept for escalation

  // A ban that ends leaves memory at the next sweep; its row (the escalation history) stays ban.history_s.
  for (int i = 0; i < 5; ++i) server.record(attacker, policy::offence::auth_failure);
  server.record(owner, policy::offence::auth_failure);  // a score below the threshold
  server.refresh();
  EXPECT_EQ(rows(db), 2u);
  EXPECT_EQ(server.sizes().bans, 1u);
  EXPECT_EQ(server.sizes().scores, 1u);
  clk.advance(2h);
  server.refresh();
  EXPECT_EQ(server.sizes().bans, 0u);
  EXPECT_EQ(server.sizes().scores, 0u);  // swept, not kept forever
  EXPECT_EQ(rows(db), 2u);
  for (int i = 0; i < 5; ++i) server.record(attacker, policy::offence::auth_failure);
  auto l = server.list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].until - l[0].created, 7200);  // escalated: the history was kept
  clk.advance(30h);
  server.refresh();
  EXPECT_EQ(rows(db), 0u);  // every ban ended more than a day ago: deleted
  EXPECT_EQ(server.sizes().history, 0u);
}

TEST(guard, trusted_networks_exempt_from_rate_limits) {
  temp_db db;
  common::manual_clock clk;
  policy::limits_settings l;
  l.connections_per_minute_per_ip = 1;
  l.messages_per_hour_per_ip = 1;
  l.recipients_per_hour_per_ip = 1;
  l.auth_per_minute_per_ip = 1;
  l.exempt_networks = {"10.0.0.0/8"};
  policy::guard g(db.path(), {}, l, {"10.0.0.0/8"}, clk);
  const auto relay = asio::ip::make_address("10.1.2.3");
  std::string rule;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(g.on_connect(relay).allowed);
    EXPECT_TRUE(g.allow_message(relay, "", rule));
    EXPECT_TRUE(g.allow_recipient(relay, "", rule));
    EXPECT_TRUE(g.allow_auth(relay));
  }
  EXPECT_TRUE(g.rate_exempt(relay));
  EXPECT_FALSE(g.rate_exempt(attacker));
  EXPECT_TRUE(g.on_connect(attacker).allowed);
  EXPECT_FALSE(g.on_connect(attacker).allowed);
}

TEST(guard, background_thread_writes_bans) {
  temp_db db;
  common::manual_clock clk;
  policy::guard g(db.path(), {}, {}, {}, clk);
  g.start(std::chrono::milliseconds(20));
  g.ban("203.0.113.0/24", 1h, "manual");
  for (int i = 0; i < 5; ++i) g.record(attacker, policy::offence::auth_failure);
  for (int i = 0; i < 200 && rows(db) < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(rows(db), 2u);
  g.stop();
}
