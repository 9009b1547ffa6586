// tests/unit/outbound/transfer_test.cpp: MAIL/RCPT lines, dot-stuffing, AUTH PLAIN, SMTPUTF8 need.
// SPDX-License-Identifier: MIT
#include "outbound/transfer.hpp"

#include <gtest/gtest.h>

using namespace mailfort::outbound;

TEST(Transfer, DotStuffingDoublesLeadingDotsAndTerminates) {
  EXPECT_EQ(dot_stuff("a\r\n.b\r\n..c\r\n.\r\n"), "a\r\n..b\r\n...c\r\n..\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".first\r\nx\r\n"), "..first\r\nx\r\n.\r\n");
  // A message without a final CRLF gets one before the terminator.
  EXPECT_EQ(dot_stuff("x"), "x\r\n.\r\n");
  EXPECT_EQ(dot_stuff(""), ".\r\n");
  // A dot in the middle of a line is left alone.
  EXPECT_EQ(dot_stuff("a.b\r\n"), "a.b\r\n.\r\n");
}

TEST(Transfer, MailCommandUsesOnlyAnnouncedParameters) {
  ehlo_capabilities none;
  EXPECT_EQ(*mail_command("a@b.example", 123, true, false, none), "MAIL FROM:<a@b.example>");
  ehlo_capabilities all;
  all.size = all.eightbitmime = all.smtputf8 = true;
  EXPECT_EQ(*mail_command("a@b.example", 123, true, true, all),
            "MAIL FROM:<a@b.example> SIZE=123 BODY=8BITMIME SMTPUTF8");
  EXPECT_EQ(*mail_command("", 5, false, false, all), "MAIL FROM:<> SIZE=5");
}

TEST(Transfer, CommandsRefuseInjection) {
  ehlo_capabilities c;
  EXPECT_FALSE(mail_command("a@b\r\nRCPT TO:<x@y>", 1, false, false, c));
  EXPECT_FALSE(mail_command(std::string("a\0b", 3), 1, false, false, c));
  EXPECT_FALSE(mail_command("a>@b", 1, false, false, c));
  EXPECT_FALSE(rcpt_command("x@y\nDATA"));
  EXPECT_FALSE(rcpt_command(""));
  EXPECT_EQ(*rcpt_command("x@y.example"), "RCPT TO:<x@y.example>");
}

TEST(Transfer, AuthPlainIsBase64OfNulUserNulPassword) {
  // RFC 4616 example: "\0tim\0tanstaaftanstaaf"
  EXPECT_EQ(auth_plain_command("tim", "tanstaaftanstaaf"), "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  EXPECT_EQ(auth_plain_command("a", "b"), "AUTH PLAIN AGEAYg==");
  EXPECT_EQ(auth_plain_command("ab", "c"), "AUTH PLAIN AGFiAGM=");
}

TEST(Transfer, Smtputf8NeededForFlagOrNonAsciiAddress) {
  EXPECT_FALSE(needs_smtputf8(false, "a@b", {"c@d"}));
  EXPECT_TRUE(needs_smtputf8(true, "a@b", {"c@d"}));
  EXPECT_TRUE(needs_smtputf8(false, "j\xc3\xb6rg@b", {"c@d"}));
  EXPECT_TRUE(needs_smtputf8(false, "a@b", {"c@d", "\xe7\x94\xa8@x"}));
  EXPECT_TRUE(has_8bit("caf\xc3\xa9"));
  EXPECT_FALSE(has_8bit("cafe"));
}
