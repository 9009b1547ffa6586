// tests/unit/policy/rate_limiter_test.cpp: token buckets with an injected clock.
// SPDX-License-Identifier: MIT
#include "policy/rate_limiter.hpp"

#include <gtest/gtest.h>

using namespace mailfort;
using namespace std::chrono_literals;

TEST(rate_limiter, burst_then_refill) {
  common::manual_clock clk;
  policy::rate_limiter r(10, 3600s);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(r.allow("a", clk.now())) << i;
  EXPECT_FALSE(r.allow("a", clk.now()));
  EXPECT_TRUE(r.allow("b", clk.now()));  // keys are independent
  clk.advance(359s);
  EXPECT_FALSE(r.allow("a", clk.now()));
  clk.advance(2s);  // one token per 360 s
  EXPECT_TRUE(r.allow("a", clk.now()));
  EXPECT_FALSE(r.allow("a", clk.now()));
  clk.advance(10h);
  EXPECT_DOUBLE_EQ(r.available("a", clk.now()), 10.0);  // never above capacity
}

TEST(rate_limiter, disabled_and_clock_step_back) {
  common::manual_clock clk;
  policy::rate_limiter off(0, 60s);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(off.allow("a", clk.now()));
  policy::rate_limiter r(1, 60s);
  EXPECT_TRUE(r.allow("a", clk.now()));
  auto earlier = clk.now() - 1h;
  EXPECT_FALSE(r.allow("a", earlier));  // a clock stepped back mints no tokens
}

TEST(rate_limiter, bounded_keys) {
  common::manual_clock clk;
  policy::rate_limiter r(1, 60s, 100);
  for (int i = 0; i < 1000; ++i) r.allow("k" + std::to_string(i), clk.now());
  EXPECT_LE(r.size(), 100u);
  clk.advance(2min);
  r.allow("new", clk.now());  // full buckets are pruned first
  EXPECT_LE(r.size(), 2u);
}
