// tests/unit/audit/mailbox_checks_test.cpp: `audit imap|pop3` verdicts from canned observations (judge_mailbox).
// SPDX-License-Identifier: MIT
#include "audit/mailbox_audit.hpp"

#include <gtest/gtest.h>

#include <set>

namespace mailfort::audit {
namespace {

std::set<std::string> ids(const mailbox_observations& o) {
  std::vector<finding> out;
  judge_mailbox(o, out);
  std::set<std::string> s;
  for (const auto& f : out) s.insert(f.id);
  return s;
}

mailbox_tls_obs good_tls() {
  mailbox_tls_obs t;
  t.tested = t.reachable = t.tls_ok = t.verified = t.name_matches = true;
  t.version = "TLSv1.3";
  t.cipher = "TLS_AES_256_GCM_SHA384";
  t.days_left = 300;
  return t;
}

mailbox_observations hardened_imap() {
  mailbox_observations o;
  o.protocol = "imap";
  o.host = "127.0.0.1";
  o.port = 143;
  o.tls_port = 993;
  o.connected = true;
  o.caps_before_tls = {"IMAP4REV1", "STARTTLS", "LOGINDISABLED"};
  o.starttls_offered = o.logindisabled = true;
  o.plaintext_login = mailbox_observations::plaintext::refused;
  o.starttls = good_tls();
  o.implicit_tls = good_tls();
  for (const char* v : {"1.0", "1.1"}) o.implicit_tls.versions.push_back({v, tls_version_probe::result::refused, ""});
  for (const char* v : {"1.2", "1.3"}) o.implicit_tls.versions.push_back({v, tls_version_probe::result::accepted, ""});
  return o;
}

TEST(mailbox_checks, hardened_server_has_no_findings) { EXPECT_TRUE(ids(hardened_imap()).empty()); }

TEST(mailbox_checks, plaintext_login_and_old_tls_are_flagged) {
  auto o = hardened_imap();
  o.logindisabled = false;
  o.plaintext_login = mailbox_observations::plaintext::checked;
  o.implicit_tls.versions[0].res = tls_version_probe::result::accepted;
  auto s = ids(o);
  EXPECT_TRUE(s.count("imap.auth.plaintext_login"));
  EXPECT_FALSE(s.count("imap.auth.logindisabled_missing"));  // the stronger finding covers it
  EXPECT_TRUE(s.count("tls.version.tls1_0"));
  EXPECT_FALSE(s.count("tls.version.tls1_1"));
}

TEST(mailbox_checks, missing_logindisabled_starttls_and_certificate_problems) {
  auto o = hardened_imap();
  o.logindisabled = false;
  EXPECT_TRUE(ids(o).count("imap.auth.logindisabled_missing"));
  o = hardened_imap();
  o.starttls_offered = false;
  o.starttls = {};
  EXPECT_TRUE(ids(o).count("imap.tls.starttls_missing"));
  o = hardened_imap();
  o.implicit_tls.verified = false;
  o.implicit_tls.name_matches = false;
  o.implicit_tls.days_left = -3;
  auto s = ids(o);
  EXPECT_TRUE(s.count("certificate.untrusted") && s.count("certificate.name_mismatch") &&
              s.count("certificate.expired"));
}

TEST(mailbox_checks, pop3_user_before_stls) {
  auto o = hardened_imap();
  o.protocol = "pop3";
  o.caps_before_tls = {"TOP", "USER", "STLS"};
  EXPECT_TRUE(ids(o).count("pop3.auth.plaintext_advertised"));
  o.plaintext_login = mailbox_observations::plaintext::checked;
  auto s = ids(o);
  EXPECT_TRUE(s.count("pop3.auth.plaintext_login"));
  EXPECT_FALSE(s.count("pop3.auth.plaintext_advertised"));
}

}  // namespace
}  // namespace mailfort::audit
