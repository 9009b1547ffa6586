// tests/unit/audit/domain_checks_test.cpp: the domain checks (MX, rDNS, DNSBL, SPF, DKIM, DMARC, MTA-STS,
// TLS-RPT, DANE) from canned observations.
// SPDX-License-Identifier: MIT
#include "audit/domain_observations.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace mailfort::audit;

namespace {

domain_observations clean() {
  domain_observations o;
  o.domain = "example.org";
  mx_obs h;
  h.host = "mx.example.org";
  address_obs a;
  a.ip = "192.0.2.1";
  a.ptr_names = {"mx.example.org"};
  a.forward_confirmed = true;
  h.addresses = {a};
  o.hosts = {h};
  o.spf.st = spf_obs::state::ok;
  o.spf.record = "v=spf1 mx -all";
  o.spf.dns_terms = 1;
  o.spf.all_qualifier = '-';
  o.dmarc.st = dmarc_obs::state::ok;
  o.dmarc.p = o.dmarc.sp = "reject";
  o.dmarc.has_rua = true;
  o.mta_sts.st = mta_sts_obs::state::ok;
  o.mta_sts.mode = "enforce";
  o.mta_sts.patterns = {"mx.example.org"};
  o.tls_rpt.st = tls_rpt_obs::state::ok;
  return o;
}

std::vector<finding> judge(const domain_observations& o) {
  std::vector<finding> out;
  domain_check_options opt;
  opt.now = 1700000000;
  judge_domain(o, opt, out);
  return out;
}

std::optional<severity> sev(const std::vector<finding>& v, const std::string& id) {
  auto it = std::find_if(v.begin(), v.end(), [&](const finding& f) { return f.id == id; });
  if (it == v.end()) return std::nullopt;
  return it->sev;
}

}  // namespace

TEST(audit_domain_checks, clean_domain_has_no_findings) {
  auto f = judge(clean());
  EXPECT_TRUE(f.empty()) << f.front().id;
}

TEST(audit_domain_checks, rdns_and_dnsbl) {
  auto o = clean();
  o.hosts[0].addresses[0].ptr_names.clear();
  o.hosts[0].addresses[0].forward_confirmed = false;
  o.hosts[0].addresses[0].listed_in = {"bl.test (127.0.0.2)"};
  auto f = judge(o);
  EXPECT_EQ(sev(f, "dns.ptr.missing"), severity::medium);
  EXPECT_EQ(sev(f, "dns.dnsbl.listed"), severity::high);
  o.hosts[0].addresses[0].ptr_names = {"other.example"};
  EXPECT_EQ(sev(judge(o), "dns.ptr.not_forward_confirmed"), severity::medium);
}

TEST(audit_domain_checks, spf_verdicts) {
  auto o = clean();
  o.spf.dns_terms = 11;
  EXPECT_EQ(sev(judge(o), "spf.too_many_lookups"), severity::high);
  o = clean();
  o.spf.void_lookups = 3;
  EXPECT_EQ(sev(judge(o), "spf.void_lookups"), severity::medium);
  for (auto [q, id, s] :
       std::vector<std::tuple<char, std::string, severity>>{{'+', "spf.all.pass", severity::critical},
                                                            {'?', "spf.all.neutral", severity::medium},
                                                            {'~', "spf.all.softfail", severity::low},
                                                            {0, "spf.all.missing", severity::medium}}) {
    o = clean();
    o.spf.all_qualifier = q;
    EXPECT_EQ(sev(judge(o), id), s) << id;
  }
  o = clean();
  o.spf.st = spf_obs::state::none;
  EXPECT_EQ(sev(judge(o), "spf.missing"), severity::high);
}

TEST(audit_domain_checks, dmarc_verdicts) {
  auto o = clean();
  o.dmarc.st = dmarc_obs::state::missing;
  EXPECT_EQ(sev(judge(o), "dmarc.missing"), severity::high);
  o = clean();
  o.dmarc.p = "none";
  EXPECT_EQ(sev(judge(o), "dmarc.policy.none"), severity::medium);
  o = clean();
  o.dmarc.sp = "none";
  o.dmarc.pct = 50;
  o.dmarc.has_rua = false;
  auto f = judge(o);
  EXPECT_EQ(sev(f, "dmarc.subdomain_policy.none"), severity::low);
  EXPECT_EQ(sev(f, "dmarc.pct"), severity::low);
  EXPECT_EQ(sev(f, "dmarc.no_rua"), severity::low);
}

