// tests/unit/publish/dns_records_test.cpp: the records `mailfort dns-records` prints and how each DNS answer is
// judged (ok, missing, stale, error), on hand-made RDATA.
// SPDX-License-Identifier: MIT
#include "publish/dns_records.hpp"

#include "../test_util.hpp"
#include "dns/records.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace mailfort;
using namespace mailfort::publish;

namespace {

inputs sample() {
  inputs in;
  in.hostname = "MX.Example.org";
  in.domains = {"example.org"};
  in.dkim = {{"example.org", "ed1", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}};
  in.tlsa = "3 1 1 " + std::string(64, 'a');
  in.sts_id = "0123456789abcdef0123456789abcdef";
  in.public_ipv4 = "192.0.2.25";
  in.services = {{"_submissions._tcp", 465}};
  return in;
}

const record& find(const std::vector<record>& rs, const std::string& kind) {
  auto it = std::find_if(rs.begin(), rs.end(), [&](const record& r) { return r.kind == kind; });
  if (it == rs.end()) throw std::runtime_error("no record of kind " + kind);
  return *it;
}

dns::lookup_result answer(std::vector<std::string> rdata, dns::dnssec sec = dns::dnssec::insecure) {
  dns::lookup_result r;
  r.st = dns::status::ok;
  r.sec = sec;
  r.records = std::move(rdata);
  return r;
}

std::string srv_rdata(int prio, int weight, int port, std::string_view target) {
  std::string out;
  for (int v : {prio, weight, port}) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
  }
  return out + mailfort_test::name_rdata(target);
}

}  // namespace

TEST(dns_records, every_kind_for_a_domain) {
  auto rs = build_records(sample());
  EXPECT_EQ(find(rs, "mx").value, "10 mx.example.org.");
  EXPECT_EQ(find(rs, "mx").name, "example.org");
  EXPECT_EQ(find(rs, "spf").value, "v=spf1 mx -all");
  EXPECT_EQ(find(rs, "dkim").name, "ed1._domainkey.example.org");
  EXPECT_EQ(find(rs, "dmarc").value,
            "v=DMARC1; p=none; rua=mailto:postmaster@example.org; ruf=mailto:postmaster@example.org; fo=1");
  EXPECT_NE(find(rs, "dmarc").comment.find("p=quarantine"), std::string::npos);  // the ladder
  EXPECT_EQ(find(rs, "mta-sts").value, "v=STSv1; id=0123456789abcdef0123456789abcdef");
  EXPECT_EQ(find(rs, "mta-sts-host").value, "mx.example.org.");
  EXPECT_EQ(find(rs, "tls-rpt").value, "v=TLSRPTv1; rua=mailto:postmaster@example.org");
  EXPECT_EQ(find(rs, "tlsa").name, "_25._tcp.mx.example.org");
  EXPECT_EQ(find(rs, "srv").value, "0 1 465 mx.example.org.");
  EXPECT_EQ(find(rs, "srv").name, "_submissions._tcp.example.org");
  EXPECT_EQ(find(rs, "a").value, "192.0.2.25");
  EXPECT_EQ(find(rs, "ptr").name, "25.2.0.192.in-addr.arpa");
  EXPECT_TRUE(find(rs, "ptr").at_provider);
}

TEST(dns_records, smart_host_spf_and_no_sts_when_hosting_is_off) {
  auto in = sample();
  in.smarthost = "Relay.Provider.net";
  in.sts_id.clear();
  auto rs = build_records(in);
  EXPECT_EQ(find(rs, "spf").value, "v=spf1 mx a:relay.provider.net -all");
  EXPECT_THROW(find(rs, "mta-sts"), std::runtime_error);
}

TEST(dns_records, zone_lines_quote_and_split_long_txt) {
  record r{"sel._domainkey.example.org", "TXT", std::string(300, 'k') + "\"", "dkim", "", false, 300};
  const auto line = zone_line(r);
  EXPECT_EQ(line.rfind("sel._domainkey.example.org. 300 IN TXT \"", 0), 0u);
  EXPECT_NE(line.find("\" \""), std::string::npos);  // two character-strings
  EXPECT_NE(line.find("\\\""), std::string::npos);   // the quote escaped
  auto text = zone_text(build_records(sample()));
  EXPECT_NE(text.find("; 25.2.0.192.in-addr.arpa. 3600 IN PTR mx.example.org."), std::string::npos);
}

