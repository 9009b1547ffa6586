// tests/unit/audit/spf_walk_test.cpp: the SPF walk on dns::static_source: DNS-term counting through include and
// redirect, void lookups, the effective "all", loops, multiple records; and the probe_domain driver end to end
// with the MX probe off, including the DMARC organisational-domain fallback (PSL).
// SPDX-License-Identifier: MIT
#include "audit/domain_audit.hpp"
#include "dns/records.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <algorithm>

using namespace mailfort;
using namespace mailfort::audit;

namespace {

template <class T>
T run(boost::asio::awaitable<T> a, boost::asio::io_context* shared = nullptr) {
  boost::asio::io_context own;
  boost::asio::io_context& io = shared ? *shared : own;
  std::optional<T> out;
  std::exception_ptr err;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    err = e;
    out = std::move(v);
  });
  io.run();
  if (err) std::rethrow_exception(err);
  return std::move(*out);
}

std::string txt(const std::string& s) {
  std::string out;
  std::size_t pos = 0;
  do {
    std::size_t n = std::min<std::size_t>(255, s.size() - pos);
    out += static_cast<char>(n);
    out.append(s, pos, n);
    pos += n;
  } while (pos < s.size());
  return out;
}

std::string a(std::uint8_t last) { return std::string{'\xc0', '\x00', '\x02', static_cast<char>(last)}; }

std::string name_rdata(const std::string& n) {
  std::string out;
  std::size_t start = 0;
  while (start < n.size()) {
    auto dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    out += static_cast<char>(dot - start);
    out += n.substr(start, dot - start);
    start = dot + 1;
  }
  return out + '\0';
}

}  // namespace

TEST(audit_spf_walk, counts_terms_through_includes) {
  dns::static_source src;
  // 11 DNS-querying terms: 5 includes (each with 1 a), plus the top-level mx.
  std::string top = "v=spf1 mx";
  for (int i = 1; i <= 5; ++i) {
    top += " include:i" + std::to_string(i) + ".example.org";
    src.add_records("i" + std::to_string(i) + ".example.org", dns::rr_type::txt,
                    {txt("v=spf1 a:h" + std::to_string(i) + ".example.org -all")});
    src.add_records("h" + std::to_string(i) + ".example.org", dns::rr_type::a, {a(static_cast<std::uint8_t>(i))});
  }
  src.add_records("example.org", dns::rr_type::txt, {txt(top + " -all")});
  src.add_records("example.org", dns::rr_type::mx, {std::string("\x00\x0a", 2) + name_rdata("mx.example.org")});
  auto s = run(walk_spf(src, "example.org"));
  EXPECT_EQ(s.st, spf_obs::state::ok);
  EXPECT_EQ(s.dns_terms, 11);
  EXPECT_EQ(s.void_lookups, 0);
  EXPECT_EQ(s.all_qualifier, '-');
  EXPECT_TRUE(s.problems.empty());
}

TEST(audit_spf_walk, void_lookups_and_redirect_all) {
  dns::static_source src;
  src.add_records("example.org", dns::rr_type::txt,
                  {txt("v=spf1 a:gone1.example.org exists:gone2.example.org mx:gone3.example.org "
                       "redirect=_spf.example.org")});
  src.add_records("_spf.example.org", dns::rr_type::txt, {txt("v=spf1 ip4:192.0.2.0/24 ?all")});
  auto s = run(walk_spf(src, "example.org"));
  EXPECT_EQ(s.dns_terms, 4);
  EXPECT_EQ(s.void_lookups, 3);
  EXPECT_EQ(s.all_qualifier, '?');
  EXPECT_TRUE(s.has_redirect);
}

TEST(audit_spf_walk, loops_missing_includes_and_multiple_records) {
  dns::static_source src;
  src.add_records("loop.example", dns::rr_type::txt, {txt("v=spf1 include:loop.example include:none.example ~all")});
  auto s = run(walk_spf(src, "loop.example"));
  EXPECT_EQ(s.all_qualifier, '~');
  EXPECT_EQ(s.problems.size(), 2u);  // the loop and the missing include
  src.add_records("two.example", dns::rr_type::txt, {txt("v=spf1 -all"), txt("v=spf1 +all")});
  EXPECT_EQ(run(walk_spf(src, "two.example")).st, spf_obs::state::multiple);
  src.add_records("bad.example", dns::rr_type::txt, {txt("v=spf1 foo:bar -all")});
  EXPECT_EQ(run(walk_spf(src, "bad.example")).st, spf_obs::state::syntax_error);
  EXPECT_EQ(run(walk_spf(src, "nothing.example")).st, spf_obs::state::none);
}

