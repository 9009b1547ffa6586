// tests/unit/spf/spf_record_test.cpp: the pure SPF record parser, domain-spec/macro-string rules and IP helpers.
// SPDX-License-Identifier: MIT
#include "auth/spf_record.hpp"

#include <gtest/gtest.h>

using namespace mailfort::auth::spf;

namespace {

record ok(std::string_view txt) {
  auto r = parse_record(txt);
  EXPECT_TRUE(r.rec) << txt << ": " << r.error;
  return r.rec ? *r.rec : record{};
}

bool bad(std::string_view txt) { return !parse_record(txt).rec; }

TEST(spf_record, selects_version_case_insensitively_and_needs_a_space) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("V=SpF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf10"));
  EXPECT_FALSE(is_spf_record("v=spf1mx"));
  EXPECT_FALSE(is_spf_record("spf1 -all"));
  EXPECT_FALSE(is_spf_record(""));
}

TEST(spf_record, parses_every_mechanism_with_qualifiers_and_cidrs) {
  auto r =
      ok("v=spf1 +a -mx:example.org/24//64 ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.org "
         "exists:%{ir}.bl.example.org all");
  ASSERT_EQ(r.mechanisms.size(), 8u);
  EXPECT_EQ(r.mechanisms[0].kind, mechanism_kind::a);
  EXPECT_EQ(r.mechanisms[0].qual, qualifier::pass);
  EXPECT_EQ(r.mechanisms[0].domain_spec, "");
  EXPECT_EQ(r.mechanisms[1].kind, mechanism_kind::mx);
  EXPECT_EQ(r.mechanisms[1].qual, qualifier::fail);
  EXPECT_EQ(r.mechanisms[1].domain_spec, "example.org");
  EXPECT_EQ(r.mechanisms[1].cidr4, 24);
  EXPECT_EQ(r.mechanisms[1].cidr6, 64);
  EXPECT_EQ(r.mechanisms[1].text, "-mx:example.org/24//64");
  EXPECT_EQ(r.mechanisms[2].qual, qualifier::softfail);
  EXPECT_EQ(r.mechanisms[3].qual, qualifier::neutral);
  EXPECT_EQ(r.mechanisms[3].cidr4, 24);
  EXPECT_TRUE(r.mechanisms[3].network.v4);
  EXPECT_EQ(r.mechanisms[3].network.bytes[0], 192);
  EXPECT_EQ(r.mechanisms[4].kind, mechanism_kind::ip6);
  EXPECT_EQ(r.mechanisms[4].cidr6, 32);
  EXPECT_FALSE(r.mechanisms[4].network.v4);
  EXPECT_EQ(r.mechanisms[5].domain_spec, "_spf.example.org");
  EXPECT_EQ(r.mechanisms[6].kind, mechanism_kind::exists);
  EXPECT_EQ(r.mechanisms[7].kind, mechanism_kind::all);
}

TEST(spf_record, mechanism_and_modifier_names_are_case_insensitive) {
  auto r = ok("v=spf1 MX A:Example.ORG IP4:192.0.2.1 ALL Redirect=example.org EXP=exp.example.org");
  ASSERT_EQ(r.mechanisms.size(), 4u);
  EXPECT_EQ(r.mechanisms[0].kind, mechanism_kind::mx);
  ASSERT_TRUE(r.redirect);
  ASSERT_TRUE(r.exp);
  EXPECT_EQ(*r.exp, "exp.example.org");
}

TEST(spf_record, cidr_lengths) {
  EXPECT_EQ(ok("v=spf1 a/0").mechanisms[0].cidr4, 0);
  EXPECT_EQ(ok("v=spf1 a//0").mechanisms[0].cidr6, 0);
  EXPECT_EQ(ok("v=spf1 a//0").mechanisms[0].cidr4, 32);
  EXPECT_EQ(ok("v=spf1 a:foo.example.com/24").mechanisms[0].domain_spec, "foo.example.com");
  EXPECT_TRUE(bad("v=spf1 a/33"));
  EXPECT_TRUE(bad("v=spf1 a//129"));
  EXPECT_TRUE(bad("v=spf1 a/24/64"));
  EXPECT_TRUE(bad("v=spf1 ip4:1.2.3.4/032"));
  EXPECT_TRUE(bad("v=spf1 ip4:1.2.3.4//32"));
  EXPECT_TRUE(bad("v=spf1 ip4:1.2.3.4/33"));
  EXPECT_TRUE(bad("v=spf1 ip6:::1/129"));
  EXPECT_TRUE(bad("v=spf1 ip6:::1.1.1.1//33"));
  EXPECT_TRUE(bad("v=spf1 ptr/0"));
  EXPECT_TRUE(bad("v=spf1 include:ip5.example.com/24"));
  EXPECT_TRUE(bad("v=spf1 exists:mail.example.com/24"));
}

