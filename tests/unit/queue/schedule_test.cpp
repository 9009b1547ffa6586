// tests/unit/queue/schedule_test.cpp: retry backoff (doubling, cap, jitter bounds) and queue lifetime.
// SPDX-License-Identifier: MIT
#include "queue/schedule.hpp"

#include <gtest/gtest.h>

using namespace mailfort::queue;

TEST(Schedule, DoublesFromMinToMaxWithoutJitter) {
  retry_settings s;  // 300 s doubling to 4 h
  EXPECT_EQ(retry_delay(1, s, 0.5), 300);
  EXPECT_EQ(retry_delay(2, s, 0.5), 600);
  EXPECT_EQ(retry_delay(3, s, 0.5), 1200);
  EXPECT_EQ(retry_delay(6, s, 0.5), 9600);
  EXPECT_EQ(retry_delay(7, s, 0.5), 14400);  // capped
  EXPECT_EQ(retry_delay(1000000, s, 0.5), 14400);
  EXPECT_EQ(retry_delay(0, s, 0.5), 300);  // 0 attempts counts as the first
}

TEST(Schedule, JitterStaysWithinBounds) {
  retry_settings s;
  s.jitter = 0.2;
  EXPECT_EQ(retry_delay(1, s, 0.0), 240);
  EXPECT_EQ(retry_delay(1, s, 1.0), 360);
  for (double u = 0; u < 1; u += 0.01) {
    auto d = retry_delay(4, s, u);
    EXPECT_GE(d, 1920);
    EXPECT_LE(d, 2880);
  }
  // Garbage random input does not produce garbage delays.
  EXPECT_EQ(retry_delay(1, s, 7.0), 360);
  EXPECT_EQ(retry_delay(1, s, -3.0), 240);
}

TEST(Schedule, TinyAndInconsistentSettingsAreSane) {
  retry_settings s;
  s.min_s = 0;
  s.max_s = 0;
  s.jitter = 0;
  EXPECT_EQ(retry_delay(5, s, 0.5), 1);
  s.min_s = 10;
  s.max_s = 5;  // max below min: min wins
  EXPECT_EQ(retry_delay(3, s, 0.5), 10);
}

TEST(Schedule, LifetimeAndNextAttempt) {
  retry_settings s;
  s.jitter = 0;
  const std::int64_t t0 = 1'000'000;
  EXPECT_FALSE(expired(t0, t0 + 5 * 86400 - 1, s));
  EXPECT_TRUE(expired(t0, t0 + 5 * 86400, s));
  EXPECT_EQ(next_attempt_at(t0 + 10, 1, t0, s, 0.5), t0 + 310);
  // Never scheduled past the expiry: the last attempt happens at the end of the lifetime.
  EXPECT_EQ(next_attempt_at(t0 + 5 * 86400 - 100, 20, t0, s, 0.5), t0 + 5 * 86400);
  // And never in the past.
  EXPECT_EQ(next_attempt_at(t0 + 6 * 86400, 20, t0, s, 0.5), t0 + 6 * 86400 + 1);
}
