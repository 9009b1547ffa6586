// tests/unit/smtp/address_test.cpp: RFC 5321 paths, relay-trick flags, limits, UTF-8, parameters.
// SPDX-License-Identifier: MIT
#include "smtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailfort::smtp;

namespace {
addr_error mail_err(std::string_view a) { return parse_mail_from(a).error; }
addr_error rcpt_err(std::string_view a, bool utf8 = false) { return parse_rcpt_to(a, utf8).error; }

// A domain of exactly n octets made of 50-octet labels ("aaa...a.bbb...").
std::string domain_of(std::size_t n) {
  std::string d;
  char c = 'a';
  while (d.size() < n) {
    if (!d.empty()) d.push_back('.');
    std::size_t take = std::min<std::size_t>(50, n - d.size());
    if (take == 0) break;
    d.append(take, c);
    c = c == 'z' ? 'a' : static_cast<char>(c + 1);
  }
  if (d.back() == '.') d.back() = 'x';  // never end on a dot
  return d;
}
}  // namespace

TEST(address, simple_and_params) {
  auto r = parse_mail_from("FROM:<alice@example.org> SIZE=100 BODY=8BITMIME");
  ASSERT_EQ(r.error, addr_error::ok);
  EXPECT_EQ(r.value.box.local, "alice");
  EXPECT_EQ(r.value.box.domain, "example.org");
  EXPECT_EQ(r.value.box.address(), "alice@example.org");
  ASSERT_EQ(r.value.params.size(), 2u);
  EXPECT_EQ(r.value.params[0].keyword, "SIZE");
  EXPECT_EQ(r.value.params[0].value, "100");
  EXPECT_TRUE(r.value.params[0].has_value);
  EXPECT_EQ(r.value.params[1].keyword, "BODY");
  EXPECT_EQ(r.value.params[1].value, "8BITMIME");
}

