// tests/unit/outbound/reply_parser_test.cpp: SMTP reply parsing on the client side, including the hostile
// server replies of spec/bad-inputs.md item 56, and EHLO keyword decoding.
// SPDX-License-Identifier: MIT
#include "outbound/reply_parser.hpp"

#include <gtest/gtest.h>

namespace ob = mailfort::outbound;
using ob::reply_error;
using ob::reply_status;

namespace {

// Feeds the whole input and returns the final status and the parser (for error()/get()).
reply_status feed_all(ob::reply_parser& p, std::string_view in) {
  auto r = p.feed(in);
  return r.status;
}

reply_error error_of(std::string_view in, ob::reply_limits lim = {}) {
  ob::reply_parser p(lim);
  auto st = feed_all(p, in);
  EXPECT_EQ(st, reply_status::error) << in;
  return p.error();
}

}  // namespace

TEST(ReplyParser, SingleAndMultiLine) {
  auto r = ob::parse_reply("220 mx.example.org ESMTP ready\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 220);
  EXPECT_EQ(r->lines, (std::vector<std::string>{"mx.example.org ESMTP ready"}));
  EXPECT_FALSE(r->enhanced);

  r = ob::parse_reply("250-first\r\n250-second\r\n250 last\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines.size(), 3u);
  EXPECT_EQ(r->lines[2], "last");
  EXPECT_TRUE(r->positive());

  r = ob::parse_reply("354\r\n");  // a bare code is a complete final line (RFC 5321 4.2 textstring is optional)
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 354);
  EXPECT_EQ(r->lines, (std::vector<std::string>{""}));
}

TEST(ReplyParser, EnhancedStatus) {
  auto r = ob::parse_reply("550 5.7.1 relay denied\r\n");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->enhanced);
  EXPECT_EQ(ob::to_string(*r->enhanced), "5.7.1");
  EXPECT_TRUE(r->permanent());
  EXPECT_FALSE(ob::parse_reply("550 4.7.1 class differs\r\n")->enhanced);
  EXPECT_FALSE(ob::parse_reply("250 2.0.0000 too long\r\n")->enhanced);
  EXPECT_FALSE(ob::parse_reply("250 2.0.0x\r\n")->enhanced);
  r = ob::parse_reply("451 4.3.0\r\n");
  ASSERT_TRUE(r->enhanced);
  EXPECT_EQ(*r->enhanced, (ob::enhanced_status{4, 3, 0}));
}

TEST(ReplyParser, IncrementalAndPipelined) {
  ob::reply_parser p;
  std::string wire = "250-a\r\n250 b\r\n354 go\r\n";
  // Byte by byte: exactly two replies come out, at the right places.
  std::vector<int> codes;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    auto r = p.feed(std::string_view(wire).substr(i, 1));
    ASSERT_NE(r.status, reply_status::error);
    EXPECT_EQ(r.consumed, 1u);
    if (r.status == reply_status::reply) codes.push_back(p.get().code);
  }
  EXPECT_EQ(codes, (std::vector<int>{250, 354}));
  EXPECT_FALSE(p.has_partial());

  // All at once: the first call stops after the first reply and reports how much it used.
  ob::reply_parser q;
  auto r = q.feed(wire);
  ASSERT_EQ(r.status, reply_status::reply);
  EXPECT_EQ(r.consumed, 14u);
  r = q.feed(std::string_view(wire).substr(14));
  ASSERT_EQ(r.status, reply_status::reply);
  EXPECT_EQ(q.get().code, 354);
}

TEST(ReplyParser, BareLfTolerated) {
  auto r = ob::parse_reply("250-a\n250 b\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines, (std::vector<std::string>{"a", "b"}));
  r = ob::parse_reply("250 a\rb\r\n");  // a CR inside the text stays a byte of it
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines[0], "a\rb");
  EXPECT_EQ(ob::printable(r->lines[0]), "a\\x0db");
}

// spec/bad-inputs.md item 56.
TEST(ReplyParser, BadInput56NoFinalLine) {
  std::string endless;
  for (int i = 0; i < 200; ++i) endless += "250-more\r\n";
  EXPECT_EQ(error_of(endless), reply_error::too_many_lines);
  // Exactly at the bound is still fine; one more continuation is not.
  std::string at_bound;
  for (int i = 0; i < 99; ++i) at_bound += "250-x\r\n";
  EXPECT_TRUE(ob::parse_reply(at_bound + "250 end\r\n"));
  EXPECT_FALSE(ob::parse_reply(at_bound + "250-x\r\n250 end\r\n"));
  // An unfinished reply is not a reply: need_more, and the partial state is visible (STARTTLS must abort).
  ob::reply_parser p;
  EXPECT_EQ(p.feed("250-a\r\n250-b\r\n").status, reply_status::need_more);
  EXPECT_TRUE(p.has_partial());
  EXPECT_FALSE(ob::parse_reply("250-a\r\n"));
}

TEST(ReplyParser, BadInput56ShortAndMalformedLines) {
  EXPECT_EQ(error_of("25\r\n"), reply_error::short_line);
  EXPECT_EQ(error_of("\r\n"), reply_error::short_line);
  EXPECT_EQ(error_of("2a0 x\r\n"), reply_error::bad_code);
  EXPECT_EQ(error_of("abc\r\n"), reply_error::bad_code);
  EXPECT_EQ(error_of("199 x\r\n"), reply_error::bad_code);
  EXPECT_EQ(error_of("600 x\r\n"), reply_error::bad_code);
  EXPECT_EQ(error_of("250x\r\n"), reply_error::bad_separator);
  EXPECT_EQ(error_of("250-a\r\n550 b\r\n"), reply_error::mixed_codes);
  EXPECT_EQ(error_of("250-a\r\n25\r\n"), reply_error::short_line);
}

