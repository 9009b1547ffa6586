// tests/unit/smtp/address_test.cpp: RFC 5321 paths, relay-trick flags, limits, UTF-8, parameters.
// SPDX-License-Identifier: MIT
#include "smtp/address.hpp"

#include <gtest/gtest.h>

using namespace mailfort::smtp;

TEST(address, simple_and_params) {
  auto r = parse_mail_from("FROM:<alice@example.org> SIZE=100 BODY=8BITMIME");
  ASSERT_EQ(r.error, addr_error::ok);
  EXPECT_EQ(r.value.box.local, "alice");
  EXPECT_EQ(r.value.box.domain, "example.org");
  ASSERT_EQ(r.value.params.size(), 2u);
  EXPECT_EQ(r.value.params[0].keyword, "SIZE");
  EXPECT_EQ(r.value.params[0].value, "100");
  EXPECT_EQ(parse_mail_from("from: <a@b.c>").error, addr_error::ok);  // tolerated like Postfix
}

TEST(address, null_and_postmaster) {
  EXPECT_TRUE(parse_mail_from("FROM:<>").value.null);
  EXPECT_EQ(parse_rcpt_to("TO:<>", false).error, addr_error::syntax);
  EXPECT_TRUE(parse_rcpt_to("TO:<Postmaster>", false).value.postmaster);
  EXPECT_EQ(parse_mail_from("FROM:<postmaster>").error, addr_error::syntax);
}

TEST(address, source_route_stripped) {
  auto r = parse_rcpt_to("TO:<@a.example,@b.example:user@local.test>", false);
  ASSERT_EQ(r.error, addr_error::ok);
  EXPECT_TRUE(r.value.source_route);
  EXPECT_EQ(r.value.box.address(), "user@local.test");
}

TEST(address, relay_trick_flags) {
  EXPECT_TRUE(parse_rcpt_to("TO:<victim%example.net@local>", false).value.box.has_percent);
  EXPECT_TRUE(parse_rcpt_to("TO:<example.net!victim@local>", false).value.box.has_bang);
  auto q = parse_rcpt_to("TO:<\"victim@example.net\"@local>", false);
  ASSERT_EQ(q.error, addr_error::ok);
  EXPECT_TRUE(q.value.box.has_quoted_at);
  EXPECT_TRUE(q.value.box.quoted);
  EXPECT_TRUE(parse_rcpt_to("TO:<victim@[8.8.8.8]>", false).value.box.address_literal);
  EXPECT_TRUE(parse_rcpt_to("TO:<victim@[IPv6:2001:db8::1]>", false).value.box.address_literal);
  auto t = parse_rcpt_to("TO:<victim@example.net.>", false);
  EXPECT_TRUE(t.value.box.trailing_dot);
  EXPECT_EQ(t.value.box.domain, "example.net");
  EXPECT_EQ(parse_rcpt_to("TO:<victim@local@example.net>", false).error, addr_error::multiple_at);
}

TEST(address, limits_exact) {
  std::string l64(64, 'a'), l65(65, 'a');
  EXPECT_EQ(parse_rcpt_to("TO:<" + l64 + "@x.org>", false).error, addr_error::ok);
  EXPECT_EQ(parse_rcpt_to("TO:<" + l65 + "@x.org>", false).error, addr_error::local_too_long);
  std::string dom;
  while (dom.size() < 250) dom += "abcdefghi.";
  dom += "xyzab";  // 255 octets
  ASSERT_EQ(dom.size(), 255u);
  auto r = parse_rcpt_to("TO:<a@" + dom + ">", false);
  EXPECT_TRUE(r.error == addr_error::path_too_long || r.error == addr_error::ok);
  EXPECT_NE(parse_rcpt_to("TO:<a@" + dom + "x>", false).error, addr_error::ok);
  EXPECT_NE(parse_rcpt_to("TO:<" + std::string(60, 'a') + "@" + dom + ">", false).error, addr_error::ok);
}

TEST(address, utf8) {
  EXPECT_EQ(parse_mail_from("FROM:<j\xc3\xb6rg@example.org>").error, addr_error::needs_smtputf8);
  EXPECT_EQ(parse_mail_from("FROM:<j\xc3\xb6rg@example.org> SMTPUTF8").error, addr_error::ok);
  EXPECT_EQ(parse_rcpt_to("TO:<j\xc3\xb6rg@b\xc3\xbc.de>", true).error, addr_error::ok);
  EXPECT_EQ(parse_rcpt_to("TO:<bad\xff@x.org>", true).error, addr_error::invalid_utf8);
  EXPECT_EQ(parse_rcpt_to("TO:<\xc0\xaf@x.org>", true).error, addr_error::invalid_utf8);  // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));  // surrogate
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));
}

TEST(address, hostile_syntax) {
  EXPECT_EQ(parse_mail_from("FROM:<;sleep 66;>").error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from("FROM:<$(reboot)@local>").error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from("FROM:a@b.c").error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from("FROM:<a@b.c").error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from("FROM:<a..b@c.d>").error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from("FROM:<a@-b.c>").error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from("FROM:<a@b.c>X").error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from(std::string("FROM:<a\0b@c.d>", 15)).error, addr_error::syntax);
  EXPECT_EQ(parse_mail_from("FROM:<a@[999.1.1.1]>").error, addr_error::syntax);
}

TEST(address, params) {
  std::vector<esmtp_param> p;
  EXPECT_EQ(parse_params(" A=1  B C-D=x", p), addr_error::ok);
  EXPECT_EQ(p.size(), 3u);
  p.clear();
  EXPECT_EQ(parse_params(" SIZE=", p), addr_error::bad_parameter);
  p.clear();
  EXPECT_EQ(parse_params(" -X=1", p), addr_error::bad_parameter);
  p.clear();
  EXPECT_EQ(parse_params(" ENVID=" + std::string(1001, 'a'), p), addr_error::parameter_too_long);
  p.clear();
  EXPECT_EQ(parse_params(" K=a=b", p), addr_error::bad_parameter);
}

TEST(address, quoted_address_roundtrip) {
  auto r = parse_rcpt_to("TO:<\"john doe\"@example.org>", false);
  ASSERT_EQ(r.error, addr_error::ok);
  EXPECT_EQ(r.value.box.local, "john doe");
  EXPECT_EQ(r.value.box.address(), "\"john doe\"@example.org");
  EXPECT_EQ(parse_rcpt_to("TO:<\"plain\"@example.org>", false).value.box.address(), "plain@example.org");
}

TEST(address, helo_names) {
  EXPECT_TRUE(valid_helo_name("mail.example.org"));
  EXPECT_TRUE(valid_helo_name("[192.0.2.1]"));
  EXPECT_FALSE(valid_helo_name("bad_name!"));
  EXPECT_FALSE(valid_helo_name(""));
}