TEST(spf_record, ip_networks_are_strict) {
  EXPECT_TRUE(bad("v=spf1 ip4"));
  EXPECT_TRUE(bad("v=spf1 ip4:1.2.3"));
  EXPECT_TRUE(bad("v=spf1 ip4:1.2.3.4:8080"));
  EXPECT_TRUE(bad("v=spf1 ip4:01.2.3.4"));
  EXPECT_TRUE(bad("v=spf1 ip4:256.2.3.4"));
  EXPECT_TRUE(bad("v=spf1 ip6"));
  EXPECT_TRUE(bad("v=spf1 ip6::CAFE::BABE"));
  EXPECT_FALSE(bad("v=spf1 ip6:::FFFF:1.2.3.4"));
  EXPECT_FALSE(bad("v=spf1 ip6:Cafe:Babe:8000::/33"));
}

TEST(spf_record, syntax_errors_anywhere_are_detected) {
  EXPECT_TRUE(bad("v=spf1 ip4:1.2.3.4 -all moo"));
  EXPECT_TRUE(bad("v=spf1 -all."));
  EXPECT_TRUE(bad("v=spf1 -all:foobar"));
  EXPECT_TRUE(bad("v=spf1 -all/8"));
  EXPECT_TRUE(bad("v=spf1 redirect:t2.example.com"));
  EXPECT_TRUE(bad("v=spf1 moo.cow/far_out=man:dog/cat"));
  EXPECT_TRUE(bad("v=spf1 moo.cow:far_out=man:dog/cat"));
  EXPECT_TRUE(bad("v=spf1 =all"));
  EXPECT_TRUE(bad("v=spf1 1up=foo"));
  EXPECT_TRUE(bad("v=spf1 -all foo=%abc"));
  EXPECT_TRUE(bad("v=spf1 include"));
  EXPECT_TRUE(bad("v=spf1 include:"));
  EXPECT_TRUE(bad("v=spf1 exists"));
  EXPECT_TRUE(bad("v=spf1 a:"));
  EXPECT_TRUE(bad("v=spf1 -"));
  EXPECT_TRUE(bad("v=spf1 a:ctrl.example.com\rptr -all"));
  EXPECT_TRUE(bad("v=spf1 ip4:192.0.2.5\n include:x.example.com"));
  EXPECT_TRUE(bad("v=spf1 a:\xef\xbb\xbfgarbage.example.net -all"));
  EXPECT_TRUE(bad(std::string_view("v=spf1 a:foo.example.com\0", 25)));
  // unknown modifiers are fine (and so are obsolete ones such as default=)
  auto r = ok("v=spf1 moo.cow-far_out=man:dog/cat default=+ ip4:1.2.3.4 -all");
  EXPECT_EQ(r.unknown.size(), 2u);
  EXPECT_EQ(r.mechanisms.size(), 2u);
}

TEST(spf_record, redirect_and_exp_at_most_once_and_with_a_domain_spec) {
  EXPECT_TRUE(bad("v=spf1 exp=a.example.com -all exp=b.example.com"));
  EXPECT_TRUE(bad("v=spf1 redirect=a.example.com redirect=a.example.com"));
  EXPECT_TRUE(bad("v=spf1 exp= -all"));
  EXPECT_TRUE(bad("v=spf1 exp=-all"));
  EXPECT_TRUE(bad("v=spf1 ?all redirect="));
  EXPECT_TRUE(bad("v=spf1 redirect=-all ?all"));
  EXPECT_FALSE(bad("v=spf1 redirect=%{d}.d.spf.example.com."));
}

TEST(spf_record, spaces_between_terms) {
  EXPECT_EQ(ok("v=spf1 a  -all").mechanisms.size(), 2u);
  EXPECT_EQ(ok("v=spf1 a -all ").mechanisms.size(), 2u);
  EXPECT_EQ(ok("v=spf1").mechanisms.size(), 0u);
  EXPECT_EQ(ok("v=spf1 ").mechanisms.size(), 0u);
}

