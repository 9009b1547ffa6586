// tests/unit/audit/smtp_checks_test.cpp: every SMTP check from canned probe observations.
// SPDX-License-Identifier: MIT
#include "audit/smtp_observations.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace mailfort::audit;
using mailfort::outbound::server_reply;

namespace {

server_reply reply(int code, std::vector<std::string> lines) {
  server_reply r;
  r.code = code;
  r.lines = std::move(lines);
  return r;
}

smtp_observations base() {
  smtp_observations o;
  o.host = "127.0.0.1";
  o.port = 25;
  o.connected = true;
  o.banner = reply(220, {"mx.example.org ESMTP"});
  o.ehlo_reply = reply(250, {"mx.example.org", "PIPELINING", "SIZE 10240000", "STARTTLS"});
  o.ehlo = mailfort::outbound::parse_ehlo(*o.ehlo_reply);
  return o;
}

std::vector<finding> judge(const smtp_observations& o) {
  std::vector<finding> out;
  smtp_check_options opt;
  opt.now = 1700000000;
  check_banner(o, out);
  check_capabilities(o, opt, out);
  check_tls(o, out);
  check_certificate(o, opt, out);
  check_user_enumeration(o, out);
  check_relay(o, out);
  check_smuggling(o, out);
  check_ports(o, out);
  check_pipelining(o, out);
  return out;
}

const finding* find(const std::vector<finding>& v, const std::string& id) {
  auto it = std::find_if(v.begin(), v.end(), [&](const finding& f) { return f.id == id; });
  return it == v.end() ? nullptr : &*it;
}

}  // namespace

TEST(audit_smtp_checks, clean_server_has_no_findings) {
  auto f = judge(base());
  EXPECT_TRUE(f.empty()) << f.front().id;
}

TEST(audit_smtp_checks, software_detection) {
  EXPECT_EQ(detect_software("mx.example.org ESMTP Postfix (Debian/GNU)").product, "Postfix");
  EXPECT_EQ(detect_software("mx.example.org ESMTP Postfix (Debian/GNU)").version, "");
  auto e = detect_software("mail.example.com ESMTP Exim 4.96 Mon, 01 Jan 2024");
  EXPECT_EQ(e.product, "Exim");
  EXPECT_EQ(e.version, "4.96");
  EXPECT_EQ(detect_software("host ESMTP Sendmail 8.17.1/8.17.1; Mon").version, "8.17.1");
  EXPECT_EQ(detect_software("Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready").version, "10.0.17763.1");
  EXPECT_EQ(detect_software("mx.example.org ESMTP ready").product, "");
  EXPECT_EQ(detect_software("postfixed.example.org ESMTP").product, "");  // word boundary
  EXPECT_EQ(detect_software(std::string(10000, 'x')).product, "");
}

TEST(audit_smtp_checks, banner_version_is_low_product_is_info) {
  auto o = base();
  o.banner = reply(220, {"mx ESMTP Exim 4.92"});
  auto f = judge(o);
  ASSERT_TRUE(find(f, "disclosure.banner.version"));
  EXPECT_EQ(find(f, "disclosure.banner.version")->sev, severity::low);
  o.banner = reply(220, {"mx ESMTP Postfix (Debian/GNU)"});
  f = judge(o);
  ASSERT_TRUE(find(f, "disclosure.banner.product"));
  EXPECT_EQ(find(f, "disclosure.banner.product")->sev, severity::info);
}

TEST(audit_smtp_checks, starttls_missing_and_auth_before_tls) {
  auto o = base();
  o.ehlo_reply = reply(250, {"mx", "SIZE 1000", "AUTH PLAIN LOGIN"});
  o.ehlo = mailfort::outbound::parse_ehlo(*o.ehlo_reply);
  auto f = judge(o);
  ASSERT_TRUE(find(f, "tls.starttls.missing"));
  EXPECT_EQ(find(f, "tls.starttls.missing")->sev, severity::high);
  ASSERT_TRUE(find(f, "auth.before_tls"));
  EXPECT_EQ(find(f, "auth.before_tls")->sev, severity::high);
  EXPECT_TRUE(find(f, "auth.on_mx_port"));
  EXPECT_NE(find(f, "auth.before_tls")->fix.postfix.find("smtpd_tls_auth_only"), std::string::npos);
}