TEST(audit_domain_driver, records_without_mx_probe) {
  dns::static_source src;
  src.add_records("example.org", dns::rr_type::mx, {std::string("\x00\x0a", 2) + name_rdata("mx.example.org")});
  src.add_records("mx.example.org", dns::rr_type::a, {a(1)});
  src.add_records("1.2.0.192.in-addr.arpa", dns::rr_type::ptr, {name_rdata("mx.example.org")});
  src.add_records("1.2.0.192.bl.test", dns::rr_type::a, {std::string{'\x7f', '\x00', '\x00', '\x02'}});
  src.add_records("example.org", dns::rr_type::txt, {txt("v=spf1 mx ~all")});
  src.add_records("_dmarc.example.org", dns::rr_type::txt, {txt("v=DMARC1; p=none")});
  src.add_records("s1._domainkey.example.org", dns::rr_type::txt,
                  {txt("v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")});
  boost::asio::io_context io;
  domain_audit_options opt;
  opt.domain = "Example.ORG.";
  opt.dnsbl_zones = {"bl.test"};
  opt.dkim_selectors = {"s1"};
  opt.smtp_probe = false;
  report rep;
  domain_observations o = run(probe_domain(io.get_executor(), src, opt, rep), &io);
  EXPECT_FALSE(rep.could_not_run);
  ASSERT_EQ(o.hosts.size(), 1u);
  ASSERT_EQ(o.hosts[0].addresses.size(), 1u);
  EXPECT_TRUE(o.hosts[0].addresses[0].forward_confirmed);
  ASSERT_EQ(o.hosts[0].addresses[0].listed_in.size(), 1u);
  EXPECT_EQ(o.dmarc.p, "none");
  ASSERT_EQ(o.dkim.size(), 1u);
  EXPECT_EQ(o.dkim[0].st, dkim_obs::state::ok);
  EXPECT_TRUE(o.dkim[0].testing);
  std::vector<finding> f;
  judge_domain(o, {}, f);
  auto has = [&](const std::string& id) {
    return std::any_of(f.begin(), f.end(), [&](const finding& x) { return x.id == id; });
  };
  EXPECT_TRUE(has("dns.dnsbl.listed"));
  EXPECT_TRUE(has("dmarc.policy.none"));
  EXPECT_TRUE(has("spf.all.softfail"));
  EXPECT_TRUE(has("dkim.testing"));
  EXPECT_TRUE(has("mta_sts.missing"));
  EXPECT_FALSE(has("dns.ptr.missing"));
}

TEST(audit_domain_driver, nxdomain_cannot_run) {
  dns::static_source src;
  boost::asio::io_context io;
  domain_audit_options opt;
  opt.domain = "missing.example";
  report rep;
  run(probe_domain(io.get_executor(), src, opt, rep), &io);
  EXPECT_TRUE(rep.could_not_run);
  EXPECT_EQ(exit_code(rep, severity::high), 2);
}

// DMARC: no record at _dmarc.<domain>: the organisational domain's (PSL: example.co.uk for mail.shop.example.co.uk,
// never co.uk) applies with its sp=; the queries stop there.
TEST(audit_domain_driver, dmarc_organisational_domain_fallback) {
  dns::static_source src;
  src.add_records("mail.shop.example.co.uk", dns::rr_type::mx,
                  {std::string("\x00\x0a", 2) + name_rdata("mx.example.co.uk")});
  src.add_records("_dmarc.example.co.uk", dns::rr_type::txt, {txt("v=DMARC1; p=reject; sp=quarantine")});
  src.add_records("_dmarc.co.uk", dns::rr_type::txt, {txt("v=DMARC1; p=none")});  // a public suffix: never used
  boost::asio::io_context io;
  domain_audit_options opt;
  opt.domain = "mail.shop.example.co.uk";
  opt.smtp_probe = false;
  opt.dnsbl_zones.clear();
  report rep;
  domain_observations o = run(probe_domain(io.get_executor(), src, opt, rep), &io);
  EXPECT_EQ(o.dmarc.st, dmarc_obs::state::ok);
  EXPECT_TRUE(o.dmarc.inherited);
  EXPECT_EQ(o.dmarc.policy_domain, "example.co.uk");
  EXPECT_EQ(o.dmarc.org_domain, "example.co.uk");
  EXPECT_EQ(o.dmarc.sp, "quarantine");

  // The organisational domain itself has no record either: missing, and the evidence says where we looked.
  dns::static_source none;
  none.add_records("shop.example.net", dns::rr_type::mx, {std::string("\x00\x0a", 2) + name_rdata("mx.example.net")});
  none.add_records("_dmarc.net", dns::rr_type::txt, {txt("v=DMARC1; p=reject")});
  opt.domain = "shop.example.net";
  report rep2;
  boost::asio::io_context io2;
  o = run(probe_domain(io2.get_executor(), none, opt, rep2), &io2);
  EXPECT_EQ(o.dmarc.st, dmarc_obs::state::missing);
  EXPECT_FALSE(o.dmarc.inherited);
  EXPECT_EQ(o.dmarc.org_domain, "example.net");
}