TEST(spf_record, domain_spec_end) {
  EXPECT_TRUE(valid_domain_spec("example.com"));
  EXPECT_TRUE(valid_domain_spec("example.com."));
  EXPECT_TRUE(valid_domain_spec("foo.example.xn--zckzah"));
  EXPECT_TRUE(valid_domain_spec("foo:bar/baz.example.com"));
  EXPECT_TRUE(valid_domain_spec("%{H}"));
  EXPECT_TRUE(valid_domain_spec("%{ir}.%{v}._spf.%{d2}"));
  EXPECT_TRUE(valid_domain_spec("macro%%percent%_%_space%-url-space.example.com"));
  EXPECT_FALSE(valid_domain_spec(""));
  EXPECT_FALSE(valid_domain_spec("museum"));
  EXPECT_FALSE(valid_domain_spec("museum."));
  EXPECT_FALSE(valid_domain_spec("abc.123"));
  EXPECT_FALSE(valid_domain_spec("111.222.33.44"));
  EXPECT_FALSE(valid_domain_spec("example.-com"));
  EXPECT_FALSE(valid_domain_spec("example.com:8080"));
  EXPECT_FALSE(valid_domain_spec("foo-bar"));
  EXPECT_FALSE(valid_domain_spec("%(ir).sbl.example.com"));
  EXPECT_FALSE(valid_domain_spec("foo%.sbl.example.com"));
  EXPECT_FALSE(valid_domain_spec("%{r}.example.com"));  // c, r, t: explanation text only
  EXPECT_FALSE(valid_domain_spec("%{a}.example.com"));
  EXPECT_FALSE(valid_domain_spec("%{d0}.example.com"));
  EXPECT_FALSE(valid_domain_spec("%{d"));
}

TEST(spf_record, explanation_strings) {
  EXPECT_TRUE(valid_macro_string("Connections from %{c} not authorized at %{t} by %{r}.", true));
  EXPECT_FALSE(valid_macro_string("Connections from %{c}", false));
  EXPECT_FALSE(valid_macro_string("The %{x}-files.", true));
  EXPECT_FALSE(valid_macro_string("tab\there", true));
}

TEST(spf_record, record_length_is_bounded) {
  std::string big = "v=spf1";
  while (big.size() <= max_record_length) big += " a";
  EXPECT_TRUE(bad(big));
}

TEST(spf_record, dns_name_checks) {
  EXPECT_TRUE(valid_dns_name("example.com"));
  EXPECT_TRUE(valid_dns_name("example.com."));
  EXPECT_FALSE(valid_dns_name("a..example.com"));
  EXPECT_FALSE(valid_dns_name(std::string(64, 'a') + ".example.com"));
  EXPECT_TRUE(valid_dns_name(std::string(63, 'a') + ".example.com"));
  EXPECT_FALSE(valid_dns_name(""));
  EXPECT_TRUE(valid_check_domain("mail.example.net"));
  EXPECT_FALSE(valid_check_domain("A2345678"));
  EXPECT_FALSE(valid_check_domain("[1.2.3.5]"));
  EXPECT_FALSE(valid_check_domain("1.2.3.5"));
  EXPECT_FALSE(valid_check_domain("A...example.com"));
}

TEST(spf_record, client_addresses) {
  auto v4 = parse_ip("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->v4);
  auto mapped = parse_ip("::FFFF:192.0.2.1");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->v4);
  EXPECT_EQ(*mapped, *v4);
  auto v6 = parse_ip("2001:DB8::1");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->v4);
  EXPECT_EQ(format_ip(*v6), "2001:db8::1");
  EXPECT_EQ(format_ip(*v4), "192.0.2.1");
  EXPECT_FALSE(parse_ip("192.0.2.1:25"));
  EXPECT_FALSE(parse_ip("fe80::1%eth0"));
  EXPECT_FALSE(parse_ip("example.com"));
  EXPECT_FALSE(parse_ip(""));
}

TEST(spf_record, networks) {
  auto net = *parse_ip("192.0.2.0");
  EXPECT_TRUE(ip_in_network(*parse_ip("192.0.2.200"), net, 24));
  EXPECT_FALSE(ip_in_network(*parse_ip("192.0.3.1"), net, 24));
  EXPECT_TRUE(ip_in_network(*parse_ip("10.0.0.1"), net, 0));
  EXPECT_TRUE(ip_in_network(*parse_ip("192.0.2.1"), net, 31));
  EXPECT_FALSE(ip_in_network(*parse_ip("192.0.2.2"), net, 31));
  auto net6 = *parse_ip("cafe:babe:8000::");
  EXPECT_TRUE(ip_in_network(*parse_ip("cafe:babe:8000::1"), net6, 33));
  EXPECT_FALSE(ip_in_network(*parse_ip("cafe:babe::1"), net6, 33));
  EXPECT_FALSE(ip_in_network(*parse_ip("192.0.2.1"), net6, 0));  // families never mix
}

}  // namespace