TEST(dns_records, reverse_names) {
  EXPECT_EQ(reverse_name("192.0.2.1").value(), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name("2001:db8::1").value(),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_FALSE(reverse_name("mx.example.org"));
}

TEST(dns_records_check, missing_when_no_record_of_the_kind) {
  auto rs = build_records(sample());
  dns::lookup_result nx;
  nx.st = dns::status::nxdomain;
  EXPECT_EQ(compare(find(rs, "dmarc"), nx).state, check_state::missing);
  // The apex has TXT records, but none is SPF.
  EXPECT_EQ(compare(find(rs, "spf"), answer({mailfort_test::txt_rdata("google-site-verification=x")})).state,
            check_state::missing);
}

TEST(dns_records_check, spf_equal_modulo_case_and_spaces_else_stale) {
  auto rs = build_records(sample());
  const auto& spf = find(rs, "spf");
  EXPECT_EQ(compare(spf, answer({mailfort_test::txt_rdata(std::vector<std::string>{"v=spf1  MX", " -all"})})).state,
            check_state::ok);
  auto st = compare(spf, answer({mailfort_test::txt_rdata("v=spf1 a -all")}));
  EXPECT_EQ(st.state, check_state::stale);
  ASSERT_EQ(st.found.size(), 1u);
  EXPECT_EQ(st.found[0], "v=spf1 a -all");
}

TEST(dns_records_check, dmarc_any_policy_on_the_ladder_with_our_rua) {
  auto rs = build_records(sample());
  const auto& d = find(rs, "dmarc");
  EXPECT_EQ(compare(d, answer({mailfort_test::txt_rdata(
                           "v=DMARC1; p=reject; rua=mailto:x@other.net,mailto:Postmaster@example.org!10m")}))
                .state,
            check_state::ok);
  EXPECT_EQ(compare(d, answer({mailfort_test::txt_rdata("v=DMARC1; p=reject; rua=mailto:x@other.net")})).state,
            check_state::stale);
}

TEST(dns_records_check, dkim_compares_the_key) {
  auto rs = build_records(sample());
  const auto& k = find(rs, "dkim");
  EXPECT_EQ(compare(k, answer({mailfort_test::txt_rdata(std::vector<std::string>{
                           "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hc", "vPapiMlrwIaaPcHURo="})}))
                .state,
            check_state::ok);
  EXPECT_EQ(compare(k, answer({mailfort_test::txt_rdata("v=DKIM1; k=ed25519; p=AAAA")})).state, check_state::stale);
}

TEST(dns_records_check, mx_tlsa_srv_and_sts) {
  auto rs = build_records(sample());
  EXPECT_EQ(compare(find(rs, "mx"), answer({mailfort_test::mx_rdata(20, "mx.example.org")})).state, check_state::ok);
  EXPECT_EQ(compare(find(rs, "mx"), answer({mailfort_test::mx_rdata(10, "old.example.org")})).state,
            check_state::stale);
  std::string tlsa = "\x03\x01\x01" + std::string(32, '\xaa');
  auto t = compare(find(rs, "tlsa"), answer({tlsa}, dns::dnssec::secure));
  EXPECT_EQ(t.state, check_state::ok);
  EXPECT_TRUE(t.detail.empty());
  EXPECT_NE(compare(find(rs, "tlsa"), answer({tlsa})).detail.find("DNSSEC"), std::string::npos);
  EXPECT_EQ(compare(find(rs, "tlsa"), answer({"\x03\x01\x01" + std::string(32, '\xbb')})).state, check_state::stale);
  EXPECT_EQ(compare(find(rs, "srv"), answer({srv_rdata(5, 0, 465, "mx.example.org")})).state, check_state::ok);
  EXPECT_EQ(compare(find(rs, "srv"), answer({srv_rdata(0, 1, 993, "mx.example.org")})).state, check_state::stale);
  EXPECT_EQ(compare(find(rs, "mta-sts"), answer({mailfort_test::txt_rdata("v=STSv1; id=old")})).state,
            check_state::stale);
  EXPECT_EQ(compare(find(rs, "mta-sts-host"), answer({mailfort_test::name_rdata("mx.example.org")})).state,
            check_state::ok);
}

TEST(dns_records_check, failed_lookup_is_an_error_not_missing) {
  auto rs = build_records(sample());
  dns::lookup_result sf;
  sf.st = dns::status::servfail;
  sf.why_bogus = "signature expired";
  auto r = compare(find(rs, "tlsa"), sf);
  EXPECT_EQ(r.state, check_state::error);
  EXPECT_NE(r.detail.find("signature expired"), std::string::npos);
}

TEST(dns_records_check, srv_parser_is_bounded) {
  EXPECT_FALSE(parse_srv(""));
  EXPECT_FALSE(parse_srv(std::string("\0\0\0\0\0", 5)));
  auto s = parse_srv(srv_rdata(1, 2, 587, "mx.example.org"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 587);
  EXPECT_EQ(s->target, "mx.example.org");
  EXPECT_FALSE(parse_srv(srv_rdata(1, 2, 587, "mx.example.org") + "x"));  // trailing bytes
}