TEST(ReplyParser, BadInput56HugeReply) {
  // 10 MB without a line end: rejected once the line bound is passed, without buffering the rest.
  std::string huge = "250 " + std::string(10 * 1024 * 1024, 'A');
  ob::reply_parser p;
  auto r = p.feed(huge);
  EXPECT_EQ(r.status, reply_status::error);
  EXPECT_EQ(p.error(), reply_error::line_too_long);
  EXPECT_LE(r.consumed, 2048u);
  // 10 MB of well-formed continuation lines: too many lines long before the end.
  std::string lines;
  while (lines.size() < 10 * 1024 * 1024) lines += "250-" + std::string(1000, 'B') + "\r\n";
  ob::reply_parser q;
  r = q.feed(lines);
  EXPECT_EQ(r.status, reply_status::error);
  EXPECT_EQ(q.error(), reply_error::too_many_lines);
  EXPECT_LT(r.consumed, 200u * 1024u);
  // Line length bound: 2048 bytes with CRLF pass, 2049 do not.
  EXPECT_TRUE(ob::parse_reply("250 " + std::string(2048 - 6, 'c') + "\r\n"));
  EXPECT_FALSE(ob::parse_reply("250 " + std::string(2048 - 5, 'c') + "\r\n"));
}

TEST(ReplyParser, ErrorIsStickyUntilReset) {
  ob::reply_parser p;
  EXPECT_EQ(p.feed("25\r\n").status, reply_status::error);
  EXPECT_EQ(p.feed("250 ok\r\n").status, reply_status::error);
  p.reset();
  EXPECT_EQ(p.feed("250 ok\r\n").status, reply_status::reply);
}

TEST(ReplyParser, BytesAfterStartTlsReplyAreVisible) {
  // A server (or a man in the middle) appending a forged reply after "220 go ahead": the parser returns the
  // 220 and reports the extra bytes as unconsumed, so the client can refuse to start TLS.
  ob::reply_parser p;
  std::string wire = "220 2.0.0 go ahead\r\n250 forged\r\n";
  auto r = p.feed(wire);
  ASSERT_EQ(r.status, reply_status::reply);
  EXPECT_LT(r.consumed, wire.size());
}

TEST(ReplyParser, Printable) {
  EXPECT_EQ(ob::printable("ok text"), "ok text");
  EXPECT_EQ(ob::printable(std::string("a\r\nb\0\\\xff", 7)), "a\\x0d\\x0ab\\x00\\\\\\xff");
  EXPECT_EQ(ob::printable(std::string(100, 'x'), 10), "xxxxxxxxxx...");
}

TEST(Ehlo, Capabilities) {
  auto r = ob::parse_reply(
      "250-mx.example.org Hello client\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-smtputf8\r\n"
      "250-STARTTLS\r\n250-AUTH PLAIN login PLAIN\r\n250-AUTH=CRAM-MD5\r\n250-CHUNKING\r\n"
      "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-REQUIRETLS\r\n250-X-FOO bar baz\r\n250 BINARYMIME\r\n");
  ASSERT_TRUE(r);
  auto c = ob::parse_ehlo(*r);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server_name, "mx.example.org");
  EXPECT_TRUE(c->pipelining);
  EXPECT_TRUE(c->size);
  EXPECT_EQ(c->size_limit, 35882577u);
  EXPECT_TRUE(c->eightbitmime);
  EXPECT_TRUE(c->smtputf8);
  EXPECT_TRUE(c->starttls);
  EXPECT_TRUE(c->chunking);
  EXPECT_TRUE(c->binarymime);
  EXPECT_TRUE(c->enhancedstatuscodes);
  EXPECT_TRUE(c->dsn);
  EXPECT_TRUE(c->requiretls);
  EXPECT_EQ(c->auth, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
  EXPECT_TRUE(c->has_auth("login"));
  EXPECT_FALSE(c->has_auth("XOAUTH2"));
  EXPECT_EQ(c->unknown, (std::vector<std::string>{"X-FOO bar baz"}));
}

TEST(Ehlo, MinimalAndOdd) {
  auto c = ob::parse_ehlo(*ob::parse_reply("250 mx.example.org\r\n"));
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->starttls);
  EXPECT_FALSE(c->size);
  c = ob::parse_ehlo(*ob::parse_reply("250-x\r\n250 SIZE\r\n"));
  EXPECT_TRUE(c->size);
  EXPECT_EQ(c->size_limit, 0u);
  c = ob::parse_ehlo(*ob::parse_reply("250-x\r\n250 SIZE 12abc\r\n"));
  EXPECT_TRUE(c->size);
  EXPECT_EQ(c->size_limit, 0u);
  EXPECT_FALSE(ob::parse_ehlo(*ob::parse_reply("550 no\r\n")));
  // STARTTLS only counts as a keyword, not inside the greeting line.
  c = ob::parse_ehlo(*ob::parse_reply("250 STARTTLS\r\n"));
  EXPECT_FALSE(c->starttls);
}
