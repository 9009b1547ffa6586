// tests/unit/outbound/mta_sts_test.cpp: MTA-STS beyond the conformance data: record/policy bounds, the
// cache rules of discovery (RFC 8461 5.1), several TXT records, size limits, domain normalisation.
// SPDX-License-Identifier: MIT
#include "outbound/mta_sts.hpp"

#include <gtest/gtest.h>

namespace ob = mailfort::outbound;
namespace dns = mailfort::dns;

namespace {

const std::string good_policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 3600\r\n";

ob::sts_https_response ok_response(std::string body = good_policy) {
  ob::sts_https_response h;
  h.certificate_valid = true;
  h.status = 200;
  h.content_type = "text/plain; charset=utf-8";
  h.body = std::move(body);
  return h;
}

ob::sts_txt_answer records(std::vector<std::string> t) {
  ob::sts_txt_answer a;
  a.k = ob::sts_txt_answer::kind::records;
  a.texts = std::move(t);
  return a;
}

ob::sts_cached_policy cached(std::string id, std::int64_t fetched_at, std::uint32_t max_age = 3600) {
  ob::sts_cached_policy c;
  c.id = std::move(id);
  c.policy.mode = ob::sts_mode::enforce;
  c.policy.mx = {"cached.example.com"};
  c.policy.max_age = max_age;
  c.fetched_at = fetched_at;
  return c;
}

}  // namespace

TEST(MtaStsRecord, IdBounds) {
  EXPECT_TRUE(ob::parse_sts_record("v=STSv1; id=" + std::string(32, 'a')));
  EXPECT_FALSE(ob::parse_sts_record("v=STSv1; id=" + std::string(33, 'a')));
  EXPECT_FALSE(ob::parse_sts_record("v=STSv1; id="));
  EXPECT_FALSE(ob::parse_sts_record("v=STSv1; id=abc-def"));  // only ALPHA / DIGIT
  EXPECT_FALSE(ob::parse_sts_record("v=STSv1;"));             // id is required
  EXPECT_FALSE(ob::parse_sts_record("v=STSv1; id=abc; junk"));
  auto r = ob::parse_sts_record("v=STSv1; ext_1=x; id=abc");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, "abc");
  EXPECT_FALSE(ob::parse_sts_record("V=STSv1; id=abc"));  // the version tag is case-sensitive
}

