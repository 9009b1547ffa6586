// tests/unit/config/config_test.cpp: TOML loading, file:line errors, security findings, annotated defaults.
// SPDX-License-Identifier: MIT
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace mailfort::config;

namespace {
using dkind = decltype(diagnostic{}.kind);

const diagnostic* find(const std::vector<diagnostic>& ds, dkind k, const std::string& key, int line = -1,
                       const std::string& severity = "") {
  for (const auto& d : ds)
    if (d.kind == k && d.key == key && (line < 0 || d.line == line) && (severity.empty() || d.severity == severity))
      return &d;
  return nullptr;
}
bool has(const std::vector<diagnostic>& ds, dkind k, const std::string& key, int line = -1,
         const std::string& severity = "") {
  return find(ds, k, key, line, severity) != nullptr;
}

std::string dump(const std::vector<diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.file + ":" + std::to_string(d.line) + ": " + d.key + ": " + d.message + "\n";
  return s;
}

// Findings of a file that must load cleanly.
std::vector<diagnostic> findings_of(const std::string& toml) {
  auto r = load_string(toml, "t.toml");
  EXPECT_TRUE(r.ok()) << dump(r.diagnostics);
  return check_security(r);
}

bool loads(const std::string& toml) { return load_string(toml, "t.toml").ok(); }

// Every field, so a default changed in config.hpp but not in the annotated text (or the reverse) fails.
void expect_same(const config& a, const config& b) {
  EXPECT_EQ(a.hostname, b.hostname);
  EXPECT_EQ(a.filter.attachment_policy, b.filter.attachment_policy);
  EXPECT_EQ(a.filter.blocked_extensions, b.filter.blocked_extensions);
  EXPECT_EQ(a.filter.milters.size(), b.filter.milters.size());
  EXPECT_EQ(a.filter.rspamd, b.filter.rspamd);
  EXPECT_EQ(a.filter.rspamd_address, b.filter.rspamd_address);
  EXPECT_EQ(a.filter.rspamd_binary, b.filter.rspamd_binary);
  EXPECT_EQ(a.filter.clamav, b.filter.clamav);
  EXPECT_EQ(a.filter.clamav_address, b.filter.clamav_address);
  EXPECT_EQ(a.filter.clamd_address, b.filter.clamd_address);
  EXPECT_EQ(a.filter.clamav_database, b.filter.clamav_database);
  EXPECT_EQ(a.filter.clamd_binary, b.filter.clamd_binary);
  EXPECT_EQ(a.filter.clamav_milter_binary, b.filter.clamav_milter_binary);
  EXPECT_EQ(a.filter.restart_max_s, b.filter.restart_max_s);
  EXPECT_EQ(a.domains, b.domains);
  EXPECT_EQ(a.data_dir, b.data_dir);
  EXPECT_EQ(a.listeners.mx, b.listeners.mx);
  EXPECT_EQ(a.listeners.submission, b.listeners.submission);
  EXPECT_EQ(a.listeners.submissions, b.listeners.submissions);
  EXPECT_EQ(a.listeners.admin, b.listeners.admin);
  EXPECT_EQ(a.tls.certificate, b.tls.certificate);
  EXPECT_EQ(a.tls.key, b.tls.key);
  EXPECT_EQ(a.tls.min_version, b.tls.min_version);
  EXPECT_EQ(a.tls.handshake_timeout_s, b.tls.handshake_timeout_s);
  EXPECT_EQ(a.dns.servers, b.dns.servers);
  EXPECT_EQ(a.relay.trusted_networks, b.relay.trusted_networks);
  EXPECT_EQ(a.relay.smarthost, b.relay.smarthost);
  EXPECT_EQ(a.state.backend, b.state.backend);
  EXPECT_EQ(a.state.redis_url, b.state.redis_url);
  const auto &l = a.limits, &m = b.limits;
  EXPECT_EQ(l.message_size, m.message_size);
  EXPECT_EQ(l.command_line, m.command_line);
  EXPECT_EQ(l.text_line, m.text_line);
  EXPECT_EQ(l.header_section, m.header_section);
  EXPECT_EQ(l.recipients, m.recipients);
  EXPECT_EQ(l.max_hops, m.max_hops);
  EXPECT_EQ(l.soft_errors, m.soft_errors);
  EXPECT_EQ(l.hard_errors, m.hard_errors);
  EXPECT_EQ(l.junk_commands, m.junk_commands);
  EXPECT_EQ(l.unknown_recipients, m.unknown_recipients);
  EXPECT_EQ(l.messages_per_connection, m.messages_per_connection);
  EXPECT_EQ(l.command_timeout_s, m.command_timeout_s);
  EXPECT_EQ(l.data_timeout_s, m.data_timeout_s);
  EXPECT_EQ(l.min_data_rate, m.min_data_rate);
  EXPECT_EQ(l.error_delay_ms, m.error_delay_ms);
  EXPECT_EQ(l.max_connections, m.max_connections);
  EXPECT_EQ(l.max_connections_per_ip, m.max_connections_per_ip);
  EXPECT_EQ(a.server.threads, b.server.threads);
  EXPECT_EQ(a.greeting.delay_ms, b.greeting.delay_ms);
  EXPECT_EQ(a.greeting.remember_s, b.greeting.remember_s);
  EXPECT_EQ(a.ratelimit.connections_per_minute_per_ip, b.ratelimit.connections_per_minute_per_ip);
  EXPECT_EQ(a.ratelimit.messages_per_hour_per_ip, b.ratelimit.messages_per_hour_per_ip);
  EXPECT_EQ(a.ratelimit.recipients_per_hour_per_ip, b.ratelimit.recipients_per_hour_per_ip);
  EXPECT_EQ(a.ratelimit.messages_per_hour_per_user, b.ratelimit.messages_per_hour_per_user);
  EXPECT_EQ(a.ratelimit.recipients_per_hour_per_user, b.ratelimit.recipients_per_hour_per_user);
  EXPECT_EQ(a.ratelimit.auth_per_minute_per_ip, b.ratelimit.auth_per_minute_per_ip);
  EXPECT_EQ(a.ban.enabled, b.ban.enabled);
  EXPECT_EQ(a.ban.threshold, b.ban.threshold);
  EXPECT_EQ(a.ban.window_s, b.ban.window_s);
  EXPECT_EQ(a.ban.duration_s, b.ban.duration_s);
  EXPECT_EQ(a.ban.max_duration_s, b.ban.max_duration_s);
  EXPECT_EQ(a.ban.ipv4_prefix, b.ban.ipv4_prefix);
  EXPECT_EQ(a.ban.ipv6_prefix, b.ban.ipv6_prefix);
  EXPECT_EQ(a.ban.allowlist, b.ban.allowlist);
}
}  // namespace

