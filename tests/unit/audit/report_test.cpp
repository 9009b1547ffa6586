// tests/unit/audit/report_test.cpp: severities, exit codes, area scores and the text / JSON / HTML renderers.
// SPDX-License-Identifier: MIT
#include "audit/report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace mailfort::audit;

namespace {

report sample() {
  report r;
  r.kind = "smtp";
  r.target = "127.0.0.1:25";
  r.started_at = 1700000000;
  r.version = "0.1.0";
  r.add({"disclosure.vrfy",
         severity::medium,
         control_area::disclosure,
         "VRFY confirms users",
         "127.0.0.1:25",
         "VRFY postmaster -> 250 <postmaster@x>",
         {"m", "disable_vrfy_command = yes", "acl_smtp_vrfy = deny"}});
  r.add({"relay.open",
         severity::critical,
         control_area::relay,
         "Open relay",
         "127.0.0.1:25",
         "RCPT -> 250",
         {"a", "b", "c"}});
  r.add({"disclosure.banner.product", severity::info, control_area::disclosure, "names software", "", "", {}});
  r.ran("smtp.open_relay", control_area::relay);
  r.ran("smtp.starttls", control_area::tls);
  r.error("smtp.port.smtps", control_area::auth, "connect failed");
  r.sort();
  return r;
}

}  // namespace

TEST(audit_report, severity_names_round_trip) {
  for (int i = 0; i < 5; ++i) {
    auto s = static_cast<severity>(i);
    EXPECT_EQ(parse_severity(to_string(s)), s);
  }
  EXPECT_EQ(parse_severity("HIGH"), severity::high);
  EXPECT_FALSE(parse_severity("severe"));
  for (int i = 0; i < control_area_count; ++i) {
    auto a = static_cast<control_area>(i);
    EXPECT_EQ(parse_control_area(to_string(a)), a);
  }
  EXPECT_STREQ(to_string(control_area::mta_sts), "mta-sts");
}

TEST(audit_report, exit_code_follows_fail_on) {
  report r;
  EXPECT_EQ(exit_code(r, severity::high), 0);
  r.add({"x", severity::medium, control_area::tls, "t", "", "", {}});
  EXPECT_EQ(exit_code(r, severity::high), 0);
  EXPECT_EQ(exit_code(r, severity::medium), 1);
  EXPECT_EQ(exit_code(r, severity::info), 1);
  r.add({"y", severity::high, control_area::tls, "t", "", "", {}});
  EXPECT_EQ(exit_code(r, severity::high), 1);
  EXPECT_EQ(exit_code(r, severity::critical), 0);
  r.could_not_run = true;
  EXPECT_EQ(exit_code(r, severity::critical), 2);
}

TEST(audit_report, sort_puts_most_severe_first_and_is_stable) {
  auto r = sample();
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].sev, severity::critical);
  EXPECT_EQ(r.findings[1].sev, severity::medium);
  EXPECT_EQ(r.findings[2].sev, severity::info);
}

TEST(audit_report, area_scores) {
  auto r = sample();
  auto scores = area_scores(r);
  bool relay = false, tls = false, disclosure = false;
  for (const auto& a : scores) {
    if (a.area == control_area::relay) {
      relay = true;
      EXPECT_EQ(a.score, 40);
      EXPECT_EQ(a.worst, severity::critical);
    }
    if (a.area == control_area::tls) {
      tls = true;
      EXPECT_EQ(a.score, 100);
      EXPECT_FALSE(a.worst);
    }
    if (a.area == control_area::disclosure) {
      disclosure = true;
      EXPECT_EQ(a.score, 85);  // info does not count
      EXPECT_EQ(a.findings, 1u);
    }
    if (a.area == control_area::auth) {
      EXPECT_EQ(a.errors, 1u);
    }
  }
  EXPECT_TRUE(relay && tls && disclosure);
  EXPECT_EQ(overall_score(r), 40);
  report empty;
  EXPECT_EQ(overall_score(empty), 100);
}

TEST(audit_report, json_schema_fields) {
  auto j = nlohmann::json::parse(render_json(sample()));
  EXPECT_EQ(j["schema"], "mailfort-audit/1");
  EXPECT_EQ(j["kind"], "smtp");
  EXPECT_EQ(j["target"], "127.0.0.1:25");
  EXPECT_EQ(j["started_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["completed"], true);
  EXPECT_EQ(j["summary"]["total"], 3);
  EXPECT_EQ(j["summary"]["by_severity"]["critical"], 1);
  EXPECT_EQ(j["summary"]["by_severity"]["medium"], 1);
  EXPECT_EQ(j["summary"]["highest"], "critical");
  EXPECT_EQ(j["summary"]["score"], 40);
  ASSERT_TRUE(j["summary"]["areas"].is_array());
  const auto& f = j["findings"][0];
  for (const char* k : {"id", "severity", "area", "title", "subject", "evidence", "fix"})
    EXPECT_TRUE(f.contains(k)) << k;
  EXPECT_EQ(f["id"], "relay.open");
  EXPECT_EQ(f["fix"]["postfix"], "b");
  EXPECT_EQ(j["checks"].size(), 3u);
  EXPECT_EQ(j["checks"][2]["status"], "error");
}

TEST(audit_report, json_survives_invalid_utf8) {
  report r;
  r.add({"x", severity::low, control_area::disclosure, "t", "", std::string("banner \xff\xfe\x01"), {}});
  auto j = nlohmann::json::parse(render_json(r));
  EXPECT_EQ(j["findings"][0]["severity"], "low");
}

TEST(audit_report, text_groups_by_severity_and_escapes) {
  report r = sample();
  r.add({"x", severity::low, control_area::disclosure, "evil", "", "220 \x1b[2J hi\r\n", {}});
  r.sort();
  auto t = render_text(r, false);
  EXPECT_NE(t.find("== CRITICAL =="), std::string::npos);
  EXPECT_LT(t.find("== CRITICAL =="), t.find("== MEDIUM =="));
  EXPECT_EQ(t.find('\x1b'), std::string::npos);  // no raw escape from remote text
  EXPECT_NE(t.find("\\x1b[2J"), std::string::npos);
  EXPECT_NE(t.find("Postfix:  disable_vrfy_command = yes"), std::string::npos);
  auto colored = render_text(r, true);
  EXPECT_NE(colored.find("\x1b[1;35m"), std::string::npos);
}

TEST(audit_report, html_is_self_contained_with_summary) {
  report r = sample();
  r.add({"x", severity::low, control_area::disclosure, "<script>alert(1)</script>", "", "a&b", {}});
  auto h = render_html(r);
  EXPECT_NE(h.find("<section id=\"summary\">"), std::string::npos);
  EXPECT_NE(h.find("Overall score"), std::string::npos);
  EXPECT_NE(h.find("Relay control"), std::string::npos);
  EXPECT_EQ(h.find("<script>"), std::string::npos);
  EXPECT_NE(h.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(h.find("http://"), std::string::npos);  // nothing loaded from outside
  EXPECT_EQ(h.find("https://"), std::string::npos);
}

TEST(audit_report, safe_text) {
  EXPECT_EQ(safe_text("ok"), "ok");
  EXPECT_EQ(safe_text("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(safe_text("back\\slash"), "back\\\\slash");
  EXPECT_EQ(safe_text("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(safe_text("\xc3"), "\\xc3");
  EXPECT_EQ(safe_text("\xc2\x9b"), "\\xc2\\x9b");  // C1 CSI
  EXPECT_EQ(safe_text(std::string(10, 'a'), 4), "aaaa...");
}
