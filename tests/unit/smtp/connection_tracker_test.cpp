// tests/unit/smtp/connection_tracker_test.cpp: connection caps per source prefix and per listener (issue 15 item 2).
// SPDX-License-Identifier: MIT
#include "policy/ban_score.hpp"
#include "smtp/server.hpp"

#include <gtest/gtest.h>

using namespace mailfort;
namespace asio = boost::asio;
using smtp::connection_tracker;
using smtp::listener_kind;

namespace {
// The key the server uses: the ban source prefix (guard::source_of, default /32 and /64).
std::string key(const char* a) { return policy::source_key(asio::ip::make_address(a), 32, 64); }
}  // namespace

TEST(connection_tracker, per_source_cap_is_keyed_on_the_ipv6_64) {
  connection_tracker t(1000, 2);
  EXPECT_EQ(t.acquire(key("2001:db8::1")), connection_tracker::verdict::ok);
  EXPECT_EQ(t.acquire(key("2001:db8::2")), connection_tracker::verdict::ok);
  // a third address of the same /64 is the same source
  EXPECT_EQ(t.acquire(key("2001:db8::ffff:3")), connection_tracker::verdict::too_many_per_ip);
  EXPECT_EQ(t.acquire(key("2001:db8:0:1::1")), connection_tracker::verdict::ok);  // another /64
  EXPECT_EQ(t.acquire(key("192.0.2.1")), connection_tracker::verdict::ok);
  EXPECT_EQ(t.acquire(key("192.0.2.1")), connection_tracker::verdict::ok);
  EXPECT_EQ(t.acquire(key("192.0.2.1")), connection_tracker::verdict::too_many_per_ip);
  EXPECT_EQ(t.acquire(key("192.0.2.2")), connection_tracker::verdict::ok);
  t.release(key("2001:db8::1"));
  EXPECT_EQ(t.acquire(key("2001:db8::7")), connection_tracker::verdict::ok);
  // trusted networks (exempt) are not capped per source, but count in the total
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(t.acquire(key("10.0.0.1"), listener_kind::mx, true), connection_tracker::verdict::ok);
  EXPECT_EQ(t.total(), 16u);
}

TEST(connection_tracker, each_listener_keeps_a_reserve) {
  connection_tracker t(100, 1000, 10);
  int mx = 0;
  while (t.acquire("flood", listener_kind::mx) == connection_tracker::verdict::ok) ++mx;
  EXPECT_EQ(mx, 80);  // 10 kept for 587, 10 for 465
  int sub = 0;
  while (t.acquire("user", listener_kind::submission) == connection_tracker::verdict::ok) ++sub;
  EXPECT_EQ(sub, 10);
  int subs = 0;
  while (t.acquire("user2", listener_kind::submissions) == connection_tracker::verdict::ok) ++subs;
  EXPECT_EQ(subs, 10);
  EXPECT_EQ(t.total(), 100u);
  t.release("flood", listener_kind::mx);
  EXPECT_EQ(t.acquire("flood", listener_kind::mx), connection_tracker::verdict::ok);
}

TEST(connection_tracker, reserve_only_for_configured_listeners_and_capped) {
  connection_tracker t(100, 1000, 10, {true, true, false});  // no port 465
  int mx = 0;
  while (t.acquire("flood", listener_kind::mx) == connection_tracker::verdict::ok) ++mx;
  EXPECT_EQ(mx, 90);
  connection_tracker small(3, 1000, 50);  // a reserve larger than the cap cannot lock a listener out
  EXPECT_EQ(small.acquire("a", listener_kind::mx), connection_tracker::verdict::ok);
  EXPECT_EQ(small.acquire("a", listener_kind::mx), connection_tracker::verdict::ok);
  EXPECT_EQ(small.acquire("a", listener_kind::mx), connection_tracker::verdict::ok);
}
