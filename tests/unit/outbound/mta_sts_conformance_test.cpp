// tests/unit/outbound/mta_sts_conformance_test.cpp: every section of conformance/mta-sts/cases.yaml.
// SPDX-License-Identifier: MIT
// discovery cases run through sts_discover() step by step: the case's dns_txt becomes a dns::static_source
// (names not listed do not exist), looked up the way the engine does (lookup_sts_txt below); "https: null" asserts that
// no fetch is asked for; otherwise the case's response is handed over. Three case details are not literal data and are
// mapped here: a certificate described as "valid" or "valid for <host>" is valid, any other description
// ("valid names, signed by an untrusted CA", "trusted CA, but issued for ...") is a failed verification;
// the two over-length bodies ("a valid enforce policy followed by 2049 x 64 "a" bytes") are built as
// described; blackhole.loc (note: the query "times out") is a static_source timeout.
#include "dns/records.hpp"
#include "outbound/mta_sts.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace ob = mailfort::outbound;
namespace dns = mailfort::dns;

namespace {

const std::string cases_path = std::string(MAILFORT_CONFORMANCE_DIR) + "/mta-sts/cases.yaml";

YAML::Node load() { return YAML::LoadFile(cases_path); }

std::string txt_rdata(const std::string& text) {
  std::string rd;
  for (std::size_t i = 0; i < text.size() || i == 0; i += 255) {
    std::string part = text.substr(i, 255);
    rd.push_back(static_cast<char>(part.size()));
    rd += part;
    if (text.empty()) break;
  }
  return rd;
}

// What the delivery engine does with the TXT step (a coroutine function with parameters, not a lambda).
boost::asio::awaitable<ob::sts_txt_answer> lookup_sts_txt(dns::source& src, std::string domain) {
  std::string name = ob::sts_txt_name(domain);
  const auto r = co_await src.lookup(std::move(name), dns::rr_type::txt);
  co_return ob::txt_answer_from(r);
}

ob::sts_txt_answer lookup(dns::static_source& src, const std::string& domain) {
  boost::asio::io_context io;
  ob::sts_txt_answer out;
  boost::asio::co_spawn(io, lookup_sts_txt(src, domain), [&](std::exception_ptr e, ob::sts_txt_answer a) {
    if (e) std::rethrow_exception(e);
    out = std::move(a);
  });
  io.run();
  return out;
}

std::vector<std::string> string_list(const YAML::Node& n) {
  std::vector<std::string> v;
  if (n && n.IsSequence())
    for (const auto& x : n) v.push_back(x.as<std::string>());
  return v;
}

const std::string enforce_policy = "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n";

ob::sts_https_response https_from(const YAML::Node& h) {
  ob::sts_https_response r;
  r.status = h["status"].as<int>();
  r.content_type = h["content_type"].as<std::string>();
  r.body = h["body"].as<std::string>();
  if (r.body.find("2049 x 64") != std::string::npos) r.body = enforce_policy + std::string(2049 * 64, 'a');
  if (h["content_length"]) r.content_length = h["content_length"].as<std::uint64_t>();
  auto cert = h["certificate"].as<std::string>();
  r.certificate_valid = cert == "valid" || cert.rfind("valid for ", 0) == 0;
  return r;
}

}  // namespace

TEST(MtaStsConformance, TxtRecord) {
  auto doc = load();
  int n = 0;
  for (const auto& c : doc["txt_record"]) {
    auto rec = c["record"].as<std::string>();
    auto got = ob::parse_sts_record(rec);
    bool valid = c["expect"]["valid"].as<bool>();
    EXPECT_EQ(got.has_value(), valid) << rec;
    if (got && valid) {
      EXPECT_EQ(got->id, c["expect"]["id"].as<std::string>()) << rec;
    }
    ++n;
  }
  EXPECT_EQ(n, 13);
}

TEST(MtaStsConformance, PolicyContentType) {
  auto doc = load();
  int n = 0;
  for (const auto& c : doc["policy_content_type"]["cases"]) {
    auto ct = c["content_type"].as<std::string>();
    EXPECT_EQ(ob::sts_content_type_ok(ct), c["acceptable"].as<bool>()) << ct;
    ++n;
  }
  EXPECT_EQ(n, 11);
}

TEST(MtaStsConformance, PolicyParse) {
  auto doc = load();
  int n = 0;
  for (const auto& c : doc["policy_parse"]) {
    auto id = c["id"].as<std::string>();
    auto got = ob::parse_sts_policy(c["body"].as<std::string>());
    const auto& e = c["expect"];
    ASSERT_EQ(got.has_value(), e["valid"].as<bool>()) << id;
    if (got) {
      EXPECT_STREQ(ob::to_string(got->mode), e["mode"].as<std::string>().c_str()) << id;
      EXPECT_EQ(got->mx, string_list(e["mx"])) << id;
      EXPECT_EQ(got->max_age, e["max_age"].as<std::uint32_t>()) << id;
    }
    ++n;
  }
  EXPECT_EQ(n, 13);
}