TEST(address, keyword_and_spacing) {
  EXPECT_EQ(mail_err("from:<a@b.c>"), addr_error::ok);   // keyword case-insensitive
  EXPECT_EQ(mail_err("FROM: <a@b.c>"), addr_error::ok);  // tolerated like Postfix
  EXPECT_EQ(mail_err("FROM:   <a@b.c>"), addr_error::ok);
  EXPECT_EQ(rcpt_err("tO:<a@b.c>"), addr_error::ok);
  EXPECT_EQ(mail_err("FROM :<a@b.c>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:"), addr_error::syntax);                          // mail-syntax-noaddr
  EXPECT_EQ(mail_err("<anne@example.com>"), addr_error::syntax);             // mail-syntax-nofrom
  EXPECT_EQ(mail_err(""), addr_error::syntax);                               // mail-syntax-noarg
  EXPECT_EQ(mail_err("FROM: Anne <anne@example.com>"), addr_error::syntax);  // display name
  EXPECT_EQ(mail_err("LALA: <>"), addr_error::syntax);
  EXPECT_EQ(mail_err("TO:<a@b.c>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("FROM:<a@b.c>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO: bart <bart@example.com>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:a@b.c"), addr_error::syntax);  // angle brackets required
  EXPECT_EQ(mail_err("FROM:<a@b.c"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<a@b.c>X"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<a@b.c>\tSIZE=1"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:\t<a@b.c>"), addr_error::syntax);
}

TEST(address, null_and_postmaster) {
  auto n = parse_mail_from("FROM:<>");
  ASSERT_EQ(n.error, addr_error::ok);
  EXPECT_TRUE(n.value.null);
  EXPECT_EQ(n.value.box.address(), "");
  EXPECT_EQ(mail_err("FROM: <> SIZE=10"), addr_error::ok);
  EXPECT_EQ(rcpt_err("TO:<>"), addr_error::syntax);
  for (const char* pm : {"TO:<Postmaster>", "TO:<postmaster>", "TO:<POSTMASTER>"}) {
    auto r = parse_rcpt_to(pm, false);
    ASSERT_EQ(r.error, addr_error::ok) << pm;
    EXPECT_TRUE(r.value.postmaster);
    EXPECT_EQ(r.value.box.address(), "postmaster");
  }
  EXPECT_EQ(mail_err("FROM:<postmaster>"), addr_error::syntax);  // RCPT only
  auto with_domain = parse_rcpt_to("TO:<postmaster@example.org>", false);
  ASSERT_EQ(with_domain.error, addr_error::ok);
  EXPECT_FALSE(with_domain.value.postmaster);
  EXPECT_EQ(rcpt_err("TO:<postmaster@>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<postmasterx>"), addr_error::syntax);
}

TEST(address, source_route_stripped) {
  // bad-inputs 23.
  auto r = parse_rcpt_to("TO:<@a.example,@b.example:user@local.test>", false);
  ASSERT_EQ(r.error, addr_error::ok);
  EXPECT_TRUE(r.value.source_route);
  EXPECT_EQ(r.value.box.address(), "user@local.test");
  auto one = parse_mail_from("FROM:<@example.org:anne@example.com>");
  ASSERT_EQ(one.error, addr_error::ok);
  EXPECT_TRUE(one.value.source_route);
  EXPECT_EQ(one.value.box.domain, "example.com");
  auto relay =
      parse_rcpt_to("TO:<@local:victim@example.net>", false);  // bad-inputs 22: flagged, domain is the real one
  ASSERT_EQ(relay.error, addr_error::ok);
  EXPECT_EQ(relay.value.box.domain, "example.net");
  EXPECT_EQ(rcpt_err("TO:<@[192.0.2.1]:u@example.net>"), addr_error::ok);
  EXPECT_EQ(rcpt_err("TO:<@example.com>"), addr_error::syntax);  // address-empty-local-part
  EXPECT_EQ(rcpt_err("TO:<@:u@example.net>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<@a,b:u@example.net>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<@a,@:u@example.net>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<@a_b:u@example.net>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<@a:postmaster>"), addr_error::syntax);
}

TEST(address, relay_trick_flags) {
  // bad-inputs 22: every form parses (so policy can say "relay denied") and is flagged.
  auto pct = parse_rcpt_to("TO:<victim%example.net@local>", false);
  ASSERT_EQ(pct.error, addr_error::ok);
  EXPECT_TRUE(pct.value.box.has_percent);
  EXPECT_FALSE(pct.value.box.has_bang);
  auto bang = parse_rcpt_to("TO:<example.net!victim@local>", false);
  ASSERT_EQ(bang.error, addr_error::ok);
  EXPECT_TRUE(bang.value.box.has_bang);
  auto q = parse_rcpt_to("TO:<\"victim@example.net\"@local>", false);
  ASSERT_EQ(q.error, addr_error::ok);
  EXPECT_TRUE(q.value.box.has_quoted_at);
  EXPECT_TRUE(q.value.box.quoted);
  EXPECT_EQ(q.value.box.local, "victim@example.net");
  EXPECT_EQ(q.value.box.address(), "\"victim@example.net\"@local");
  auto v4 = parse_rcpt_to("TO:<victim@[8.8.8.8]>", false);
  ASSERT_EQ(v4.error, addr_error::ok);
  EXPECT_TRUE(v4.value.box.address_literal);
  EXPECT_EQ(v4.value.box.domain, "8.8.8.8");
  EXPECT_EQ(v4.value.box.address(), "victim@[8.8.8.8]");
  auto v6 = parse_rcpt_to("TO:<victim@[IPv6:2001:db8::1]>", false);
  ASSERT_EQ(v6.error, addr_error::ok);
  EXPECT_TRUE(v6.value.box.address_literal);
  EXPECT_EQ(v6.value.box.domain, "IPv6:2001:db8::1");
  auto t = parse_rcpt_to("TO:<victim@example.net.>", false);
  ASSERT_EQ(t.error, addr_error::ok);
  EXPECT_TRUE(t.value.box.trailing_dot);
  EXPECT_EQ(t.value.box.domain, "example.net");
  EXPECT_EQ(rcpt_err("TO:<victim@example.net..>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<victim@.>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<victim@[1.2.3.4].>"), addr_error::syntax);
  EXPECT_EQ(rcpt_err("TO:<victim@local@example.net>"), addr_error::multiple_at);
  EXPECT_EQ(mail_err("FROM:<a@b@c@d>"), addr_error::multiple_at);
  EXPECT_NE(rcpt_err("TO:<\"a\"@b@c>"), addr_error::ok);
  auto plain = parse_rcpt_to("TO:<user@example.org>", false);
  EXPECT_FALSE(plain.value.box.has_percent || plain.value.box.has_bang || plain.value.box.has_quoted_at ||
               plain.value.box.trailing_dot || plain.value.box.address_literal || plain.value.source_route);
}

TEST(address, addresses_that_must_be_accepted) {
  // command-replies.yaml row addresses-that-must-be-accepted (aiosmtpd's valid address lists).
  for (const char* a :
       {"<anne@[127.0.0.1]>", "<anne@[IPv6:2001:db8::1]>", "<\"anne..arthur\"@example.com>", "<\"\"@example.com>",
        "<@example.org:anne@example.com>", "<@example.net,@example.org:anne@example.com>",
        "<mailhost!anne@example.com>", "<anne%example.org@example.com>", "<a|b@local>", "<a.b+tag@x-y.example>",
        "<{weird}'#~^`=?/*&$@example.com>", "<1@2.3>"}) {
    EXPECT_EQ(mail_err(std::string("FROM:") + a), addr_error::ok) << a;
    EXPECT_EQ(rcpt_err(std::string("TO:") + a), addr_error::ok) << a;
  }
  auto e = parse_rcpt_to("TO:<\"\"@example.com>", false);
  EXPECT_EQ(e.value.box.local, "");
  EXPECT_EQ(e.value.box.address(), "\"\"@example.com");
}

TEST(address, malformed_addresses) {
  // command-replies.yaml rows address-empty-local-part, address-empty-domain, address-no-domain, address-bad-idna.
  for (const char* a : {"<@example.com>",
                        "<johnathon@>",
                        "<pepe>",
                        "<a@xn--->",
                        "<a@-b.c>",
                        "<a@b-.c>",
                        "<a@b..c>",
                        "<.a@b.c>",
                        "<a.@b.c>",
                        "<a..b@c.d>",
                        "<a@b_c.d>",
                        "<a b@c.d>",
                        "<a@b c.d>",
                        "<\"unterminated@b.c>",
                        "<\"a\"b@c.d>",
                        "<\"a\">",
                        "<a@[1.2.3]>",
                        "<a@[999.1.1.1]>",
                        "<a@[1.2.3.4.5]>",
                        "<a@[IPv6:1:2:3:4:5:6:7:8:9]>",
                        "<a@[IPv6:1:::2]>",
                        "<a@[IPv6:g::1]>",
                        "<a@[tag:content]>",
                        "<a@[]>",
                        "<a@[1.2.3.4>",
                        "<<a@b.c>>",
                        "<a@b.c",
                        "<>x",
                        "< a@b.c>",
                        "<a@b.c >"}) {
    EXPECT_NE(mail_err(std::string("FROM:") + a), addr_error::ok) << a;
    EXPECT_NE(rcpt_err(std::string("TO:") + a, true), addr_error::ok) << a;
  }
}

TEST(address, address_literals) {
  for (const char* ok : {"[0.0.0.0]", "[255.255.255.255]", "[IPv6:::1]", "[IPv6:::]", "[IPv6:1::]",
                         "[IPv6:1:2:3:4:5:6:7:8]", "[IPv6:::ffff:192.0.2.1]", "[ipv6:FE80::1]"})
    EXPECT_EQ(rcpt_err(std::string("TO:<a@") + ok + ">"), addr_error::ok) << ok;
  for (const char* bad : {"[256.0.0.1]", "[1.2.3.]", "[.1.2.3]", "[1.2.3.4 ]", "[IPv6:1:2]", "[IPv6::1]", "[IPv6:1:]",
                          "[IPv6:12345::1]", "[IPv6:::1.2.3]", "[IPv6:1::2::3]"})
    EXPECT_EQ(rcpt_err(std::string("TO:<a@") + bad + ">"), addr_error::syntax) << bad;
}

TEST(address, local_part_limit_exact) {
  // bad-inputs 31: 64 octets as sent is the limit (RFC 5321 4.5.3.1.1).
  std::string l64(64, 'a'), l65(65, 'a');
  EXPECT_EQ(rcpt_err("TO:<" + l64 + "@x.org>"), addr_error::ok);
  EXPECT_EQ(rcpt_err("TO:<" + l65 + "@x.org>"), addr_error::local_too_long);
  EXPECT_EQ(mail_err("FROM:<" + l65 + "@x.org>"), addr_error::local_too_long);
  // A quoted local part counts its quotes: "62 chars" is 64 octets on the wire.
  EXPECT_EQ(rcpt_err("TO:<\"" + std::string(62, 'q') + "\"@x.org>"), addr_error::ok);
  EXPECT_EQ(rcpt_err("TO:<\"" + std::string(63, 'q') + "\"@x.org>"), addr_error::local_too_long);
}

TEST(address, path_limit_exact) {
  // The path counts "<" and ">": 256 octets fine, 257 too long.
  std::string local(64, 'l');
  std::string dom = domain_of(256 - 2 - 64 - 1);  // 189
  ASSERT_EQ(dom.size(), 189u);
  std::string p256 = "<" + local + "@" + dom + ">";
  ASSERT_EQ(p256.size(), 256u);
  EXPECT_EQ(rcpt_err("TO:" + p256), addr_error::ok);
  std::string dom190 = domain_of(190);
  ASSERT_EQ(dom190.size(), 190u);
  EXPECT_EQ(rcpt_err("TO:<" + local + "@" + dom190 + ">"), addr_error::path_too_long);
  EXPECT_EQ(mail_err("FROM:<" + local + "@" + dom190 + ">"), addr_error::path_too_long);
  // command-replies address-too-long: 130-octet local part @ 130-octet domain.
  EXPECT_NE(mail_err("FROM:<" + std::string(130, 'a') + "@" + domain_of(130) + ">"), addr_error::ok);
  // A 65-octet local part in a long path says which part is wrong.
  EXPECT_EQ(rcpt_err("TO:<" + std::string(65, 'a') + "@" + domain_of(200) + ">"), addr_error::local_too_long);
}

TEST(address, domain_limit) {
  // A domain of 255 octets can never fit in a 256-octet path with a local part; 256+ says domain_too_long.
  std::string d255 = domain_of(255), d256 = domain_of(256);
  ASSERT_EQ(d255.size(), 255u);
  ASSERT_EQ(d256.size(), 256u);
  EXPECT_EQ(rcpt_err("TO:<a@" + d255 + ">"), addr_error::path_too_long);
  EXPECT_EQ(rcpt_err("TO:<a@" + d256 + ">"), addr_error::domain_too_long);
  // Labels: 63 octets fine, 64 not (RFC 1035 2.3.4).
  EXPECT_EQ(rcpt_err("TO:<a@" + std::string(63, 'd') + ".org>"), addr_error::ok);
  EXPECT_EQ(rcpt_err("TO:<a@" + std::string(64, 'd') + ".org>"), addr_error::syntax);
}

TEST(address, utf8) {
  // bad-inputs 34.
  EXPECT_EQ(mail_err("FROM:<j\xc3\xb6rg@example.org>"), addr_error::needs_smtputf8);
  EXPECT_EQ(mail_err("FROM:<j\xc3\xb6rg@example.org> SMTPUTF8"), addr_error::ok);
  EXPECT_EQ(mail_err("FROM:<j\xc3\xb6rg@example.org> smtputf8"), addr_error::ok);
  EXPECT_EQ(mail_err("FROM:<j\xc3\xb6rg@example.org> BODY=8BITMIME SMTPUTF8"), addr_error::ok);
  EXPECT_EQ(mail_err("FROM:<a@b\xc3\xbc.de>"), addr_error::needs_smtputf8);
  EXPECT_EQ(rcpt_err("TO:<j\xc3\xb6rg@b\xc3\xbc.de>", true), addr_error::ok);
  EXPECT_EQ(rcpt_err("TO:<j\xc3\xb6rg@b\xc3\xbc.de>", false), addr_error::needs_smtputf8);
  EXPECT_EQ(rcpt_err("TO:<henry\xe2\x85\xa3@testserver>", false), addr_error::needs_smtputf8);
  EXPECT_EQ(rcpt_err("TO:<\"j\xc3\xb6 rg\"@example.org>", true), addr_error::ok);
  auto r = parse_rcpt_to("TO:<j\xc3\xb6rg@example.org>", true);
  EXPECT_TRUE(r.value.box.has_8bit);
  EXPECT_FALSE(parse_rcpt_to("TO:<jorg@example.org>", true).value.box.has_8bit);
  // Invalid UTF-8 is invalid_utf8 whether or not SMTPUTF8 was declared.
  EXPECT_EQ(rcpt_err("TO:<bad\xff@x.org>", true), addr_error::invalid_utf8);
  EXPECT_EQ(mail_err("FROM: <anne\xff@example.com>"), addr_error::invalid_utf8);
  EXPECT_EQ(rcpt_err("TO:<\xc0\xaf@x.org>", true), addr_error::invalid_utf8);      // overlong '/'
  EXPECT_EQ(rcpt_err("TO:<a@x\xc3.org>", true), addr_error::invalid_utf8);         // truncated sequence
  EXPECT_EQ(rcpt_err("TO:<\xed\xa0\x80@x.org>", true), addr_error::invalid_utf8);  // surrogate
}

TEST(address, valid_utf8_function) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xc2\x80"));
  EXPECT_TRUE(valid_utf8("\xe0\xa0\x80"));
  EXPECT_TRUE(valid_utf8("\xef\xbf\xbf"));
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xc1\xbf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xe0\x9f\xbf"));      // overlong 3-byte
  EXPECT_FALSE(valid_utf8("\xf0\x8f\xbf\xbf"));  // overlong 4-byte
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated at end
  EXPECT_FALSE(valid_utf8("\xe2\x28\xa1"));      // bad continuation
  EXPECT_FALSE(valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(valid_utf8("\xff"));
}

TEST(address, hostile_syntax) {
  // bad-inputs 35 (OpenSMTPD CVE-2020-7247 shapes): ';', '(', ')' are not atext; '|' and '$' are, and stay inert.
  EXPECT_EQ(mail_err("FROM:<;sleep 66;>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<;sleep 66;@local>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<$(reboot)@local>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<`reboot`@local>"), addr_error::ok);  // '`' is atext: parsed faithfully
  auto pipe = parse_mail_from("FROM:<a|b@local>");
  ASSERT_EQ(pipe.error, addr_error::ok);
  EXPECT_EQ(pipe.value.box.local, "a|b");
  EXPECT_EQ(mail_err("FROM:<$HOME@local>"), addr_error::ok);
  EXPECT_EQ(mail_err("FROM:<a/../b@local>"), addr_error::syntax);  // ".." is not a dot-string
  // bad-inputs 24: NUL and control bytes anywhere.
  EXPECT_EQ(mail_err(std::string("FROM:<a\0b@c.d>", 15)), addr_error::syntax);
  EXPECT_EQ(mail_err(std::string("FROM:<\"a\0b\"@c.d>", 17)), addr_error::syntax);
  EXPECT_EQ(mail_err(std::string("FROM:<a@c.d\0>", 14)), addr_error::syntax);
  EXPECT_EQ(mail_err(std::string("FROM:<a@c.d> SIZE=1\0", 20)), addr_error::bad_parameter);
  EXPECT_EQ(mail_err("FROM:<a\tb@c.d>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<\"a\x01\"@c.d>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<\"a\\\x01\"@c.d>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<a\x7f@c.d>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<a\r\n@c.d>"), addr_error::syntax);
  EXPECT_EQ(mail_err("FROM:<a@c.d\r\nRCPT TO:<x@y>>"), addr_error::syntax);
}

TEST(address, params) {
  std::vector<esmtp_param> p;
  EXPECT_EQ(parse_params("", p), addr_error::ok);
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(parse_params(" A=1  B C-D=x 10000", p), addr_error::ok);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[1].keyword, "B");
  EXPECT_FALSE(p[1].has_value);
  EXPECT_EQ(p[2].keyword, "C-D");
  EXPECT_EQ(p[3].keyword, "10000");  // a legal esmtp-keyword (ALPHA / DIGIT first)
  p.clear();
  EXPECT_EQ(parse_params(" body=8bitmime", p), addr_error::ok);
  EXPECT_EQ(p[0].keyword, "BODY");
  EXPECT_EQ(p[0].value, "8bitmime");  // values stay raw
  for (const char* bad : {" SIZE=", " -X=1", " K=a=b", " #$%=!@#", " SIZE = 10000", " =1", " K\x01=1", " K=\x7f",
                          " K=a\tb", " K_1=2", " K=\xff"}) {
    p.clear();
    EXPECT_EQ(parse_params(bad, p), addr_error::bad_parameter) << bad;
  }
  // xtext is kept raw (never decoded here): bad-inputs 33.
  p.clear();
  EXPECT_EQ(parse_params(" ORCPT=rfc822;x+0Ay@z", p), addr_error::ok);
  EXPECT_EQ(p[0].value, "rfc822;x+0Ay@z");
}

TEST(address, param_value_limit_exact) {
  // bad-inputs 32: 1000 octets fine, 1001 parameter_too_long.
  std::vector<esmtp_param> p;
  EXPECT_EQ(parse_params(" ENVID=" + std::string(1000, 'a'), p), addr_error::ok);
  EXPECT_EQ(p[0].value.size(), 1000u);
  p.clear();
  EXPECT_EQ(parse_params(" ENVID=" + std::string(1001, 'a'), p), addr_error::parameter_too_long);
  EXPECT_EQ(mail_err("FROM:<a@b.c> AUTH=" + std::string(10240, 'x')), addr_error::parameter_too_long);
  EXPECT_EQ(rcpt_err("TO:<a@b.c> ORCPT=" + std::string(1001, 'x')), addr_error::parameter_too_long);
}

TEST(address, params_in_commands) {
  // command-replies rows mail-esmtp-param-syntax-*: malformed lists are bad_parameter.
  EXPECT_EQ(mail_err("FROM: <anne@example.com> #$%=!@#"), addr_error::bad_parameter);
  EXPECT_EQ(mail_err("FROM: <anne@example.com> SIZE = 10000"), addr_error::bad_parameter);
  EXPECT_EQ(rcpt_err("TO: <bart@example.com> #$%=!@#"), addr_error::bad_parameter);
  auto r = parse_rcpt_to("TO:<bart@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bart@example.com", false);
  ASSERT_EQ(r.error, addr_error::ok);
  ASSERT_EQ(r.value.params.size(), 2u);
  EXPECT_EQ(r.value.params[0].keyword, "NOTIFY");
  EXPECT_EQ(mail_err("FROM:<a@b.c> "), addr_error::ok);  // trailing space: no parameters
}

TEST(address, quoted_local_parts) {
  auto r = parse_rcpt_to("TO:<\"john doe\"@example.org>", false);
  ASSERT_EQ(r.error, addr_error::ok);
  EXPECT_EQ(r.value.box.local, "john doe");
  EXPECT_EQ(r.value.box.address(), "\"john doe\"@example.org");
  EXPECT_EQ(parse_rcpt_to("TO:<\"plain\"@example.org>", false).value.box.address(), "plain@example.org");
  auto esc = parse_rcpt_to("TO:<\"a\\\"b\\\\c\"@example.org>", false);
  ASSERT_EQ(esc.error, addr_error::ok);
  EXPECT_EQ(esc.value.box.local, "a\"b\\c");
  EXPECT_EQ(esc.value.box.address(), "\"a\\\"b\\\\c\"@example.org");
  auto gt = parse_rcpt_to("TO:<\"a>b\"@example.org> X=1", false);  // '>' inside quotes does not close the path
  ASSERT_EQ(gt.error, addr_error::ok);
  EXPECT_EQ(gt.value.box.local, "a>b");
  ASSERT_EQ(gt.value.params.size(), 1u);
  // Round trip: address() re-parses to the same mailbox.
  for (const char* a : {"<\"a b\"@x.org>", "<\"a..b\"@x.org>", "<\".a\"@x.org>", "<\"a\\\\\"@x.org>"}) {
    auto first = parse_rcpt_to(std::string("TO:") + a, false);
    ASSERT_EQ(first.error, addr_error::ok) << a;
    auto again = parse_rcpt_to("TO:<" + first.value.box.address() + ">", false);
    ASSERT_EQ(again.error, addr_error::ok) << a;
    EXPECT_EQ(again.value.box.local, first.value.box.local) << a;
  }
}

TEST(address, helo_names) {
  EXPECT_TRUE(valid_helo_name("mail.example.org"));
  EXPECT_TRUE(valid_helo_name("localhost"));
  EXPECT_TRUE(valid_helo_name("mail.example.org."));
  EXPECT_TRUE(valid_helo_name("[192.0.2.1]"));
  EXPECT_TRUE(valid_helo_name("[IPv6:::1]"));
  EXPECT_TRUE(valid_helo_name("b\xc3\xbc.de"));
  EXPECT_TRUE(valid_helo_name(std::string(63, 'a') + ".org"));
  EXPECT_FALSE(valid_helo_name(std::string(64, 'a') + ".org"));
  EXPECT_TRUE(valid_helo_name(domain_of(255)));
  EXPECT_FALSE(valid_helo_name(domain_of(256)));  // bad-inputs 38: over 255 octets
  for (const char* bad : {"", "bad_name!", "-a.org", "a-.org", "a..org", ".", "..", "[1.2.3]", "[192.0.2.1", "[]",
                          "a b", "a\tb", "b\xff.de", "x;reboot", "$(reboot)"})
    EXPECT_FALSE(valid_helo_name(bad)) << bad;
  EXPECT_FALSE(valid_helo_name(std::string_view("a\0b", 3)));
}