TEST(config, defaults_are_secure) {
  config c;
  EXPECT_TRUE(c.relay.trusted_networks.empty());
  EXPECT_EQ(c.tls.min_version, "1.2");
  EXPECT_EQ(c.listeners.mx, "127.0.0.1:2525");
  auto f = check_security(c);
  const auto* ss = find(f, dkind::finding, "tls.certificate", -1, "medium");
  ASSERT_NE(ss, nullptr);
  EXPECT_NE(ss->message.find("self-signed certificate"), std::string::npos);
  EXPECT_NE(ss->message.find("tls.key"), std::string::npos);
  for (const auto& d : f) EXPECT_TRUE(d.severity != "high" && d.severity != "critical") << d.message;
}

TEST(config, partial_file_keeps_other_defaults) {
  auto r = load_string("hostname = \"mx.example.org\"\n[limits]\nrecipients = 50\n", "t.toml");
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.cfg.hostname, "mx.example.org");
  EXPECT_EQ(r.cfg.limits.recipients, 50u);
  EXPECT_EQ(r.cfg.source_file, "t.toml");
  config d;
  d.hostname = "mx.example.org";
  d.limits.recipients = 50;
  expect_same(r.cfg, d);
}

TEST(config, full_example_from_design_loads) {
  auto r = load_string(R"(hostname = "mx.example.org"
domains  = ["example.org", "Example.NET"]
data_dir = "/var/lib/mailfort"
[listeners]
mx          = "0.0.0.0:25"
submission  = "[::]:587"
submissions = ""
admin       = "127.0.0.1:9025"
[tls]
certificate = "/etc/mailfort/fullchain.pem"
key         = "/etc/mailfort/key.pem"
min_version = "1.3"
[dns]
servers = ["127.0.0.1:5353", "::1", "[::1]:53", "192.0.2.1"]
[relay]
trusted_networks = ["10.0.0.0/8", "fd00::/8", "192.168.7.7"]
smarthost = "relay.example.net:587"
[state]
backend = "redis"
redis_url = "redis://127.0.0.1:6379/2"
[ban]
threshold = 7.5
enabled = true
[ratelimit]
auth_per_minute_per_ip = 5
)",
                       "full.toml");
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.cfg.listeners.submission, "[::]:587");
  EXPECT_EQ(r.cfg.listeners.submissions, "");
  EXPECT_EQ(r.cfg.domains.size(), 2u);
  EXPECT_EQ(r.cfg.tls.min_version, "1.3");
  EXPECT_EQ(r.cfg.dns.servers.size(), 4u);
  EXPECT_EQ(r.cfg.relay.smarthost, "relay.example.net:587");
  EXPECT_EQ(r.cfg.state.backend, "redis");
  EXPECT_DOUBLE_EQ(r.cfg.ban.threshold, 7.5);
  EXPECT_DOUBLE_EQ(r.cfg.ratelimit.auth_per_minute_per_ip, 5);
  EXPECT_EQ(r.key_lines.at("relay.trusted_networks"), 16);
  // A real certificate on public listeners, private relay networks: no high or critical finding.
  for (const auto& d : check_security(r)) EXPECT_TRUE(d.severity != "high" && d.severity != "critical") << d.message;
}

