// tests/unit/session/reply_test.cpp: reply formatting; no reply can carry an injected line.
// SPDX-License-Identifier: MIT
#include "smtp/reply.hpp"

#include <gtest/gtest.h>

using namespace mailfort::smtp;

TEST(reply, single_and_multi_line) {
  EXPECT_EQ(format(make_reply(250, "2.1.0", "Ok")), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(format(make_reply(220, "", "mx ESMTP")), "220 mx ESMTP\r\n");
  reply r;
  r.code = 250;
  r.lines = {"mx", "PIPELINING", "SIZE 10"};
  EXPECT_EQ(format(r), "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
}

TEST(reply, control_bytes_cannot_inject_lines) {
  auto s = format(make_reply(550, "5.1.1", "user\r\n250 fake\nx\x01"));
  EXPECT_EQ(s, "550 5.1.1 user??250 fake?x?\r\n");
}