TEST(MtaStsPolicy, FirstOccurrenceWinsAndUnknownIgnored) {
  auto p = ob::parse_sts_policy("version: STSv1\nmode: testing\nmode: enforce\nfoo: bar\nmx: a\nmx: b\nmax_age: 5\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, ob::sts_mode::testing);
  EXPECT_EQ(p->mx, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p->max_age, 5u);
}

TEST(MtaStsPolicy, Bounds) {
  EXPECT_TRUE(ob::parse_sts_policy("version: STSv1\nmode: none\nmax_age: 0\n"));
  EXPECT_FALSE(ob::parse_sts_policy("version: STSv1\nmode: none\nmax_age: 12345678901\n"));  // 11 digits
  EXPECT_FALSE(ob::parse_sts_policy("version: STSv1\nmode: none\nmax_age: -1\n"));
  EXPECT_FALSE(ob::parse_sts_policy("version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n"));
  EXPECT_FALSE(ob::parse_sts_policy("<html>\nversion: STSv1\nmode: none\nmax_age: 1\n"));
  std::string big = good_policy + std::string(ob::sts_max_policy_size, '\n');
  EXPECT_FALSE(ob::parse_sts_policy(big));
  std::string many = "version: STSv1\nmode: enforce\nmax_age: 1\n";
  for (std::size_t i = 0; i <= ob::sts_max_mx; ++i) many += "mx: m\n";
  EXPECT_FALSE(ob::parse_sts_policy(many));
}

TEST(MtaStsMatch, EdgeCases) {
  EXPECT_TRUE(ob::mx_matches("MX.Example.COM.", "mx.example.com"));
  EXPECT_FALSE(ob::mx_matches("", ""));
  EXPECT_FALSE(ob::mx_matches(".example.com", "*.example.com"));  // empty leftmost label
  EXPECT_FALSE(ob::mx_matches("a.example.com", "*."));
  EXPECT_FALSE(ob::mx_matches("\xff\xfe.com", "\xff\xfe.com"));  // not UTF-8: no A-label, no match
}

TEST(MtaStsDomain, Normalize) {
  EXPECT_EQ(ob::sts_normalize_domain("Example.COM."), "example.com");
  EXPECT_EQ(ob::sts_normalize_domain("ñaca.com"), "xn--aca-6ma.com");
  EXPECT_FALSE(ob::sts_normalize_domain(".example.com"));
  EXPECT_FALSE(ob::sts_normalize_domain("a..b"));
  EXPECT_FALSE(ob::sts_normalize_domain("R.."));  // found by the fuzzer: two trailing dots once became "r"
  EXPECT_FALSE(ob::sts_normalize_domain(""));
  EXPECT_FALSE(ob::sts_normalize_domain("."));
  EXPECT_FALSE(ob::sts_normalize_domain("a b.com"));
  EXPECT_FALSE(ob::sts_normalize_domain("a/b.com"));
  EXPECT_FALSE(ob::sts_normalize_domain(std::string(64, 'a') + ".com"));
  EXPECT_EQ(ob::sts_txt_name("example.com"), "_mta-sts.example.com");
  EXPECT_EQ(ob::sts_policy_host("example.com"), "mta-sts.example.com");
}

TEST(MtaStsDiscovery, TxtAnswerFromLookup) {
  dns::lookup_result r;
  r.st = dns::status::ok;
  r.records = {std::string("\x07v=STSv1", 8), std::string("\x05"
                                                          "bad",
                                                          4)};  // second is truncated RDATA
  auto a = ob::txt_answer_from(r);
  EXPECT_EQ(a.k, ob::sts_txt_answer::kind::records);
  EXPECT_EQ(a.texts, (std::vector<std::string>{"v=STSv1"}));
  r.st = dns::status::nodata;
  EXPECT_EQ(ob::txt_answer_from(r).k, ob::sts_txt_answer::kind::no_record);
  r.st = dns::status::servfail;
  EXPECT_EQ(ob::txt_answer_from(r).k, ob::sts_txt_answer::kind::temp_error);
}

TEST(MtaStsDiscovery, SeveralStsRecordsMeanNoPolicy) {
  ob::sts_discovery_input in;
  in.domain = "example.com";
  in.txt = records({"v=STSv1; id=a", "v=STSv1; id=b"});
  EXPECT_EQ(ob::sts_discover(in).status, ob::sts_status::none);
  in.txt = records({"v=spf1 -all", "v=STSv1; id=b"});  // other TXT records are discarded
  auto r = ob::sts_discover(in);
  EXPECT_EQ(r.status, ob::sts_status::fetch);
  EXPECT_EQ(r.record_id, "b");
}

TEST(MtaStsDiscovery, CacheRules) {
  const std::int64_t now = 1'000'000;
  ob::sts_discovery_input in;
  in.domain = "example.com";
  in.now = now;
  in.cached = cached("id1", now - 100);

  in.txt = records({"v=STSv1; id=id1"});  // same id: no fetch
  auto r = ob::sts_discover(in);
  EXPECT_EQ(r.status, ob::sts_status::valid);
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(r.policy->mx.front(), "cached.example.com");

  in.txt = records({"v=STSv1; id=id2"});  // new id: fetch
  EXPECT_EQ(ob::sts_discover(in).status, ob::sts_status::fetch);
  in.https = ok_response();
  in.https->status = 500;  // fetch fails: keep the cached policy
  r = ob::sts_discover(in);
  EXPECT_EQ(r.status, ob::sts_status::valid);
  EXPECT_TRUE(r.from_cache);
  in.https = ok_response();  // fetch works: the new policy replaces it
  r = ob::sts_discover(in);
  EXPECT_EQ(r.status, ob::sts_status::valid);
  EXPECT_FALSE(r.from_cache);
  EXPECT_TRUE(r.store_in_cache);
  EXPECT_EQ(r.record_id, "id2");
  EXPECT_EQ(r.policy->mx.front(), "mx.example.com");

  in.https.reset();
  in.txt = ob::sts_txt_answer{};  // record removed (or stripped by an attacker): cache still applies
  EXPECT_TRUE(ob::sts_discover(in).from_cache);
  in.txt->k = ob::sts_txt_answer::kind::temp_error;
  EXPECT_TRUE(ob::sts_discover(in).from_cache);

  in.cached = cached("id1", now - 3600);  // expired exactly now
  EXPECT_EQ(ob::sts_discover(in).status, ob::sts_status::fetch_error);
  in.txt->k = ob::sts_txt_answer::kind::no_record;
  EXPECT_EQ(ob::sts_discover(in).status, ob::sts_status::none);
}

TEST(MtaStsDiscovery, HttpsFailures) {
  ob::sts_discovery_input in;
  in.domain = "example.com";
  in.txt = records({"v=STSv1; id=1"});
  in.https = ok_response();
  EXPECT_EQ(ob::sts_discover(in).status, ob::sts_status::valid);
  auto fails = [&](auto mutate) {
    in.https = ok_response();
    mutate(*in.https);
    return ob::sts_discover(in).status == ob::sts_status::fetch_error;
  };
  EXPECT_TRUE(fails([](ob::sts_https_response& h) { h.connected = false; }));
  EXPECT_TRUE(fails([](ob::sts_https_response& h) { h.certificate_valid = false; }));
  EXPECT_TRUE(fails([](ob::sts_https_response& h) { h.status = 301; }));
  EXPECT_TRUE(fails([](ob::sts_https_response& h) { h.content_type = "text/html"; }));
  EXPECT_TRUE(fails([](ob::sts_https_response& h) { h.body_truncated = true; }));
  EXPECT_TRUE(fails([](ob::sts_https_response& h) { h.content_length = ob::sts_max_policy_size + 1; }));
  EXPECT_FALSE(fails([](ob::sts_https_response& h) { h.content_length = h.body.size(); }));
}