TEST(config, unknown_keys_reported_with_line) {
  auto r = load_string(
      "hostname = \"x\"\n\n[relay]\ntrusted_network = []\n[limits]\nrecipients = 5\n[webmail]\nport = 8080\n",
      "t.toml");
  EXPECT_FALSE(r.ok());
  const auto* typo = find(r.diagnostics, dkind::error, "relay.trusted_network", 4);
  ASSERT_NE(typo, nullptr) << dump(r.diagnostics);
  EXPECT_EQ(typo->file, "t.toml");
  EXPECT_NE(typo->message.find("unknown key 'trusted_network'"), std::string::npos) << typo->message;
  // Sections of features that do not exist are refused, not silently ignored.
  const auto* webmail = find(r.diagnostics, dkind::error, "webmail", 7);
  ASSERT_NE(webmail, nullptr) << dump(r.diagnostics);
  EXPECT_NE(webmail->message.find("unknown key 'webmail'"), std::string::npos);
  EXPECT_EQ(r.diagnostics.size(), 2u) << dump(r.diagnostics);
  // A top-level typo.
  auto t = load_string("\nhostnme = \"x\"\n", "t.toml");
  EXPECT_TRUE(has(t.diagnostics, dkind::error, "hostnme", 2));
  for (const char* s : {"[monitor]\nx = 1\n", "[audit]\nx = 1\n", "[tls.extra]\n", "[[limits]]\n"})
    EXPECT_FALSE(loads(s)) << s;
}

TEST(config, plaintext_auth_cannot_be_configured) {
  for (const char* s : {"auth_without_tls = true\n", "[listeners]\nallow_plaintext_auth = true\n",
                        "[tls]\nauth_without_tls = true\n"}) {
    auto r = load_string(s, "t.toml");
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_NE(r.diagnostics.at(0).message.find("only inside TLS"), std::string::npos) << r.diagnostics.at(0).message;
  }
  EXPECT_NE(annotated_defaults().find("auth_without_tls"), std::string::npos);
}

TEST(config, type_errors_reported_with_line) {
  auto r = load_string(
      "hostname = \"x\"\n[limits]\n\nrecipients = \"many\"\n[tls]\nmin_version = 1.2\n"
      "[relay]\ntrusted_networks = \"10.0.0.0/8\"\n[ban]\nenabled = \"yes\"\n",
      "t.toml");
  EXPECT_TRUE(has(r.diagnostics, dkind::error, "limits.recipients", 4)) << dump(r.diagnostics);
  EXPECT_TRUE(has(r.diagnostics, dkind::error, "tls.min_version", 6)) << dump(r.diagnostics);
  EXPECT_TRUE(has(r.diagnostics, dkind::error, "relay.trusted_networks", 8)) << dump(r.diagnostics);
  EXPECT_TRUE(has(r.diagnostics, dkind::error, "ban.enabled", 10)) << dump(r.diagnostics);
  EXPECT_FALSE(loads("listeners = \"127.0.0.1:25\"\n"));
  EXPECT_FALSE(loads("domains = [\"a.org\", 5]\n"));
  EXPECT_FALSE(loads("data_dir = \"/var/\\u0000x\"\n"));
}