TEST(audit_domain_checks, dmarc_organisational_fallback) {
  auto o = clean();
  o.domain = "sub.example.org";
  o.dmarc.record = "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.org";
  o.dmarc.sp = "none";
  o.dmarc.policy_domain = o.dmarc.org_domain = "example.org";
  o.dmarc.inherited = true;
  auto f = judge(o);
  ASSERT_EQ(sev(f, "dmarc.inherited"), severity::info);
  EXPECT_EQ(sev(f, "dmarc.policy.none"), severity::medium);  // sp=none is the policy for the subdomain
  EXPECT_FALSE(sev(f, "dmarc.subdomain_policy.none").has_value());
  auto it = std::find_if(f.begin(), f.end(), [](const finding& x) { return x.id == "dmarc.inherited"; });
  EXPECT_EQ(it->subject, "_dmarc.example.org");
  EXPECT_NE(it->title.find("sp=none"), std::string::npos);

  o.dmarc.sp = "reject";  // an inherited sp=reject protects the subdomain
  f = judge(o);
  EXPECT_EQ(sev(f, "dmarc.inherited"), severity::info);
  EXPECT_FALSE(sev(f, "dmarc.policy.none").has_value());

  o = clean();
  o.domain = "sub.example.org";
  o.dmarc.st = dmarc_obs::state::missing;  // neither record
  o.dmarc.org_domain = "example.org";
  f = judge(o);
  ASSERT_EQ(sev(f, "dmarc.missing"), severity::high);
  it = std::find_if(f.begin(), f.end(), [](const finding& x) { return x.id == "dmarc.missing"; });
  EXPECT_NE(it->evidence.find("_dmarc.example.org"), std::string::npos);
}

TEST(audit_domain_checks, dkim_verdicts) {
  auto o = clean();
  o.dkim = {{"s1", dkim_obs::state::missing, "", "", 0, false},
            {"s2", dkim_obs::state::ok, "", "rsa", 1024, true},
            {"s3", dkim_obs::state::ok, "", "rsa", 512, false},
            {"s4", dkim_obs::state::ok, "", "ed25519", 256, false}};
  auto f = judge(o);
  EXPECT_EQ(sev(f, "dkim.missing"), severity::high);
  EXPECT_EQ(sev(f, "dkim.key.weak"), severity::medium);
  EXPECT_EQ(sev(f, "dkim.testing"), severity::low);
  EXPECT_EQ(sev(f, "dkim.key.too_small"), severity::high);
  EXPECT_EQ(
      std::count_if(f.begin(), f.end(), [](const finding& x) { return x.subject == "s4._domainkey.example.org"; }), 0);
}

TEST(audit_domain_checks, mta_sts_tls_rpt_dane) {
  auto o = clean();
  o.mta_sts.unmatched_mx = {"mx.example.org"};
  EXPECT_EQ(sev(judge(o), "mta_sts.mx_mismatch"), severity::critical);
  o.mta_sts.mode = "testing";
  auto f = judge(o);
  EXPECT_EQ(sev(f, "mta_sts.mx_mismatch"), severity::high);
  EXPECT_EQ(sev(f, "mta_sts.mode.testing"), severity::low);
  o = clean();
  o.mta_sts.st = mta_sts_obs::state::none;
  o.tls_rpt.st = tls_rpt_obs::state::none;
  f = judge(o);
  EXPECT_EQ(sev(f, "mta_sts.missing"), severity::low);
  EXPECT_EQ(sev(f, "tls_rpt.missing"), severity::low);
  o = clean();
  o.hosts[0].tlsa = mx_obs::tlsa_state::secure;
  o.hosts[0].dane_match = false;
  EXPECT_EQ(sev(judge(o), "dane.mismatch"), severity::critical);
  o.hosts[0].tlsa = mx_obs::tlsa_state::insecure;
  EXPECT_EQ(sev(judge(o), "dane.insecure"), severity::low);
}

TEST(audit_domain_checks, null_and_implicit_mx) {
  auto o = clean();
  o.mx = domain_observations::mx_state::null_mx;
  o.hosts.clear();
  o.mta_sts.st = mta_sts_obs::state::none;
  o.tls_rpt.st = tls_rpt_obs::state::none;
  auto f = judge(o);
  EXPECT_EQ(sev(f, "dns.mx.null"), severity::info);
  EXPECT_FALSE(sev(f, "mta_sts.missing"));
  o.mx = domain_observations::mx_state::implicit;
  EXPECT_EQ(sev(judge(o), "dns.mx.missing"), severity::medium);
}