TEST(audit_smtp_checks, size_missing_is_low) {
  auto o = base();
  o.ehlo_reply = reply(250, {"mx", "STARTTLS"});
  o.ehlo = mailfort::outbound::parse_ehlo(*o.ehlo_reply);
  auto f = judge(o);
  ASSERT_TRUE(find(f, "protocol.size.missing"));
  EXPECT_EQ(find(f, "protocol.size.missing")->sev, severity::low);
}

TEST(audit_smtp_checks, old_tls_versions_and_injection) {
  auto o = base();
  o.starttls_attempted = o.starttls_ok = true;
  o.versions = {{"1.0", tls_version_probe::result::accepted, "TLSv1 ECDHE-RSA-AES256-SHA"},
                {"1.1", tls_version_probe::result::refused, "alert"},
                {"1.2", tls_version_probe::result::accepted, ""},
                {"1.3", tls_version_probe::result::accepted, ""}};
  o.starttls_injection = smtp_observations::injection::vulnerable;
  auto f = judge(o);
  ASSERT_TRUE(find(f, "tls.version.tls1_0"));
  EXPECT_EQ(find(f, "tls.version.tls1_0")->sev, severity::medium);
  EXPECT_FALSE(find(f, "tls.version.tls1_1"));
  EXPECT_FALSE(find(f, "tls.version.no_modern"));
  EXPECT_FALSE(find(f, "tls.cipher.weak_accepted"));
  o.weak_cipher_accepted = true;
  o.weak_cipher_detail = "TLSv1.2 DES-CBC3-SHA";
  f = judge(o);
  ASSERT_TRUE(find(f, "tls.cipher.weak_accepted"));
  EXPECT_EQ(find(f, "tls.cipher.weak_accepted")->sev, severity::high);
  ASSERT_TRUE(find(f, "tls.starttls.injection"));
  EXPECT_EQ(find(f, "tls.starttls.injection")->sev, severity::high);
  EXPECT_FALSE(find(f, "tls.cipher.no_forward_secrecy"));
  o.static_rsa_accepted = false;  // refused: nothing to report
  EXPECT_FALSE(find(judge(o), "tls.cipher.no_forward_secrecy"));
  o.static_rsa_accepted = true;
  o.static_rsa_detail = "TLSv1.2 AES128-SHA";
  f = judge(o);
  ASSERT_TRUE(find(f, "tls.cipher.no_forward_secrecy"));
  EXPECT_EQ(find(f, "tls.cipher.no_forward_secrecy")->sev, severity::low);
  EXPECT_NE(find(f, "tls.cipher.no_forward_secrecy")->evidence.find("AES128-SHA"), std::string::npos);
}

TEST(audit_smtp_checks, vrfy_250_is_enumeration_252_is_not) {
  auto o = base();
  o.user_probes = {{"VRFY", "postmaster", 252, "2.0.0 cannot verify"}, {"EXPN", "postmaster", 502, "no"}};
  EXPECT_FALSE(find(judge(o), "disclosure.vrfy"));
  o.user_probes = {{"VRFY", "postmaster", 250, "<postmaster@mx>"}};
  auto f = judge(o);
  ASSERT_TRUE(find(f, "disclosure.vrfy"));
  EXPECT_EQ(find(f, "disclosure.vrfy")->sev, severity::medium);
  // 252 for everyone says nothing; 252 for postmaster but 550 for a made-up name enumerates (Postfix).
  o.user_probes = {{"VRFY", "postmaster", 252, "2.0.0 postmaster"}, {"VRFY", "nobody-x", 252, "2.0.0", true}};
  EXPECT_FALSE(find(judge(o), "disclosure.vrfy"));
  o.user_probes[1].code = 550;
  EXPECT_TRUE(find(judge(o), "disclosure.vrfy"));
}

TEST(audit_smtp_checks, relay_forms_and_verdict) {
  auto forms = relay_forms("relay-audit", "example.net", "192.0.2.1", "mx.example.org");
  ASSERT_GE(forms.size(), 10u);
  EXPECT_LE(forms.size(), 12u);
  EXPECT_EQ(forms[0].rcpt, "relay-audit@example.net");
  bool percent = false, route = false, bang = false;
  for (const auto& a : forms) {
    percent |= a.rcpt == "relay-audit%example.net@mx.example.org";
    route |= a.rcpt == "@mx.example.org:relay-audit@example.net";
    bang |= a.rcpt == "example.net!relay-audit@mx.example.org";
  }
  EXPECT_TRUE(percent && route && bang);
  auto o = base();
  for (auto& a : forms) {
    a.mail_code = 250;
    a.rcpt_code = 554;
  }
  o.relay = forms;
  EXPECT_FALSE(find(judge(o), "relay.open"));
  o.relay[3].rcpt_code = 250;
  auto f = judge(o);
  ASSERT_TRUE(find(f, "relay.open"));
  EXPECT_EQ(find(f, "relay.open")->sev, severity::critical);
  EXPECT_NE(find(f, "relay.open")->evidence.find("quoted"), std::string::npos);
}