TEST(config, syntax_error_has_line_and_column) {
  auto s = load_string("hostname = \"x\"\n\nport = \n", "bad.toml");
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(s.diagnostics.size(), 1u);
  EXPECT_EQ(s.diagnostics[0].file, "bad.toml");
  EXPECT_EQ(s.diagnostics[0].line, 3);
  EXPECT_NE(s.diagnostics[0].message.find("line 3, column "), std::string::npos) << s.diagnostics[0].message;
  EXPECT_FALSE(loads("a = 1\na = 2\n"));  // duplicate keys
}

TEST(config, values_validated) {
  EXPECT_FALSE(loads("[listeners]\nmx = \"nonsense\"\n"));
  EXPECT_FALSE(loads("[listeners]\nmx = \"127.0.0.1:99999\"\n"));
  EXPECT_FALSE(loads("[listeners]\nmx = \"127.0.0.1:0\"\n"));
  EXPECT_FALSE(loads("[listeners]\nmx = \"127.0.0.1\"\n"));
  EXPECT_FALSE(loads("[listeners]\nmx = \"::1:25\"\n"));        // IPv6 needs brackets
  EXPECT_FALSE(loads("[listeners]\nmx = \"localhost:25\"\n"));  // listeners bind IP literals
  EXPECT_FALSE(loads("[listeners]\nmx = \"[127.0.0.1]:25\"\n"));
  EXPECT_TRUE(loads("[listeners]\nmx = \"[::1]:25\"\nsubmission = \"\"\n"));
  EXPECT_FALSE(loads("[tls]\nmin_version = \"0.9\"\n"));
  EXPECT_FALSE(loads("[tls]\nmin_version = \"1.4\"\n"));
  EXPECT_TRUE(loads("[tls]\nmin_version = \"1.1\"\n"));      // loads, but is a finding
  EXPECT_FALSE(loads("[tls]\ncertificate = \"/c.pem\"\n"));  // key missing
  EXPECT_FALSE(loads("[tls]\nhandshake_timeout_s = 0\n"));
  EXPECT_FALSE(loads("[limits]\nrecipients = 0\n"));
  EXPECT_FALSE(loads("[limits]\nmax_connections = -1\n"));
  EXPECT_FALSE(loads("[limits]\ncommand_line = 100\n"));  // below the RFC 5321 minimum
  EXPECT_FALSE(loads("[limits]\nmessage_size = 1.5\n"));
  EXPECT_TRUE(loads("[limits]\nmessage_size = 52428800\nmax_connections_per_ip = 5\n"));
  EXPECT_FALSE(loads("[state]\nbackend = \"mysql\"\n"));
  EXPECT_FALSE(loads("[state]\nredis_url = \"http://x\"\n"));
  EXPECT_FALSE(loads("[server]\nthreads = -2\n"));
  EXPECT_FALSE(loads("hostname = \"bad host\"\n"));
  EXPECT_FALSE(loads("domains = [\"ex ample.org\"]\n"));
  EXPECT_FALSE(loads("data_dir = \"\"\n"));
  EXPECT_FALSE(loads("[dns]\nservers = [\"resolver\"]\n"));
  EXPECT_FALSE(loads("[relay]\nsmarthost = \"relay.example.net\"\n"));  // port required
  EXPECT_FALSE(loads("[relay]\nsmarthost = \"2001:db8::1\"\n"));        // a bare IPv6 address has no port
  EXPECT_FALSE(loads("[relay]\nsmarthost = \"2001:db8::1:25\"\n"));     // nor is the last group a port
  EXPECT_TRUE(loads("[relay]\nsmarthost = \"[2001:db8::1]:25\"\n"));
  EXPECT_FALSE(loads("[listeners]\nmx = \"[127.0.0.1]:25\"\n"));  // brackets hold IPv6 only
  EXPECT_TRUE(loads("[listeners]\nmx = \"[::1]:2525\"\n"));
  EXPECT_FALSE(loads("[ban]\nduration_s = 100\nmax_duration_s = 10\n"));
  EXPECT_FALSE(loads("[ratelimit]\nauth_per_minute_per_ip = -1\n"));
  EXPECT_FALSE(loads("[ratelimit]\nauth_per_minute_per_ip = nan\n"));
  EXPECT_FALSE(loads("[auth]\ndmarc_report_interval_s = 0\n"));
  EXPECT_FALSE(loads("[auth]\ndmarc_report_contact = \"nobody\"\n"));
  EXPECT_FALSE(loads("[auth]\ndmarc_report_contact = \"a b@example.org\"\n"));
  EXPECT_TRUE(loads("[auth]\ndmarc_report_contact = \"dmarc@example.org\"\ndmarc_report_interval_s = 3600\n"));
}

