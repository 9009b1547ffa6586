// tests/unit/spf/spf_eval_test.cpp: check_host() on dns::static_source: limits, include/redirect rules, exp=,
// macros (RFC 7208 7.4 examples), DNS errors, the MAIL FROM / HELO wrappers and Received-SPF.
// SPDX-License-Identifier: MIT
#include "spf_test_util.hpp"

#include <gtest/gtest.h>

namespace spf = mailfort::auth::spf;
namespace dns = mailfort::dns;
using spf::result_code;
using spf_test::ip;
using spf_test::run;
using spf_test::txt_rdata;

namespace {

struct zone {
  dns::static_source src;
  void txt(const std::string& name, const std::string& text) {
    src.add_records(name, dns::rr_type::txt, {txt_rdata(text)});
  }
  void a(const std::string& name, std::vector<std::string> addrs) {
    std::vector<std::string> rd;
    for (auto& s : addrs) rd.push_back(spf_test::a_rdata(s));
    src.add_records(name, dns::rr_type::a, rd);
  }
  void aaaa(const std::string& name, std::vector<std::string> addrs) {
    std::vector<std::string> rd;
    for (auto& s : addrs) rd.push_back(spf_test::aaaa_rdata(s));
    src.add_records(name, dns::rr_type::aaaa, rd);
  }
  void ptr(const std::string& name, std::vector<std::string> names) {
    std::vector<std::string> rd;
    for (auto& s : names) rd.push_back(spf_test::name_rdata(s));
    src.add_records(name, dns::rr_type::ptr, rd);
  }
  void status(const std::string& name, int type, dns::status s) {
    dns::lookup_result r;
    r.st = s;
    src.add(name, type, r);
  }
  spf::result mail(const std::string& client, const std::string& from, const std::string& helo = "mx.client.test") {
    return run(spf::check_mail_from(src, ip(client), helo, from, "mx.receiver.test"));
  }
};

TEST(spf_eval, pass_fail_and_the_matched_mechanism) {
  zone z;
  z.txt("example.org", "v=spf1 ip4:192.0.2.0/24 ~all");
  auto r = z.mail("192.0.2.7", "alice@example.org");
  EXPECT_EQ(r.code, result_code::pass);
  EXPECT_EQ(r.mechanism, "ip4:192.0.2.0/24");
  EXPECT_EQ(r.domain, "example.org");
  EXPECT_EQ(r.sender, "alice@example.org");
  r = z.mail("198.51.100.1", "alice@example.org");
  EXPECT_EQ(r.code, result_code::softfail);
  EXPECT_EQ(r.mechanism, "~all");
  EXPECT_EQ(r.dns_lookups, 0);
}

TEST(spf_eval, none_for_missing_records_and_bad_domains) {
  zone z;
  z.txt("example.org", "hello world");
  EXPECT_EQ(z.mail("192.0.2.1", "a@example.org").code, result_code::none);
  EXPECT_EQ(z.mail("192.0.2.1", "a@nowhere.example").code, result_code::none);
  const int before = z.src.lookups();
  EXPECT_EQ(z.mail("192.0.2.1", "a@[192.0.2.1]").code, result_code::none);
  EXPECT_EQ(z.src.lookups(), before);  // no DNS query for a domain literal
}

TEST(spf_eval, dns_errors_are_temperror) {
  zone z;
  z.status("example.org", dns::rr_type::txt, dns::status::servfail);
  EXPECT_EQ(z.mail("192.0.2.1", "a@example.org").code, result_code::temperror);
  z.txt("b.example.org", "v=spf1 a:slow.example.org -all");
  z.status("slow.example.org", dns::rr_type::a, dns::status::timeout);
  EXPECT_EQ(z.mail("192.0.2.1", "a@b.example.org").code, result_code::temperror);
}

TEST(spf_eval, multiple_records_are_permerror) {
  zone z;
  z.src.add_records("example.org", dns::rr_type::txt, {txt_rdata("v=spf1 -all"), txt_rdata("v=spf1 +all")});
  auto r = z.mail("192.0.2.1", "a@example.org");
  EXPECT_EQ(r.code, result_code::permerror);
  EXPECT_NE(r.reason.find("multiple"), std::string::npos);
}

TEST(spf_eval, ten_dns_terms_pass_eleven_is_permerror) {
  zone z;
  std::string ten = "v=spf1", eleven = "v=spf1";
  for (int i = 0; i < 10; ++i) ten += " a:h" + std::to_string(i) + ".example.org";
  for (int i = 0; i < 11; ++i) eleven += " a:h" + std::to_string(i) + ".example.org";
  for (int i = 0; i < 11; ++i) z.a("h" + std::to_string(i) + ".example.org", {"198.51.100.1"});
  z.txt("ten.example.org", ten + " ip4:192.0.2.1 -all");
  z.txt("eleven.example.org", eleven + " ip4:192.0.2.1 -all");
  auto r = z.mail("192.0.2.1", "a@ten.example.org");
  EXPECT_EQ(r.code, result_code::pass);
  EXPECT_EQ(r.dns_lookups, 10);
  r = z.mail("192.0.2.1", "a@eleven.example.org");
  EXPECT_EQ(r.code, result_code::permerror);
  EXPECT_EQ(r.dns_lookups, 11);
}

TEST(spf_eval, include_loops_end_in_permerror_with_bounded_lookups) {
  zone z;
  z.txt("a.example.org", "v=spf1 include:b.example.org");
  z.txt("b.example.org", "v=spf1 include:a.example.org");
  const int before = z.src.lookups();
  EXPECT_EQ(z.mail("192.0.2.1", "x@a.example.org").code, result_code::permerror);
  EXPECT_LE(z.src.lookups() - before, 12);
  z.txt("r.example.org", "v=spf1 redirect=r.example.org");
  EXPECT_EQ(z.mail("192.0.2.1", "x@r.example.org").code, result_code::permerror);
}

TEST(spf_eval, void_lookups_limit) {
  zone z;
  z.txt("two.example.org", "v=spf1 a:n1.example.org mx:n2.example.org ?all");
  z.txt("three.example.org", "v=spf1 a:n1.example.org mx:n2.example.org exists:n3.example.org ?all");
  EXPECT_EQ(z.mail("192.0.2.1", "x@two.example.org").code, result_code::neutral);
  auto r = z.mail("192.0.2.1", "x@three.example.org");
  EXPECT_EQ(r.code, result_code::permerror);
  EXPECT_EQ(r.void_lookups, 3);
}

TEST(spf_eval, include_result_mapping) {
  zone z;
  z.txt("pass.example.org", "v=spf1 +all");
  z.txt("fail.example.org", "v=spf1 -all");
  z.txt("perm.example.org", "v=spf1 bogus");
  z.status("temp.example.org", dns::rr_type::txt, dns::status::timeout);
  z.txt("i1.example.org", "v=spf1 -include:pass.example.org +all");
  z.txt("i2.example.org", "v=spf1 -include:fail.example.org +all");
  z.txt("i3.example.org", "v=spf1 include:perm.example.org +all");
  z.txt("i4.example.org", "v=spf1 include:temp.example.org +all");
  z.txt("i5.example.org", "v=spf1 include:none.example.org +all");
  EXPECT_EQ(z.mail("192.0.2.1", "x@i1.example.org").code, result_code::fail);
  EXPECT_EQ(z.mail("192.0.2.1", "x@i2.example.org").code, result_code::pass);
  EXPECT_EQ(z.mail("192.0.2.1", "x@i3.example.org").code, result_code::permerror);
  EXPECT_EQ(z.mail("192.0.2.1", "x@i4.example.org").code, result_code::temperror);
  EXPECT_EQ(z.mail("192.0.2.1", "x@i5.example.org").code, result_code::permerror);
}

TEST(spf_eval, redirect_only_when_nothing_matched) {
  zone z;
  z.txt("target.example.org", "v=spf1 ip4:192.0.2.1 -all");
  z.txt("r.example.org", "v=spf1 ip4:198.51.100.1 redirect=target.example.org");
  z.txt("ra.example.org", "v=spf1 redirect=target.example.org ?all");
  EXPECT_EQ(z.mail("192.0.2.1", "x@r.example.org").code, result_code::pass);
  EXPECT_EQ(z.mail("203.0.113.9", "x@r.example.org").code, result_code::fail);
  EXPECT_EQ(z.mail("192.0.2.1", "x@ra.example.org").code, result_code::neutral);  // all wins over redirect
  z.txt("rn.example.org", "v=spf1 redirect=missing.example.org");
  EXPECT_EQ(z.mail("192.0.2.1", "x@rn.example.org").code, result_code::permerror);
}

TEST(spf_eval, mx_with_more_than_ten_names_is_permerror) {
  zone z;
  std::vector<std::string> mx;
  for (int i = 0; i < 11; ++i) mx.push_back(spf_test::mx_rdata(i, "mx" + std::to_string(i) + ".example.org"));
  z.src.add_records("example.org", dns::rr_type::mx, mx);
  z.a("mx0.example.org", {"192.0.2.1"});
  z.txt("example.org", "v=spf1 mx -all");
  EXPECT_EQ(z.mail("192.0.2.1", "x@example.org").code, result_code::permerror);
  mx.pop_back();
  z.src.add_records("example.org", dns::rr_type::mx, mx);
  EXPECT_EQ(z.mail("192.0.2.1", "x@example.org").code, result_code::pass);
}

TEST(spf_eval, a_and_mx_use_the_client_family_and_cidr) {
  zone z;
  z.a("example.org", {"192.0.2.10"});
  z.aaaa("example.org", {"2001:db8::10"});
  z.src.add_records("example.org", dns::rr_type::mx, {spf_test::mx_rdata(10, "example.org")});
  z.txt("example.org", "v=spf1 a/28//120 -all");
  z.txt("mx.example.org", "v=spf1 mx:example.org/28//120 -all");
  EXPECT_EQ(z.mail("192.0.2.1", "x@example.org").code, result_code::pass);
  EXPECT_EQ(z.mail("192.0.2.17", "x@example.org").code, result_code::fail);
  EXPECT_EQ(z.mail("2001:db8::ff", "x@example.org").code, result_code::pass);
  EXPECT_EQ(z.mail("2001:db8::1:1", "x@example.org").code, result_code::fail);
  EXPECT_EQ(z.mail("::ffff:192.0.2.2", "x@mx.example.org").code, result_code::pass);
}

TEST(spf_eval, ptr_validates_forward_and_limits_names) {
  zone z;
  z.ptr("1.2.0.192.in-addr.arpa", {"host.example.org", "liar.example.org"});
  z.a("host.example.org", {"192.0.2.1"});
  z.a("liar.example.org", {"198.51.100.1"});
  z.txt("example.org", "v=spf1 ptr -all");
  z.txt("liar.test.org", "v=spf1 ptr:liar.example.org -all");
  EXPECT_EQ(z.mail("192.0.2.1", "x@example.org").code, result_code::pass);
  EXPECT_EQ(z.mail("192.0.2.1", "x@liar.test.org").code, result_code::fail);
  // Twelve PTR names, the only valid one last: beyond the first ten, never looked at.
  std::vector<std::string> names;
  for (int i = 0; i < 11; ++i) names.push_back("n" + std::to_string(i) + ".other.org");
  names.push_back("good.example.org");
  z.ptr("2.2.0.192.in-addr.arpa", names);
  z.a("good.example.org", {"192.0.2.2"});
  EXPECT_EQ(z.mail("192.0.2.2", "x@example.org").code, result_code::fail);
}

TEST(spf_eval, explanation_only_on_fail_with_macros) {
  zone z;
  z.txt("example.org", "v=spf1 ip4:192.0.2.1 ~ip4:192.0.2.2 -all exp=why.example.org");
  z.txt("why.example.org", "%{l} may not send from %{c} via %{r} for %{o}");
  auto r = z.mail("198.51.100.7", "bob@example.org");
  EXPECT_EQ(r.code, result_code::fail);
  EXPECT_EQ(r.explanation, "bob may not send from 198.51.100.7 via mx.receiver.test for example.org");
  r = z.mail("192.0.2.2", "bob@example.org");
  EXPECT_EQ(r.code, result_code::softfail);
  EXPECT_EQ(r.explanation, "");
}

TEST(spf_eval, explanation_lookup_does_not_count_against_limits) {
  zone z;
  z.txt("example.org", "v=spf1 a:v1.example.org a:v2.example.org exp=v3.example.org -all");
  auto r = z.mail("192.0.2.1", "x@example.org");
  EXPECT_EQ(r.code, result_code::fail);
  EXPECT_EQ(r.void_lookups, 2);
  EXPECT_EQ(r.explanation, "");
}

TEST(spf_eval, null_sender_uses_helo_and_helo_check) {
  zone z;
  z.txt("mx.client.test", "v=spf1 ip4:192.0.2.1 -all");
  auto r = z.mail("192.0.2.1", "");
  EXPECT_EQ(r.code, result_code::pass);
  EXPECT_EQ(r.sender, "postmaster@mx.client.test");
  EXPECT_EQ(z.mail("192.0.2.1", "<>").code, result_code::pass);
  auto h = run(spf::check_helo(z.src, ip("192.0.2.9"), "mx.client.test"));
  EXPECT_EQ(h.code, result_code::fail);
  EXPECT_EQ(h.identity, "helo");
  EXPECT_EQ(run(spf::check_helo(z.src, ip("192.0.2.9"), "OEMCOMPUTER")).code, result_code::none);
}

TEST(spf_eval, no_local_part_becomes_postmaster) {
  zone z;
  z.txt("example.net", "v=spf1 -all exp=exp.example.net");
  z.txt("exp.example.net", "%{l}");
  auto r = z.mail("192.0.2.1", "@example.net");
  EXPECT_EQ(r.code, result_code::fail);
  EXPECT_EQ(r.explanation, "postmaster");
}

TEST(spf_macros, rfc7208_section_7_4_examples) {
  spf::macro_context c;
  c.sender = "strong-bad@email.example.com";
  c.domain = "email.example.com";
  c.ip = ip("192.0.2.3");
  c.helo = "mx.example.org";
  auto x = [&](std::string_view s) { return spf::expand_macros(s, c, false).value_or("<error>"); };
  EXPECT_EQ(x("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(x("%{o}"), "email.example.com");
  EXPECT_EQ(x("%{d}"), "email.example.com");
  EXPECT_EQ(x("%{d4}"), "email.example.com");
  EXPECT_EQ(x("%{d3}"), "email.example.com");
  EXPECT_EQ(x("%{d2}"), "example.com");
  EXPECT_EQ(x("%{d1}"), "com");
  EXPECT_EQ(x("%{dr}"), "com.example.email");
  EXPECT_EQ(x("%{d2r}"), "example.email");
  EXPECT_EQ(x("%{l}"), "strong-bad");
  EXPECT_EQ(x("%{l-}"), "strong.bad");
  EXPECT_EQ(x("%{lr}"), "strong-bad");
  EXPECT_EQ(x("%{lr-}"), "bad.strong");
  EXPECT_EQ(x("%{l1r-}"), "strong");
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(x("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(x("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(x("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(x("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
  c.ip = ip("2001:db8::cb01");
  EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(spf_macros, escapes_url_encoding_and_exp_only_letters) {
  spf::macro_context c;
  c.sender = "~jack&jill=up-a_b3.c@example.com";
  c.domain = "example.com";
  c.ip = ip("192.0.2.3");
  c.now = 1234567890;
  EXPECT_EQ(spf::expand_macros("%{L}", c, false), "~jack%26jill%3Dup-a_b3.c");
  EXPECT_EQ(spf::expand_macros("a%%b%_c%-d", c, false), "a%b c%20d");
  EXPECT_EQ(spf::expand_macros("%{t} %{c}", c, true), "1234567890 192.0.2.3");
  EXPECT_FALSE(spf::expand_macros("%{t}", c, false));
  EXPECT_FALSE(spf::expand_macros("%{x}", c, true));
  EXPECT_FALSE(spf::expand_macros("%{d0}", c, false));
  EXPECT_EQ(spf::expand_macros("%{d99999999999999999999}", c, false), "example.com");  // no overflow
}

TEST(spf_macros, long_names_lose_labels_on_the_left) {
  const std::string label(61, 'a');
  const std::string tail = label + "." + label + "." + label + "." + label + ".com";  // 251 octets
  const std::string name = "xy." + tail;                                              // 254 octets
  ASSERT_EQ(name.size(), 254u);
  EXPECT_EQ(spf::truncate_domain(name), tail);
  EXPECT_EQ(spf::truncate_domain(tail), tail);
}

TEST(spf_received, header_value) {
  zone z;
  z.txt("example.org", "v=spf1 ip4:192.0.2.0/24 -all");
  auto r = z.mail("192.0.2.7", "alice@example.org");
  const std::string h = spf::format_received_spf(r, ip("192.0.2.7"), "mx.client.test", "mx.receiver.test");
  EXPECT_EQ(h.rfind("pass (", 0), 0u) << h;
  EXPECT_NE(h.find("client-ip=192.0.2.7;"), std::string::npos) << h;
  EXPECT_NE(h.find("envelope-from=alice@example.org;"), std::string::npos) << h;
  EXPECT_NE(h.find("helo=mx.client.test;"), std::string::npos) << h;
  EXPECT_NE(h.find("mechanism=\"ip4:192.0.2.0/24\";"), std::string::npos) << h;
  EXPECT_NE(h.find("identity=mailfrom"), std::string::npos) << h;
  EXPECT_EQ(h.find('\n'), std::string::npos);
}

}  // namespace