TEST(MtaStsConformance, PolicyCheck) {
  auto doc = load();
  int n = 0;
  for (const auto& c : doc["policy_check"]["cases"]) {
    const auto& f = c["fields"];
    ob::sts_policy_fields in;
    if (f["version"]) in.version = f["version"].as<std::string>();
    if (f["mode"]) in.mode = f["mode"].as<std::string>();
    if (f["max_age"]) in.max_age = f["max_age"].as<std::uint64_t>();
    if (f["mx"]) in.mx = string_list(f["mx"]);
    EXPECT_EQ(ob::check_policy(in).has_value(), c["valid"].as<bool>()) << YAML::Dump(f);
    ++n;
  }
  EXPECT_EQ(n, 10);
}

TEST(MtaStsConformance, MxMatch) {
  auto doc = load();
  int n = 0;
  for (const auto& c : doc["mx_match"]["cases"]) {
    auto host = c["mx_host"].as<std::string>();
    auto pat = c["pattern"].as<std::string>();
    EXPECT_EQ(ob::mx_matches(host, pat), c["match"].as<bool>()) << host << " vs " << pat;
    ++n;
  }
  EXPECT_EQ(n, 19);
}

TEST(MtaStsConformance, MxAllowedByMode) {
  auto doc = load();
  int n = 0;
  for (const auto& c : doc["mx_allowed_by_mode"]["cases"]) {
    ob::sts_policy p;
    p.mode = *ob::parse_sts_mode(c["policy"]["mode"].as<std::string>());
    p.mx = string_list(c["policy"]["mx"]);
    p.max_age = 86400;
    EXPECT_EQ(ob::mx_allowed(p, c["mx_host"].as<std::string>()), c["allowed"].as<bool>());
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(MtaStsConformance, Discovery) {
  auto doc = load();
  std::map<std::string, YAML::Node> https_by_domain;
  for (const auto& c : doc["discovery"]["cases"])
    if (c["https"] && c["https"].IsMap() && !c["https"]["same_as"])
      https_by_domain[c["domain"].as<std::string>()] = c["https"];
  int n = 0;
  for (const auto& c : doc["discovery"]["cases"]) {
    auto domain = c["domain"].as<std::string>();
    SCOPED_TRACE(domain);
    dns::static_source zone;
    for (const auto& kv : c["dns_txt"])
      zone.add_records(kv.first.as<std::string>(), dns::rr_type::txt, {txt_rdata(kv.second.as<std::string>())});
    std::string note = c["note"] ? c["note"].as<std::string>() : "";
    if (note.find("times out") != std::string::npos) {
      dns::lookup_result t;
      t.st = dns::status::timeout;
      zone.add("_mta-sts." + domain, dns::rr_type::txt, t);
    }

    ob::sts_discovery_input in;
    in.domain = domain;
    in.now = 1'700'000'000;
    auto r = ob::sts_discover(in);
    auto expect = c["expect"]["status"].as<std::string>();
    if (r.status == ob::sts_status::lookup_txt) {
      in.txt = lookup(zone, r.domain);
      EXPECT_EQ(zone.lookups(), 1);
      r = ob::sts_discover(in);
    } else {
      EXPECT_EQ(expect, "none");  // only a malformed domain is decided without DNS
      EXPECT_EQ(zone.lookups(), 0);
    }
    const auto& h = c["https"];
    if (!h || h.IsNull()) {
      EXPECT_NE(r.status, ob::sts_status::fetch) << "case says no HTTPS fetch";
    } else {
      ASSERT_EQ(r.status, ob::sts_status::fetch);
      EXPECT_EQ(ob::sts_policy_url(r.domain), "https://mta-sts." + r.domain + "/.well-known/mta-sts.txt");
      YAML::Node hn = h["same_as"] ? https_by_domain.at(h["same_as"].as<std::string>()) : h;
      in.https = https_from(hn);
      r = ob::sts_discover(in);
      if (hn["transfer_encoding"]) {  // streamed: the fetcher saw no Content-Length, only the growing body
        EXPECT_FALSE(in.https->content_length.has_value());
      }
    }
    EXPECT_STREQ(ob::to_string(r.status), expect.c_str()) << r.reason;
    if (c["expect"]["mode"]) {
      ASSERT_TRUE(r.policy.has_value());
      EXPECT_STREQ(ob::to_string(r.policy->mode), c["expect"]["mode"].as<std::string>().c_str());
      EXPECT_TRUE(r.store_in_cache);
      EXPECT_FALSE(r.from_cache);
    }
    if (c["expect"]["mx"]) {
      ASSERT_TRUE(r.policy.has_value());
      EXPECT_EQ(r.policy->mx, string_list(c["expect"]["mx"]));
    }
    ++n;
  }
  EXPECT_EQ(n, 23);
}