TEST(config, dmarc_reports_default_like_tlsrpt) {
  config c;
  EXPECT_TRUE(c.auth.dmarc_reports);
  EXPECT_EQ(c.auth.dmarc_report_interval_s, c.outbound.tlsrpt_interval_s);
  EXPECT_TRUE(c.auth.dmarc_report_contact.empty());
}

TEST(config, cidr_validation) {
  for (const char* good : {"10.0.0.0/8", "192.0.2.7", "192.0.2.7/32", "0.0.0.0/0", "2001:db8::/48", "::1", "::/0",
                           "::ffff:10.0.0.0/104", "fe80::/10"})
    EXPECT_TRUE(loads(std::string("[relay]\ntrusted_networks = [\"") + good + "\"]\n")) << good;
  for (const char* bad : {"10.0.0.0/33", "2001:db8::/129", "example.com", "10.0.0/8", "10.0.0.0/", "/8", "10.0.0.0/8x",
                          "10.0.0.0/-1", "1.2.3.4 /8", "", "10.0.0.0/8/8", "256.0.0.0/8", "2001:db8:::/48"})
    EXPECT_FALSE(loads(std::string("[relay]\ntrusted_networks = [\"") + bad + "\"]\n")) << bad;
  EXPECT_FALSE(loads("[ban]\nallowlist = [\"10.0.0.0/40\"]\n"));
}

TEST(config, open_relay_is_critical) {
  for (const char* open :
       {"0.0.0.0/0", "::/0", "10.0.0.0/7", "128.0.0.0/1", "2001::/16", "::ffff:0.0.0.0/96", "::ffff:0.0.0.0/100"}) {
    auto f = findings_of(std::string("[relay]\ntrusted_networks = [\n\"127.0.0.1/32\",\n\"") + open + "\"]\n");
    const auto* d = find(f, dkind::finding, "relay.trusted_networks", 2, "critical");
    ASSERT_NE(d, nullptr) << open;
    EXPECT_NE(d->message.find("open relay"), std::string::npos);
  }
}

TEST(config, public_trusted_network_is_high) {
  auto f = findings_of("[relay]\ntrusted_networks = [\"198.51.100.0/24\", \"2001:db8::/48\"]\n");
  int high = 0;
  for (const auto& d : f) high += d.key == "relay.trusted_networks" && d.severity == "high";
  EXPECT_EQ(high, 2);
  for (const char* ok : {"10.1.0.0/16", "127.0.0.1/32", "172.16.0.0/12", "192.168.1.0/24", "::1", "fd12:3456::/48",
                         "::ffff:10.0.0.0/104"})
    EXPECT_FALSE(has(findings_of(std::string("[relay]\ntrusted_networks = [\"") + ok + "\"]\n"), dkind::finding,
                     "relay.trusted_networks"))
        << ok;
  // Private but wider than any site: noted, not an open relay.
  EXPECT_TRUE(has(findings_of("[relay]\ntrusted_networks = [\"fd00::/8\"]\n"), dkind::finding, "relay.trusted_networks",
                  -1, "low"));
  // 172.32/12 is not RFC 1918.
  EXPECT_TRUE(has(findings_of("[relay]\ntrusted_networks = [\"172.32.0.0/12\"]\n"), dkind::finding,
                  "relay.trusted_networks", -1, "high"));
}