TEST(audit_smtp_checks, smuggling_outcomes) {
  EXPECT_EQ(eod_variants().size(), 10u);
  EXPECT_EQ(eod_variants()[8].bytes.size(), 6u);  // the NUL counts
  auto o = base();
  o.smuggling = {{"lf-dot-lf", "<LF>.<LF>", smuggling_probe::outcome::rejected, "550"}};
  EXPECT_TRUE(judge(o).empty());
  o.smuggling.push_back({"cr-dot-cr", "<CR>.<CR>", smuggling_probe::outcome::content, "250"});
  auto f = judge(o);
  ASSERT_TRUE(find(f, "protocol.smuggling.kept_as_content"));
  EXPECT_EQ(find(f, "protocol.smuggling.kept_as_content")->sev, severity::low);
  o.smuggling.push_back({"lf-dot-crlf", "<LF>.<CR><LF>", smuggling_probe::outcome::end_of_data, "250 queued"});
  f = judge(o);
  ASSERT_TRUE(find(f, "protocol.smuggling.end_of_data"));
  EXPECT_EQ(find(f, "protocol.smuggling.end_of_data")->sev, severity::critical);
  EXPECT_NE(find(f, "protocol.smuggling.end_of_data")->evidence.find("<LF>.<CR><LF>"), std::string::npos);
}

TEST(audit_smtp_checks, early_talker_and_ports) {
  auto o = base();
  o.early_talker = smtp_observations::early_talk::tolerated;
  port_probe sub;
  sub.role = "submission";
  sub.port = 587;
  sub.reachable = true;
  sub.starttls_offered = true;
  sub.tls_ok = true;
  sub.auth_before_tls = {"PLAIN"};
  port_probe smtps;
  smtps.role = "smtps";
  smtps.port = 465;
  smtps.reachable = true;
  smtps.tls_ok = false;
  o.ports = {sub, smtps};
  auto f = judge(o);
  EXPECT_EQ(find(f, "protocol.early_talker")->sev, severity::low);
  EXPECT_EQ(find(f, "auth.submission.plaintext")->sev, severity::high);
  EXPECT_EQ(find(f, "auth.smtps.no_tls")->sev, severity::high);
}

TEST(audit_smtp_checks, pipelining_verdicts) {
  auto o = base();
  o.pipelining.grp = pipelining_obs::group::answered;
  o.pipelining.data = pipelining_obs::data_sync::rejected;
  EXPECT_TRUE(judge(o).empty());

  o.ehlo_reply = reply(250, {"mx.example.org", "SIZE 10240000", "STARTTLS"});  // not advertised: an observation
  o.ehlo = mailfort::outbound::parse_ehlo(*o.ehlo_reply);
  auto f = judge(o);
  ASSERT_NE(find(f, "protocol.pipelining.missing"), nullptr);
  EXPECT_EQ(find(f, "protocol.pipelining.missing")->sev, severity::info);

  o = base();
  o.pipelining.grp = pipelining_obs::group::broken;
  o.pipelining.group_evidence = "MAIL -> 250, RSET -> no reply (timeout)";
  f = judge(o);
  ASSERT_NE(find(f, "protocol.pipelining.broken"), nullptr);
  EXPECT_EQ(find(f, "protocol.pipelining.broken")->sev, severity::medium);
  EXPECT_NE(find(f, "protocol.pipelining.broken")->evidence.find("RSET"), std::string::npos);

  o = base();
  o.pipelining.data = pipelining_obs::data_sync::tolerated;
  f = judge(o);
  ASSERT_NE(find(f, "protocol.pipelining.data_sync"), nullptr);
  EXPECT_EQ(find(f, "protocol.pipelining.data_sync")->sev, severity::low);
  EXPECT_NE(find(f, "protocol.pipelining.data_sync")->fix.postfix.find("smtpd_forbid_unauth_pipelining"),
            std::string::npos);
  o.pipelining.data = pipelining_obs::data_sync::inconclusive;  // no verdict, no finding
  EXPECT_EQ(find(judge(o), "protocol.pipelining.data_sync"), nullptr);
}
