// tests/unit/report/tlsrpt_test.cpp: TLS-RPT (RFC 8460) record parser, mailto decoding and the JSON report.
// SPDX-License-Identifier: MIT
#include "report/tlsrpt.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace mailfort::report;

TEST(TlsrptRecord, ParsesRfcExamples) {
  auto r = parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:reports@example.com");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rua, std::vector<std::string>{"mailto:reports@example.com"});
  r = parse_tlsrpt_record("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rua[0], "https://reporting.example.com/v1/tlsrpt");
  r = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com , https://x.example/r; ext=1;");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rua, (std::vector<std::string>{"mailto:a@example.com", "https://x.example/r"}));
}

TEST(TlsrptRecord, RejectsMalformed) {
  EXPECT_FALSE(parse_tlsrpt_record(""));
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1"));                          // rua required
  EXPECT_FALSE(parse_tlsrpt_record("rua=mailto:a@b.example; v=TLSRPTv1"));  // version first
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv2; rua=mailto:a@b.example"));
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1; rua=ftp://b.example/x"));  // scheme
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@b.example; rua=mailto:c@d.example"));
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@b.example,"));  // empty URI
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a b@c.example"));
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@b.example; _bad=1"));  // ext-name
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@b.example; novalue"));
  std::string many = "v=TLSRPTv1; rua=mailto:a@b.example";
  for (int i = 0; i < 16; ++i) many += ",mailto:a@b.example";
  EXPECT_FALSE(parse_tlsrpt_record(many));  // 17 URIs
  EXPECT_FALSE(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:" + std::string(5000, 'a') + "@b.example"));
}

TEST(TlsrptRecord, SelectsExactlyOne) {
  EXPECT_TRUE(select_tlsrpt_record({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@b.example"}));
  EXPECT_FALSE(select_tlsrpt_record({}));
  EXPECT_FALSE(select_tlsrpt_record({"v=spf1 -all"}));
  EXPECT_FALSE(select_tlsrpt_record({"v=TLSRPTv1; rua=mailto:a@b.example", "v=TLSRPTv1; rua=mailto:c@d.example"}));
  EXPECT_TRUE(select_tlsrpt_record({"v=TLSRPTv10; rua=mailto:x@y.example", "v=TLSRPTv1; rua=mailto:a@b.example"}));
  EXPECT_FALSE(select_tlsrpt_record({"v=TLSRPTv1; garbage"}));
  EXPECT_EQ(tlsrpt_txt_name("example.com."), "_smtp._tls.example.com");
}

TEST(TlsrptRecord, MailtoAddress) {
  EXPECT_EQ(tlsrpt_mailto("mailto:tlsrpt@example.com"), "tlsrpt@example.com");
  EXPECT_EQ(tlsrpt_mailto("MAILTO:tls%2Brpt@example.com?subject=hi"), "tls+rpt@example.com");
  EXPECT_FALSE(tlsrpt_mailto("https://example.com/"));
  EXPECT_FALSE(tlsrpt_mailto("mailto:"));
  EXPECT_FALSE(tlsrpt_mailto("mailto:nobody"));
  EXPECT_FALSE(tlsrpt_mailto("mailto:a@b@example.com"));
  EXPECT_FALSE(tlsrpt_mailto("mailto:a%0D%0ABcc:x@example.com"));  // header injection via %-escapes
  EXPECT_FALSE(tlsrpt_mailto("mailto:a%3Cb@example.com"));
  EXPECT_FALSE(tlsrpt_mailto("mailto:a@example..com"));
  EXPECT_FALSE(tlsrpt_mailto("mailto:a@example.com%"));
  EXPECT_FALSE(tlsrpt_mailto("mailto:a@example.com%4"));
}

TEST(TlsrptReport, BuildsRfc8460Json) {
  tlsrpt_report_input in;
  in.organization = "mx.sender.example";
  in.contact = "postmaster@sender.example";
  in.report_id = "2026-12-04_example.com_1@mx.sender.example";
  in.start = 1796342400;  // 2026-12-04T00:00:00Z
  in.end = in.start + 86399;
  tlsrpt_session sts;
  sts.policy_domain = "example.com";
  sts.policy_type = "sts";
  sts.policy_string = {"version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400"};
  sts.mx_host = {"mx.example.com"};
  in.rows.push_back({sts, 5});
  auto fail = sts;
  fail.result_type = "certificate-host-mismatch";
  fail.sending_ip = "192.0.2.1";
  fail.receiving_mx = "mx2.example.com";
  fail.receiving_ip = "192.0.2.2";
  in.rows.push_back({fail, 2});
  in.rows.push_back({fail, 1});  // same details: merged
  auto odd = fail;
  odd.result_type = "made-up-result";  // unknown: reported as validation-failure
  in.rows.push_back({odd, 1});
  tlsrpt_session none;
  none.policy_domain = "example.com";
  none.policy_type = "no-policy-found";
  none.result_type = "starttls-not-supported";
  in.rows.push_back({none, 4});
  in.rows.push_back({none, -3});  // never negative

  auto j = nlohmann::json::parse(build_tlsrpt_json(in));
  EXPECT_EQ(j["organization-name"], "mx.sender.example");
  EXPECT_EQ(j["contact-info"], "postmaster@sender.example");
  EXPECT_EQ(j["report-id"], in.report_id);
  EXPECT_EQ(j["date-range"]["start-datetime"], "2026-12-04T00:00:00Z");
  EXPECT_EQ(j["date-range"]["end-datetime"], "2026-12-04T23:59:59Z");
  ASSERT_EQ(j["policies"].size(), 2u);
  const nlohmann::json* p_sts = nullptr;
  const nlohmann::json* p_none = nullptr;
  for (const auto& p : j["policies"]) (p["policy"]["policy-type"] == "sts" ? p_sts : p_none) = &p;
  ASSERT_TRUE(p_sts && p_none);
  EXPECT_EQ((*p_sts)["policy"]["policy-domain"], "example.com");
  EXPECT_EQ((*p_sts)["policy"]["policy-string"].size(), 4u);
  EXPECT_EQ((*p_sts)["policy"]["mx-host"][0], "mx.example.com");
  EXPECT_EQ((*p_sts)["summary"]["total-successful-session-count"], 5);
  EXPECT_EQ((*p_sts)["summary"]["total-failure-session-count"], 4);
  const auto& fd = (*p_sts)["failure-details"];
  ASSERT_EQ(fd.size(), 2u);
  bool saw_mismatch = false, saw_generic = false;
  for (const auto& d : fd) {
    if (d["result-type"] == "certificate-host-mismatch") {
      saw_mismatch = true;
      EXPECT_EQ(d["failed-session-count"], 3);
      EXPECT_EQ(d["sending-mta-ip"], "192.0.2.1");
      EXPECT_EQ(d["receiving-mx-hostname"], "mx2.example.com");
      EXPECT_EQ(d["receiving-ip"], "192.0.2.2");
    }
    if (d["result-type"] == "validation-failure") saw_generic = d["failed-session-count"] == 1;
  }
  EXPECT_TRUE(saw_mismatch && saw_generic);
  EXPECT_FALSE((*p_none)["policy"].contains("policy-string"));
  EXPECT_EQ((*p_none)["summary"]["total-successful-session-count"], 0);
  EXPECT_EQ((*p_none)["summary"]["total-failure-session-count"], 4);
}

TEST(TlsrptReport, HostileStringsStayJson) {
  tlsrpt_report_input in;
  in.organization = "org\"\n\xff\xfe";
  tlsrpt_session s;
  s.policy_domain = "example.com";
  s.policy_type = "sts";
  s.policy_string = {"mx: \"}]{\x01\xc3"};
  in.rows.push_back({s, 1});
  auto j = nlohmann::json::parse(build_tlsrpt_json(in));
  EXPECT_EQ(j["policies"][0]["summary"]["total-successful-session-count"], 1);
}