TEST(config, old_tls_is_high) {
  for (const char* v : {"1.0", "1.1"}) {
    auto f = findings_of(std::string("[tls]\nmin_version = \"") + v + "\"\n");
    EXPECT_TRUE(has(f, dkind::finding, "tls.min_version", 2, "high")) << v;
  }
  EXPECT_FALSE(has(findings_of("[tls]\nmin_version = \"1.3\"\n"), dkind::finding, "tls.min_version"));
}

TEST(config, self_signed_on_public_listener_is_high_and_critical_for_submission) {
  // Submission carries passwords: public with only the self-signed certificate is critical (serve refuses it).
  auto f = findings_of("[listeners]\nmx = \"127.0.0.1:25\"\nsubmission = \"0.0.0.0:587\"\n");
  EXPECT_TRUE(has(f, dkind::finding, "listeners.submission", 3, "critical")) << dump(f);
  EXPECT_TRUE(has(findings_of("[listeners]\nsubmissions = \"[::]:465\"\n"), dkind::finding, "listeners.submissions", -1,
                  "critical"));
  EXPECT_TRUE(has(f, dkind::finding, "tls.certificate", 0, "medium"));
  EXPECT_TRUE(has(findings_of("[listeners]\nmx = \"[::]:25\"\n"), dkind::finding, "listeners.mx", -1, "high"));
  auto loopback = findings_of("[listeners]\nmx = \"[::1]:25\"\nsubmission = \"127.0.0.2:587\"\n");
  for (const auto& d : loopback) EXPECT_NE(d.severity, "high") << d.message;
  // With a real certificate the public listener is fine.
  auto real = findings_of("[listeners]\nmx = \"0.0.0.0:25\"\n[tls]\ncertificate = \"/c\"\nkey = \"/k\"\n");
  EXPECT_FALSE(has(real, dkind::finding, "listeners.mx"));
  EXPECT_FALSE(has(real, dkind::finding, "tls.certificate"));
}

TEST(config, generous_limits_are_low) {
  auto f = findings_of(
      "[limits]\nmessage_size = 209715200\nrecipients = 5000\ncommand_timeout_s = 1200\n"
      "max_connections_per_ip = 500\n");
  EXPECT_TRUE(has(f, dkind::finding, "limits.message_size", 2, "low"));
  EXPECT_TRUE(has(f, dkind::finding, "limits.recipients", 3, "low"));
  EXPECT_TRUE(has(f, dkind::finding, "limits.command_timeout_s", 4, "low"));
  EXPECT_TRUE(has(f, dkind::finding, "limits.max_connections_per_ip", 5, "low"));
  auto d = check_security(config{});
  EXPECT_FALSE(has(d, dkind::finding, "limits.message_size"));
  EXPECT_FALSE(has(d, dkind::finding, "limits.recipients"));
}

TEST(config, other_findings) {
  EXPECT_TRUE(has(findings_of("[ban]\nenabled = false\n"), dkind::finding, "ban.enabled", 2, "medium"));
  EXPECT_TRUE(has(findings_of("[ban]\nallowlist = [\"0.0.0.0/0\"]\n"), dkind::finding, "ban.allowlist", 2, "high"));
  EXPECT_TRUE(has(findings_of("[state]\nbackend = \"redis\"\nredis_url = \"redis://203.0.113.5:6379\"\n"),
                  dkind::finding, "state.redis_url", -1, "medium"));
  EXPECT_FALSE(has(findings_of("[state]\nbackend = \"redis\"\n"), dkind::finding, "state.redis_url"));
  EXPECT_FALSE(load_string("[listeners]\nadmin = \"0.0.0.0:9025\"\n", "t.toml").ok());
  EXPECT_FALSE(load_string("[listeners]\nadmin = \"192.0.2.1:9025\"\n", "t.toml").ok());
  EXPECT_TRUE(load_string("[listeners]\nadmin = \"[::1]:9025\"\n", "t.toml").ok());
  EXPECT_TRUE(has(findings_of("[auth]\ndmarc = false\n"), dkind::finding, "auth", 1, "medium"));
  EXPECT_TRUE(has(findings_of("[auth]\ndmarc_enforce = false\n"), dkind::finding, "auth.dmarc_enforce", 2, "medium"));
  EXPECT_FALSE(has(check_security(config{}), dkind::finding, "auth"));
}

