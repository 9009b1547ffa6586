// tests/unit/config/config_test.cpp: TOML loading, file:line errors, security findings, annotated defaults.
// SPDX-License-Identifier: MIT
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace mailfort::config;

namespace {
using dkind = decltype(diagnostic{}.kind);
bool has(const std::vector<diagnostic>& ds, dkind k, const std::string& key, int line = -1,
         const std::string& severity = "") {
  for (const auto& d : ds)
    if (d.kind == k && d.key == key && (line < 0 || d.line == line) && (severity.empty() || d.severity == severity))
      return true;
  return false;
}
}  // namespace

TEST(config, defaults_are_secure) {
  config c;
  EXPECT_TRUE(c.relay.trusted_networks.empty());
  EXPECT_EQ(c.tls.min_version, "1.2");
  EXPECT_EQ(c.listeners.mx, "127.0.0.1:2525");
  auto f = check_security(c);
  EXPECT_TRUE(has(f, dkind::finding, "tls.certificate", -1, "medium"));
  for (const auto& d : f) EXPECT_TRUE(d.severity != "high" && d.severity != "critical") << d.message;
}

TEST(config, partial_file_keeps_other_defaults) {
  auto r = load_string("hostname = \"mx.example.org\"\n[limits]\nrecipients = 50\n", "t.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.hostname, "mx.example.org");
  EXPECT_EQ(r.cfg.limits.recipients, 50u);
  EXPECT_EQ(r.cfg.limits.message_size, 25ull * 1024 * 1024);
  EXPECT_EQ(r.cfg.listeners.submission, "127.0.0.1:2587");
}

TEST(config, unknown_keys_and_types_with_lines) {
  auto r = load_string("hostname = \"x\"\n\n[relay]\ntrusted_network = []\n[limits]\nrecipients = \"many\"\n[dkim]\n",
                       "t.toml");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has(r.diagnostics, dkind::error, "relay.trusted_network", 4));
  EXPECT_TRUE(has(r.diagnostics, dkind::error, "limits.recipients", 6));
  EXPECT_TRUE(has(r.diagnostics, dkind::error, "dkim"));
  auto s = load_string("hostname = \n", "bad.toml");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.diagnostics.at(0).line, 1);
}

TEST(config, values_validated) {
  EXPECT_FALSE(load_string("[listeners]\nmx = \"nonsense\"\n", "t").ok());
  EXPECT_FALSE(load_string("[listeners]\nmx = \"127.0.0.1:99999\"\n", "t").ok());
  EXPECT_TRUE(load_string("[listeners]\nmx = \"[::1]:25\"\nsubmission = \"\"\n", "t").ok());
  EXPECT_FALSE(load_string("[relay]\ntrusted_networks = [\"10.0.0.0/33\"]\n", "t").ok());
  EXPECT_FALSE(load_string("[relay]\ntrusted_networks = [\"example.com\"]\n", "t").ok());
  EXPECT_TRUE(load_string("[relay]\ntrusted_networks = [\"2001:db8::/48\"]\n", "t").ok());
  EXPECT_FALSE(load_string("[tls]\nmin_version = \"0.9\"\n", "t").ok());
  EXPECT_FALSE(load_string("[limits]\nrecipients = 0\n", "t").ok());
  EXPECT_FALSE(load_string("[state]\nbackend = \"mysql\"\n", "t").ok());
}

TEST(config, insecure_choices_are_findings) {
  auto open = load_string("[relay]\ntrusted_networks = [\"0.0.0.0/0\"]\n", "t");
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(has(check_security(open.cfg), dkind::finding, "relay.trusted_networks", -1, "critical"));
  auto pub = load_string("[relay]\ntrusted_networks = [\"198.51.100.0/24\"]\n", "t");
  EXPECT_TRUE(has(check_security(pub.cfg), dkind::finding, "relay.trusted_networks", -1, "high"));
  auto priv = load_string("[relay]\ntrusted_networks = [\"10.1.0.0/16\", \"127.0.0.1/32\"]\n", "t");
  EXPECT_FALSE(has(check_security(priv.cfg), dkind::finding, "relay.trusted_networks"));
  auto tls = load_string("[tls]\nmin_version = \"1.0\"\n", "t");
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(has(check_security(tls.cfg), dkind::finding, "tls.min_version", -1, "high"));
  auto pubss = load_string("[listeners]\nmx = \"0.0.0.0:25\"\n", "t");
  EXPECT_TRUE(has(check_security(pubss.cfg), dkind::finding, "tls.certificate", -1, "high"));
  EXPECT_FALSE(load_string("allow_plaintext_auth = true\n", "t").ok());  // not an option at all
}

TEST(config, annotated_defaults_load_back_to_defaults_and_match_etc) {
  auto r = load_string(annotated_defaults(), "defaults");
  ASSERT_TRUE(r.ok());
  config d;
  EXPECT_EQ(r.cfg.hostname, d.hostname);
  EXPECT_EQ(r.cfg.domains, d.domains);
  EXPECT_EQ(r.cfg.listeners.mx, d.listeners.mx);
  EXPECT_EQ(r.cfg.limits.message_size, d.limits.message_size);
  EXPECT_EQ(r.cfg.limits.max_connections_per_ip, d.limits.max_connections_per_ip);
  EXPECT_EQ(r.cfg.limits.data_timeout_s, d.limits.data_timeout_s);
  EXPECT_EQ(r.cfg.tls.handshake_timeout_s, d.tls.handshake_timeout_s);
  std::ifstream f(std::string(MAILFORT_SOURCE_DIR) + "/etc/mailfort.toml");
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), annotated_defaults());
}
