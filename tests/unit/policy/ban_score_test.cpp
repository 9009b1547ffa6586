// tests/unit/policy/ban_score_test.cpp: scores, windows, escalation, source prefixes.
// SPDX-License-Identifier: MIT
#include "policy/ban_score.hpp"

#include <gtest/gtest.h>

using namespace mailfort;
using namespace std::chrono_literals;
namespace asio = boost::asio;

TEST(ban_score, five_failures_in_ten_minutes) {
  common::manual_clock clk;
  policy::ban_score s({});
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(s.add("a", policy::offence::auth_failure, clk.now()).ban);
  auto v = s.add("a", policy::offence::auth_failure, clk.now());
  EXPECT_TRUE(v.ban);
  EXPECT_EQ(v.duration, 3600s);
  EXPECT_FALSE(s.add("b", policy::offence::auth_failure, clk.now()).ban);
}

TEST(ban_score, points_expire_after_window) {
  common::manual_clock clk;
  policy::ban_score s({});
  for (int i = 0; i < 4; ++i) s.add("a", policy::offence::auth_failure, clk.now());
  clk.advance(11min);
  EXPECT_FALSE(s.add("a", policy::offence::auth_failure, clk.now()).ban);
  EXPECT_DOUBLE_EQ(s.score("a", clk.now()), 1.0);
}

TEST(ban_score, repeat_offenders_double_up_to_cap) {
  common::manual_clock clk;
  policy::ban_settings st;
  st.max_duration = 5h;
  policy::ban_score s(st);
  std::vector<std::chrono::seconds> got;
  for (int round = 0; round < 5; ++round) {
    policy::ban_score::verdict v;
    while (!(v = s.add("a", policy::offence::smuggling, clk.now())).ban) {
    }
    got.push_back(v.duration);
  }
  EXPECT_EQ(got, (std::vector<std::chrono::seconds>{1h, 2h, 4h, 5h, 5h}));
}

TEST(ban_score, weights) {
  common::manual_clock clk;
  policy::ban_score s({});
  EXPECT_TRUE(s.add("x", policy::offence::smuggling, clk.now()).ban);  // one smuggling attempt: banned
  for (int i = 0; i < 19; ++i) EXPECT_FALSE(s.add("y", policy::offence::unknown_recipient, clk.now()).ban);
  EXPECT_TRUE(s.add("y", policy::offence::unknown_recipient, clk.now()).ban);  // 20 unknown recipients
}

TEST(ban_score, source_prefixes) {
  EXPECT_EQ(policy::source_key(asio::ip::make_address("192.0.2.77"), 32, 64), "192.0.2.77/32");
  EXPECT_EQ(policy::source_key(asio::ip::make_address("192.0.2.77"), 24, 64), "192.0.2.0/24");
  EXPECT_EQ(policy::source_key(asio::ip::make_address("2001:db8:1:2:3:4:5:6"), 32, 64), "2001:db8:1:2::/64");
  EXPECT_EQ(policy::source_key(asio::ip::make_address("::ffff:192.0.2.1"), 32, 64), "192.0.2.1/32");
  EXPECT_EQ(*policy::parse_source("10.1.2.3/16", 32, 64), "10.1.0.0/16");
  EXPECT_FALSE(policy::parse_source("10.1.2.3/33", 32, 64));
  EXPECT_FALSE(policy::parse_source("example.org", 32, 64));
}

TEST(ban_score, one_protocol_slip_does_not_ban_repeats_do) {  // issue 15 item 7: an office NAT's broken client
  common::manual_clock clk;
  policy::ban_score s({});
  EXPECT_FALSE(s.add("nat", policy::offence::protocol_slip, clk.now()).ban);
  EXPECT_TRUE(s.add("nat", policy::offence::protocol_slip, clk.now()).ban);
}

TEST(ban_score, sweep_drops_expired_scores_and_old_history) {
  common::manual_clock clk;
  policy::ban_settings st;
  st.history = 24h;
  policy::ban_score s(st);
  s.add("a", policy::offence::auth_failure, clk.now());
  while (!s.add("b", policy::offence::smuggling, clk.now()).ban) {
  }
  EXPECT_EQ(s.tracked_sources(), 1u);
  EXPECT_EQ(s.history_size(), 1u);
  clk.advance(11min);
  s.sweep(clk.now());
  EXPECT_EQ(s.tracked_sources(), 0u);
  EXPECT_EQ(s.history_size(), 1u);  // the ban (1 h) ended less than a day ago
  clk.advance(26h);
  s.sweep(clk.now());
  EXPECT_EQ(s.history_size(), 0u);
  EXPECT_EQ(s.previous_bans("b"), 0u);
}