TEST(config, every_finding_explains_and_fixes) {
  auto f = findings_of(
      "[relay]\ntrusted_networks = [\"0.0.0.0/0\", \"198.51.100.0/24\"]\n[tls]\nmin_version = \"1.0\"\n"
      "[listeners]\nmx = \"0.0.0.0:25\"\n[limits]\nrecipients = 5000\n");
  EXPECT_GE(f.size(), 5u);
  for (const auto& d : f) {
    EXPECT_EQ(d.file, "t.toml");
    EXPECT_GT(d.message.size(), 60u) << d.message;  // what, why and how, not a bare label
    EXPECT_FALSE(d.severity.empty());
  }
}

TEST(config, missing_file_and_directory_are_errors) {
  auto r = load_file("/nonexistent/mailfort.toml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.at(0).file, "/nonexistent/mailfort.toml");
  EXPECT_FALSE(load_file("/tmp").ok());
  EXPECT_FALSE(load_string(std::string(2 * 1024 * 1024, '#'), "big").ok());
}

TEST(config, etc_file_is_the_annotated_defaults) {
  const std::string path = std::string(MAILFORT_SOURCE_DIR) + "/etc/mailfort.toml";
  auto r = load_file(path);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.cfg.source_file, path);
  expect_same(r.cfg, config{});
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), annotated_defaults());
  // The annotated text sets every key explicitly, and each key line carries a comment.
  std::istringstream lines(annotated_defaults());
  std::string line;
  int keys = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ' ' || line[0] == '[') continue;
    ++keys;
    EXPECT_NE(line.find('#'), std::string::npos) << "uncommented key: " << line;
  }
  EXPECT_GE(keys, 50);
}

TEST(config, serve_refuses_only_critical_findings) {
  auto blocking = [](const std::string& text) {
    std::vector<std::string> keys;
    for (const auto& d : findings_of(text))
      if (blocks_serve(d)) keys.push_back(d.key);
    return keys;
  };
  EXPECT_TRUE(blocking("").empty());  // the embedded defaults start
  EXPECT_EQ(blocking("[relay]\ntrusted_networks = [\"0.0.0.0/0\"]\n"),
            std::vector<std::string>{"relay.trusted_networks"});
  EXPECT_EQ(blocking("[queue]\ndiscard = true\n"), std::vector<std::string>{"queue.discard"});
  EXPECT_EQ(blocking("[listeners]\nsubmission = \"0.0.0.0:587\"\n"), std::vector<std::string>{"listeners.submission"});
  // high findings are logged, not refused: a public MX with the self-signed certificate, old TLS in the file
  EXPECT_TRUE(blocking("[listeners]\nmx = \"0.0.0.0:25\"\n[tls]\nmin_version = \"1.0\"\n").empty());
  EXPECT_TRUE(blocking("[relay]\ntrusted_networks = [\"10.0.0.0/8\", \"127.0.0.1/32\"]\n").empty());
}

TEST(config, milters) {
  auto r = load_string(
      "[[filter.milter]]\nname = \"rspamd\"\naddress = \"inet:127.0.0.1:11332\"\n"
      "[[filter.milter]]\nname = \"clam\"\naddress = \"unix:/run/clamav/milter.ctl\"\ndefault_action = \"accept\"\n"
      "command_timeout_s = 5\nlisteners = [\"mx\"]\n",
      "t.toml");
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  ASSERT_EQ(r.cfg.filter.milters.size(), 2u);
  EXPECT_EQ(r.cfg.filter.milters[0].default_action, "tempfail");
  EXPECT_EQ(r.cfg.filter.milters[0].content_timeout_s, 300);
  EXPECT_EQ(r.cfg.filter.milters[1].command_timeout_s, 5);
  EXPECT_EQ(r.cfg.filter.milters[1].listeners, std::vector<std::string>{"mx"});
  EXPECT_TRUE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"inet:8891@localhost\"\n"));
  EXPECT_TRUE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"inet:[::1]:8891\"\n"));
  EXPECT_FALSE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"tcp:127.0.0.1:1\"\n"));
  EXPECT_FALSE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"inet:127.0.0.1:0\"\n"));
  EXPECT_FALSE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"unix:relative\"\n"));
  EXPECT_FALSE(loads("[[filter.milter]]\naddress = \"inet:127.0.0.1:1\"\n"));  // no name
  EXPECT_FALSE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"inet:127.0.0.1:1\"\ndefault_action = \"x\"\n"));
  EXPECT_FALSE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"inet:127.0.0.1:1\"\nlisteners = [\"imap\"]\n"));
  EXPECT_FALSE(loads("[[filter.milter]]\nname = \"a\"\naddress = \"inet:127.0.0.1:1\"\nbogus = 1\n"));
  EXPECT_FALSE(
      loads("[[filter.milter]]\nname = \"a\"\naddress = \"inet:127.0.0.1:1\"\n"
            "[[filter.milter]]\nname = \"a\"\naddress = \"inet:127.0.0.1:2\"\n"));
  EXPECT_TRUE(loads("[filter]\nattachment_policy = false\nblocked_extensions = [\".exe\", \"hta\"]\n"));
  EXPECT_FALSE(loads("[filter]\nblocked_extensions = [\"a b\"]\n"));
}

TEST(config, filters_run_by_mailfort_join_the_milter_chain) {
  auto r = load_string("[filter]\nrspamd = true\nclamav = true\nclamav_address = \"127.0.0.1:7000\"\n", "t.toml");
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  ASSERT_EQ(r.cfg.filter.milters.size(), 2u);
  EXPECT_EQ(r.cfg.filter.milters[0].name, "rspamd");
  EXPECT_EQ(r.cfg.filter.milters[0].address, "inet:127.0.0.1:11332");
  EXPECT_FALSE(r.cfg.filter.milters[0].antivirus);
  EXPECT_EQ(r.cfg.filter.milters[1].name, "clamav");
  EXPECT_EQ(r.cfg.filter.milters[1].address, "inet:127.0.0.1:7000");
  EXPECT_TRUE(r.cfg.filter.milters[1].antivirus);
  EXPECT_EQ(r.cfg.filter.milters[1].default_action, "tempfail");
  // Listed milters are the chain as written.
  auto e = load_string(
      "[filter]\nrspamd = true\n[[filter.milter]]\nname = \"other\"\naddress = \"inet:127.0.0.1:9\"\n"
      "antivirus = true\n",
      "t.toml");
  ASSERT_TRUE(e.ok()) << dump(e.diagnostics);
  ASSERT_EQ(e.cfg.filter.milters.size(), 1u);
  EXPECT_TRUE(e.cfg.filter.milters[0].antivirus);
  EXPECT_TRUE(load_string("[filter]\nrspamd = false\n", "t.toml").cfg.filter.milters.empty());
  // Loopback only, absolute paths.
  EXPECT_FALSE(loads("[filter]\nrspamd_address = \"0.0.0.0:11332\"\n"));
  EXPECT_FALSE(loads("[filter]\nclamd_address = \"10.0.0.1:3310\"\n"));
  EXPECT_FALSE(loads("[filter]\nclamav_address = \"localhost:3310\"\n"));
  EXPECT_FALSE(loads("[filter]\nclamav_database = \"var/lib/clamav\"\n"));
  EXPECT_TRUE(loads("[filter]\nclamd_address = \"127.0.0.2:3310\"\nrestart_max_s = 5\n"));
}

TEST(config, clamav_without_signatures_is_a_finding) {
  const auto dir = std::filesystem::temp_directory_path() / ("mf-clamdb-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto has = [&] {
    for (const auto& d : findings_of("[filter]\nclamav = true\nclamav_database = \"" + dir.string() + "\"\n"))
      if (d.key == "filter.clamav_database") return true;
    return false;
  };
  EXPECT_TRUE(has());
  EXPECT_FALSE(has_clamav_database(dir.string()));
  std::ofstream(dir / "x.ndb") << "Test.Sig:0:*:414243\n";
  EXPECT_TRUE(has_clamav_database(dir.string()));
  EXPECT_FALSE(has());
  std::filesystem::remove_all(dir);
}
