// config/config.cpp: TOML loading with file:line diagnostics, security findings, annotated defaults.
// SPDX-License-Identifier: MIT
// Unknown keys are errors, not warnings: a typo such as `trusted_network` must never silently leave
// a default in place the admin believes changed. The file is the admin's, not the network's, but it is
// still read with a size cap and every value is range-checked: a bad value fails at load, with its
// line, instead of misbehaving at 3 a.m.
#include "config/config.hpp"

#include "common/cidr.hpp"
#include "common/host_port.hpp"
#include "filter/milter_codec.hpp"

#include <toml++/toml.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string_view>

namespace mailfort::config {

namespace {

// A config file is a few KiB; anything far larger is a mistake (wrong file), not a config.
constexpr std::size_t k_max_file_size = 1024 * 1024;

// Settings other servers have that mailfort refuses to have: naming one is an error (as any unknown key
// is), and the message says why there is no such switch instead of only "unknown".
const char* refused_setting(std::string_view leaf) {
  static constexpr std::string_view auth[] = {"auth_without_tls",       "allow_plaintext_auth", "plaintext_auth",
                                              "allow_insecure_auth",    "auth_plaintext",       "insecure_auth",
                                              "disable_plaintext_auth", "smtpd_tls_auth_only"};
  for (auto a : auth)
    if (leaf == a)
      return "mailfort offers AUTH only inside TLS (STARTTLS or implicit TLS); passwords in clear text cannot be "
             "enabled, so there is no such setting";
  static constexpr std::string_view enum_keys[] = {"vrfy", "expn", "enable_vrfy", "enable_expn", "allow_vrfy"};
  for (auto a : enum_keys)
    if (leaf == a)
      return "VRFY and EXPN are never answered (they let anyone enumerate accounts), so there is no such setting";
  return nullptr;
}

struct loader {
  load_result& out;
  std::string file;

  static int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

  void error(const toml::node& n, const std::string& key, const std::string& msg) {
    out.diagnostics.push_back({diagnostic::kind::error, "", file, line_of(n), key, msg});
  }

  void unknown(const toml::node& n, const std::string& key, std::string_view leaf, const std::string& where) {
    std::string msg = "unknown key '" + std::string(leaf) + "'" + where;
    if (const char* why = refused_setting(leaf))
      msg += ": " + std::string(why);
    else
      msg += " (misspelt, or not supported by this version; `mailfort config defaults` lists every key)";
    error(n, key, msg);
  }

  bool str(const toml::node& n, const std::string& key, std::string& dst) {
    const auto* v = n.as_string();
    if (!v) {
      error(n, key, "must be a string");
      return false;
    }
    // TOML allows "\u0000"; a NUL would silently truncate a path at the C library boundary.
    if (v->get().find('\0') != std::string::npos) {
      error(n, key, "must not contain NUL characters");
      return false;
    }
    dst = v->get();
    return true;
  }

  template <class T>
  bool integer(const toml::node& n, const std::string& key, T& dst, long long min, long long max) {
    if (!n.is_integer()) {
      error(n, key, "must be an integer");
      return false;
    }
    long long v = n.as_integer()->get();
    if (v < min || v > max) {
      error(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return false;
    }
    dst = static_cast<T>(v);
    return true;
  }

  bool number(const toml::node& n, const std::string& key, double& dst, double min, double max) {
    double v = 0;
    if (n.is_integer())
      v = static_cast<double>(n.as_integer()->get());
    else if (n.is_floating_point())
      v = n.as_floating_point()->get();
    else {
      error(n, key, "must be a number");
      return false;
    }
    if (!(v >= min && v <= max)) {  // also refuses nan
      std::ostringstream m;
      m << "must be between " << min << " and " << max;
      error(n, key, m.str());
      return false;
    }
    dst = v;
    return true;
  }

  bool boolean(const toml::node& n, const std::string& key, bool& dst) {
    if (!n.is_boolean()) {
      error(n, key, "must be true or false");
      return false;
    }
    dst = n.as_boolean()->get();
    return true;
  }

  bool strings(const toml::node& n, const std::string& key, std::vector<std::string>& dst) {
    const auto* arr = n.as_array();
    if (!arr) {
      error(n, key, "must be an array of strings");
      return false;
    }
    std::vector<std::string> v;
    for (const auto& e : *arr) {
      std::string s;
      if (!e.is_string()) {
        error(e, key, "must be an array of strings");
        return false;
      }
      if (!str(e, key, s)) return false;
      v.push_back(std::move(s));
    }
    dst = std::move(v);
    return true;
  }

  using handler = std::function<void(const toml::node&, const std::string&)>;

  void section(const toml::node& n, const std::string& name, const std::map<std::string, handler>& keys) {
    const auto* t = n.as_table();
    if (!t) {
      error(n, name, "must be a table ([" + name + "])");
      return;
    }
    for (const auto& [k, v] : *t) {
      std::string leaf(k.str());
      std::string key = name + "." + leaf;
      auto it = keys.find(leaf);
      if (it == keys.end()) {
        unknown(v, key, leaf, " in [" + name + "]");
        continue;
      }
      out.key_lines[key] = line_of(v);
      it->second(v, key);
    }
  }
};

bool is_ipv4(const std::string& s) {
  unsigned char buf[4];
  return inet_pton(AF_INET, s.c_str(), buf) == 1;
}

bool is_ipv6(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1..63 each, 253 in all.
bool valid_domain_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// A contact address written into reports: local@domain, printable ASCII without spaces, the domain a host name.
bool valid_contact_address(std::string_view s) {
  const auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || s.size() > 254) return false;
  for (char c : s.substr(0, at))
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '<' || c == '>')
      return false;
  return valid_domain_name(s.substr(at + 1));
}

// Listener addresses are IP literals: the server binds them before any resolver exists, and a name that
// resolves differently later would move a listener without anyone noticing.
bool valid_ip_port(const std::string& s) {
  auto hp = common::parse_host_port(s);
  if (!hp || !hp->port) return false;
  return hp->bracketed ? is_ipv6(hp->host) : is_ipv4(hp->host);
}

// dns.servers: "IP", "IP:port" or "[v6]:port".
bool valid_dns_server(const std::string& s) { return is_ipv4(s) || is_ipv6(s) || valid_ip_port(s); }

// relay.smarthost: "name:port", "IPv4:port" or "[v6]:port".
bool valid_smarthost(const std::string& s) {
  auto hp = common::parse_host_port(s);
  if (!hp || !hp->port) return false;
  return hp->bracketed ? is_ipv6(hp->host) : (is_ipv4(hp->host) || valid_domain_name(hp->host));
}

// Networks are common::cidr (common/cidr.hpp); c.effective() judges ::ffff:a.b.c.d/96+n as the IPv4 network
// a.b.c.d/n, as a dual-stack socket sees it, or "::ffff:0.0.0.0/96" would slip past the open-relay check while
// trusting every IPv4 client.
using common::cidr;

bool is_loopback_or_private(const cidr& c) {
  const unsigned char* a = c.addr.data();
  if (!c.v6) {
    if (a[0] == 127 && c.prefix >= 8) return true;                          // loopback
    if (a[0] == 10 && c.prefix >= 8) return true;                           // RFC 1918
    if (a[0] == 172 && (a[1] & 0xf0) == 16 && c.prefix >= 12) return true;  // RFC 1918
    if (a[0] == 192 && a[1] == 168 && c.prefix >= 16) return true;          // RFC 1918
    return false;
  }
  static const unsigned char loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (c.prefix == 128 && std::equal(a, a + 16, loop)) return true;
  if ((a[0] & 0xfe) == 0xfc && c.prefix >= 7) return true;                   // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80 && c.prefix >= 10) return true;  // fe80::/10 link local
  return false;
}

bool too_wide(const cidr& c) { return c.v6 ? c.prefix < 32 : c.prefix < 8; }

bool is_public_listener(const std::string& addr) {
  auto hp = common::parse_host_port(addr);
  if (!hp || !hp->port) return false;
  auto parsed = cidr::parse(hp->host);
  if (!parsed) return false;
  const cidr pc = parsed->effective();
  if (!pc.v6) return pc.addr[0] != 127;
  static const unsigned char loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return !std::equal(pc.addr.begin(), pc.addr.end(), loop);
}

void check_cidrs(loader& L, const toml::node& n, const std::string& key, const std::vector<std::string>& nets) {
  for (const auto& s : nets) {
    if (!cidr::parse(s)) L.error(n, key, "'" + s + "' is not an IPv4 or IPv6 network (a.b.c.d/len or x:y::/len)");
  }
}

void load_table(const toml::table& root, loader& L) {
  config& c = L.out.cfg;
  using node = toml::node;
  using key_t = std::string;
  for (const auto& [k, v] : root) {
    std::string key(k.str());
    L.out.key_lines[key] = loader::line_of(v);
    if (key == "hostname") {
      if (L.str(v, key, c.hostname) && !valid_domain_name(c.hostname))
        L.error(v, key, "'" + c.hostname + "' is not a host name (letters, digits, hyphens, dots; at most 253)");
    } else if (key == "domains") {
      if (L.strings(v, key, c.domains))
        for (const auto& d : c.domains)
          if (!valid_domain_name(d)) L.error(v, key, "'" + d + "' is not a domain name");
    } else if (key == "data_dir") {
      if (L.str(v, key, c.data_dir) && c.data_dir.empty()) L.error(v, key, "must not be empty (use \".\" for here)");
    } else if (key == "listeners") {
      auto lst = [&L](std::string& dst) {
        return [&L, &dst](const node& n, const key_t& k2) {
          if (L.str(n, k2, dst) && !dst.empty() && !valid_ip_port(dst))
            L.error(n, k2, "'" + dst + "' is not IPv4:port or [IPv6]:port (use \"\" to disable the listener)");
        };
      };
      L.section(v, key,
                {{"mx", lst(c.listeners.mx)},
                 {"submission", lst(c.listeners.submission)},
                 {"submissions", lst(c.listeners.submissions)},
                 {"admin", [&](const node& n, const key_t& k2) {
                    lst(c.listeners.admin)(n, k2);
                    if (is_public_listener(c.listeners.admin))
                      L.error(n, k2,
                              "the admin HTTP listener has no TLS yet, so it must stay on loopback "
                              "(127.0.0.1:9025 or [::1]:9025); scrape it through an SSH tunnel or a "
                              "local Prometheus");
                  }}});
    } else if (key == "tls") {
      auto& t = c.tls;
      L.section(v, key,
                {{"certificate", [&](const node& n, const key_t& k2) { L.str(n, k2, t.certificate); }},
                 {"key", [&](const node& n, const key_t& k2) { L.str(n, k2, t.key); }},
                 {"min_version",
                  [&](const node& n, const key_t& k2) {
                    // 1.0 and 1.1 load (config check flags them) so an old file still parses; the server
                    // itself never goes below 1.2.
                    if (L.str(n, k2, t.min_version) && t.min_version != "1.0" && t.min_version != "1.1" &&
                        t.min_version != "1.2" && t.min_version != "1.3")
                      L.error(n, k2, "'" + t.min_version + "' is not a TLS version: use \"1.2\" or \"1.3\"");
                  }},
                 {"handshake_timeout_s",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, t.handshake_timeout_s, 1, 300); }}});
      if (t.certificate.empty() != t.key.empty())
        L.error(v, "tls",
                "tls.certificate and tls.key must be set together (or both left out for a self-signed "
                "certificate)");
    } else if (key == "dns") {
      L.section(
          v, key,
          {{"servers",
            [&](const node& n, const key_t& k2) {
              if (L.strings(n, k2, c.dns.servers))
                for (const auto& s : c.dns.servers)
                  if (!valid_dns_server(s)) L.error(n, k2, "'" + s + "' is not IP, IPv4:port or [IPv6]:port");
            }},
           {"root_anchor", [&](const node& n, const key_t& k2) { L.str(n, k2, c.dns.root_anchor); }},
           {"trust_anchor", [&](const node& n, const key_t& k2) { L.str(n, k2, c.dns.trust_anchor); }},
           {"special_zones",
            [&](const node& n, const key_t& k2) {
              if (L.strings(n, k2, c.dns.special_zones))
                for (const auto& z : c.dns.special_zones)
                  if (!valid_domain_name(z)) L.error(n, k2, "'" + z + "' is not a zone name");
            }},
           {"timeout_ms", [&](const node& n, const key_t& k2) { L.integer(n, k2, c.dns.timeout_ms, 100, 60000); }}});
    } else if (key == "relay") {
      L.section(
          v, key,
          {{"trusted_networks",
            [&](const node& n, const key_t& k2) {
              if (L.strings(n, k2, c.relay.trusted_networks)) check_cidrs(L, n, k2, c.relay.trusted_networks);
            }},
           {"smarthost",
            [&](const node& n, const key_t& k2) {
              if (L.str(n, k2, c.relay.smarthost) && !c.relay.smarthost.empty() && !valid_smarthost(c.relay.smarthost))
                L.error(n, k2, "'" + c.relay.smarthost + "' is not host:port or [IPv6]:port (\"\" delivers by MX)");
            }},
           {"smarthost_user", [&](const node& n, const key_t& k2) { L.str(n, k2, c.relay.smarthost_user); }},
           {"smarthost_password_file",
            [&](const node& n, const key_t& k2) { L.str(n, k2, c.relay.smarthost_password_file); }},
           {"allow_null_sender",
            [&](const node& n, const key_t& k2) { L.boolean(n, k2, c.relay.allow_null_sender); }}});
      if (!c.relay.smarthost_user.empty() && (c.relay.smarthost.empty() || c.relay.smarthost_password_file.empty()))
        L.error(v, "relay", "relay.smarthost_user needs relay.smarthost and relay.smarthost_password_file");
    } else if (key == "outbound") {
      auto& o = c.outbound;
      auto ip = [&L](std::string& dst, bool v4) {
        return [&L, &dst, v4](const node& n, const key_t& k2) {
          if (L.str(n, k2, dst) && !dst.empty()) {
            const auto pc = cidr::parse(dst);
            if (!pc || pc->v6 == v4 || dst.find('/') != std::string::npos)
              L.error(n, k2, "'" + dst + "' is not an IPv" + (v4 ? "4" : "6") + " address");
          }
        };
      };
      L.section(
          v, key,
          {{"helo_name",
            [&](const node& n, const key_t& k2) {
              if (L.str(n, k2, o.helo_name) && !o.helo_name.empty() && !valid_domain_name(o.helo_name))
                L.error(n, k2, "'" + o.helo_name + "' is not a host name");
            }},
           {"source_ipv4", ip(o.source_ipv4, true)},
           {"source_ipv6", ip(o.source_ipv6, false)},
           {"allow_private", [&](const node& n, const key_t& k2) { L.boolean(n, k2, o.allow_private); }},
           {"port", [&](const node& n, const key_t& k2) { L.integer(n, k2, o.port, 1, 65535); }},
           {"ca_file", [&](const node& n, const key_t& k2) { L.str(n, k2, o.ca_file); }},
           {"dane", [&](const node& n, const key_t& k2) { L.boolean(n, k2, o.dane); }},
           {"mta_sts", [&](const node& n, const key_t& k2) { L.boolean(n, k2, o.mta_sts); }},
           {"mta_sts_port", [&](const node& n, const key_t& k2) { L.integer(n, k2, o.mta_sts_port, 1, 65535); }},
           {"max_connections", [&](const node& n, const key_t& k2) { L.integer(n, k2, o.max_connections, 1, 10000); }},
           {"max_connections_per_domain",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, o.max_connections_per_domain, 1, 1000); }},
           {"connect_timeout_s",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, o.connect_timeout_s, 1, 600); }},
           {"command_timeout_s",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, o.command_timeout_s, 1, 3600); }},
           {"tlsrpt", [&](const node& n, const key_t& k2) { L.boolean(n, k2, o.tlsrpt); }},
           {"tlsrpt_interval_s",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, o.tlsrpt_interval_s, 1, 7 * 86400); }},
           {"tlsrpt_contact", [&](const node& n, const key_t& k2) { L.str(n, k2, o.tlsrpt_contact); }}});
    } else if (key == "queue") {
      auto& q = c.queue;
      L.section(
          v, key,
          {{"retry_min_s", [&](const node& n, const key_t& k2) { L.integer(n, k2, q.retry_min_s, 1, 86400); }},
           {"retry_max_s", [&](const node& n, const key_t& k2) { L.integer(n, k2, q.retry_max_s, 1, 7 * 86400); }},
           {"max_lifetime_s",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, q.max_lifetime_s, 1, 60 * 86400); }},
           {"retry_jitter", [&](const node& n, const key_t& k2) { L.number(n, k2, q.retry_jitter, 0, 0.9); }},
           {"delay_warning_s",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, q.delay_warning_s, 0, 60 * 86400); }},
           {"discard", [&](const node& n, const key_t& k2) { L.boolean(n, k2, q.discard); }}});
      if (q.retry_min_s > q.retry_max_s) L.error(v, "queue", "queue.retry_min_s must not exceed queue.retry_max_s");
    } else if (key == "state") {
      L.section(v, key,
                {{"backend",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, c.state.backend) && c.state.backend != "sqlite" && c.state.backend != "redis")
                      L.error(n, k2, "'" + c.state.backend + "' is not a backend: use \"sqlite\" or \"redis\"");
                  }},
                 {"redis_url", [&](const node& n, const key_t& k2) {
                    if (!L.str(n, k2, c.state.redis_url)) return;
                    const std::string& u = c.state.redis_url;
                    if (u.rfind("redis://", 0) != 0 || u.size() == 8)
                      L.error(n, k2, "'" + u + "' is not redis://host[:port][/db]");
                    else if (u.find('@') != std::string::npos)
                      L.error(n, k2,
                              "credentials in redis_url are not supported (keep Redis on loopback or a "
                              "private network)");
                  }}});
    } else if (key == "limits") {
      auto& l = c.limits;
      constexpr long long big = 1LL << 40;
      auto sz = [&L](std::size_t& dst, long long min, long long max) {
        return [&L, &dst, min, max](const node& n, const key_t& k2) { L.integer(n, k2, dst, min, max); };
      };
      auto in = [&L](int& dst, long long min, long long max) {
        return [&L, &dst, min, max](const node& n, const key_t& k2) { L.integer(n, k2, dst, min, max); };
      };
      // Lower bounds keep RFC minimums (512-octet command lines, 1000-octet text lines, 100 recipients
      // may be lowered but not below 1); upper bounds stop a typo from disabling a limit altogether.
      L.section(
          v, key,
          {{"message_size", [&](const node& n, const key_t& k2) { L.integer(n, k2, l.message_size, 1024, big); }},
           {"command_line", sz(l.command_line, 512, 4096)},
           {"text_line", sz(l.text_line, 1000, 1000000)},
           {"header_section", sz(l.header_section, 1024, 64 << 20)},
           {"recipients", sz(l.recipients, 1, 100000)},
           {"max_hops", sz(l.max_hops, 10, 1000)},
           {"soft_errors", sz(l.soft_errors, 1, 1000)},
           {"hard_errors", sz(l.hard_errors, 1, 1000)},
           {"junk_commands", sz(l.junk_commands, 1, 100000)},
           {"unknown_recipients", sz(l.unknown_recipients, 1, 100000)},
           {"messages_per_connection", sz(l.messages_per_connection, 1, 100000)},
           {"command_timeout_s", in(l.command_timeout_s, 1, 3600)},
           {"data_timeout_s", in(l.data_timeout_s, 1, 86400)},
           {"min_data_rate", sz(l.min_data_rate, 1, 1 << 30)},
           {"error_delay_ms", in(l.error_delay_ms, 0, 60000)},
           {"max_connections", sz(l.max_connections, 1, 1000000)},
           {"max_connections_per_ip", sz(l.max_connections_per_ip, 1, 1000000)},
           {"session_lifetime_s", in(l.session_lifetime_s, 1, 7 * 86400)},
           {"listener_reserve", sz(l.listener_reserve, 0, 1000000)},
           {"inflight_bytes", [&](const node& n, const key_t& k2) { L.integer(n, k2, l.inflight_bytes, 1024, big); }}});
    } else if (key == "auth") {
      auto& a = c.auth;
      auto flag = [&L](bool& dst) { return [&L, &dst](const node& n, const key_t& k2) { L.boolean(n, k2, dst); }; };
      L.section(v, key,
                {{"authserv_id",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, a.authserv_id) && !a.authserv_id.empty() && !valid_domain_name(a.authserv_id))
                      L.error(n, k2, "'" + a.authserv_id + "' is not a host name (\"\" uses hostname)");
                  }},
                 {"spf", flag(a.spf)},
                 {"dkim", flag(a.dkim)},
                 {"dmarc", flag(a.dmarc)},
                 {"dmarc_enforce", flag(a.dmarc_enforce)},
                 {"dmarc_override",
                  [&](const node& n, const key_t& k2) {
                    if (L.strings(n, k2, a.dmarc_override))
                      for (const auto& d : a.dmarc_override)
                        if (!valid_domain_name(d)) L.error(n, k2, "'" + d + "' is not a domain name");
                  }},
                 {"max_dkim_signatures",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, a.max_dkim_signatures, 1, 50); }},
                 {"dmarc_reports", flag(a.dmarc_reports)},
                 {"dmarc_report_interval_s",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, a.dmarc_report_interval_s, 1, 7 * 86400); }},
                 {"dmarc_report_contact",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, a.dmarc_report_contact) && !a.dmarc_report_contact.empty() &&
                        !valid_contact_address(a.dmarc_report_contact))
                      L.error(n, k2,
                              "'" + a.dmarc_report_contact + "' is not a mail address (\"\" uses postmaster@hostname)");
                  }},
                 {"temperror", [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, a.temperror) && a.temperror != "defer" && a.temperror != "accept")
                      L.error(n, k2, "'" + a.temperror + "' is not \"defer\" or \"accept\"");
                  }}});
    } else if (key == "dkim") {
      auto& d = c.dkim;
      L.section(v, key,
                {{"sign", [&](const node& n, const key_t& k2) { L.boolean(n, k2, d.sign); }},
                 {"sign_trusted", [&](const node& n, const key_t& k2) { L.boolean(n, k2, d.sign_trusted); }},
                 {"keys", [&](const node& n, const key_t& k2) {
                    const auto* arr = n.as_array();
                    if (!arr) {
                      L.error(n, k2,
                              "must be an array of tables {domain = \"...\", selector = \"...\", key = \"FILE\"}");
                      return;
                    }
                    d.keys.clear();
                    for (const auto& e : *arr) {
                      const auto* t = e.as_table();
                      if (!t) {
                        L.error(e, k2, "each entry must be {domain = \"...\", selector = \"...\", key = \"FILE\"}");
                        continue;
                      }
                      dkim_key dk;
                      for (const auto& [tk, tv] : *t) {
                        const std::string leaf(tk.str());
                        if (leaf == "domain")
                          L.str(tv, k2 + ".domain", dk.domain);
                        else if (leaf == "selector")
                          L.str(tv, k2 + ".selector", dk.selector);
                        else if (leaf == "key")
                          L.str(tv, k2 + ".key", dk.key);
                        else
                          L.unknown(tv, k2 + "." + leaf, leaf, " in dkim.keys");
                      }
                      if (!valid_domain_name(dk.domain))
                        L.error(e, k2, "domain '" + dk.domain + "' is not a domain name");
                      if (dk.selector.empty() || !valid_domain_name(dk.selector))
                        L.error(e, k2, "selector '" + dk.selector + "' is not a DNS label sequence");
                      if (dk.key.empty()) L.error(e, k2, "key (a PEM private key file) is required");
                      d.keys.push_back(std::move(dk));
                    }
                  }}});
    } else if (key == "monitor") {
      auto& m = c.monitor;
      L.section(v, key,
                {{"token",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, m.token) && !m.token.empty() && m.token.size() < 16)
                      L.error(n, k2,
                              "a bearer token shorter than 16 characters is guessable; use `openssl rand -hex 32`");
                  }},
                 {"auth_failures_per_ip",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, m.auth_failures_per_ip, 0, 1000000); }},
                 {"auth_failures_total",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, m.auth_failures_total, 0, 1000000); }},
                 {"queue_size_alert",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, m.queue_size_alert, 0, 100000000); }},
                 {"queue_growth_alert",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, m.queue_growth_alert, 0, 100000000); }},
                 {"queue_growth_window_s",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, m.queue_growth_window_s, 2, 86400); }},
                 {"webhook",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, m.webhook) && !m.webhook.empty() && m.webhook.rfind("http://", 0) != 0)
                      L.error(n, k2, "must be an http://host[:port]/path URL (send it to a local relay for HTTPS)");
                  }},
                 {"blocklist_zones",
                  [&](const node& n, const key_t& k2) {
                    if (L.strings(n, k2, m.blocklist_zones))
                      for (const auto& z : m.blocklist_zones)
                        if (!valid_domain_name(z)) L.error(n, k2, "'" + z + "' is not a DNS zone name");
                  }},
                 {"public_ip",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, m.public_ip) && !m.public_ip.empty() &&
                        (!cidr::parse(m.public_ip) || m.public_ip.find('/') != std::string::npos))
                      L.error(n, k2, "'" + m.public_ip + "' is not an IP address");
                  }},
                 {"outbound_spike_multiplier",
                  [&](const node& n, const key_t& k2) { L.number(n, k2, m.outbound_spike_multiplier, 1, 1e6); }},
                 {"outbound_spike_floor",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, m.outbound_spike_floor, 0, 100000000); }},
                 {"hold_on_spike", [&](const node& n, const key_t& k2) { L.boolean(n, k2, m.hold_on_spike); }},
                 {"log_format", [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, m.log_format) && m.log_format != "json" && m.log_format != "syslog")
                      L.error(n, k2, "must be \"json\" or \"syslog\"");
                  }}});
    } else if (key == "greeting") {
      L.section(v, key,
                {{"delay_ms", [&](const node& n, const key_t& k2) { L.integer(n, k2, c.greeting.delay_ms, 0, 60000); }},
                 {"remember_s",
                  [&](const node& n, const key_t& k2) { L.integer(n, k2, c.greeting.remember_s, 0, 365 * 86400); }}});
    } else if (key == "ratelimit") {
      auto& r = c.ratelimit;
      auto rate = [&L](double& dst) {
        return [&L, &dst](const node& n, const key_t& k2) { L.number(n, k2, dst, 0, 1e9); };
      };
      L.section(v, key,
                {{"connections_per_minute_per_ip", rate(r.connections_per_minute_per_ip)},
                 {"messages_per_hour_per_ip", rate(r.messages_per_hour_per_ip)},
                 {"recipients_per_hour_per_ip", rate(r.recipients_per_hour_per_ip)},
                 {"messages_per_hour_per_user", rate(r.messages_per_hour_per_user)},
                 {"recipients_per_hour_per_user", rate(r.recipients_per_hour_per_user)},
                 {"auth_per_minute_per_ip", rate(r.auth_per_minute_per_ip)},
                 {"exempt_trusted", [&](const node& n, const key_t& k2) { L.boolean(n, k2, r.exempt_trusted); }}});
    } else if (key == "ban") {
      auto& b = c.ban;
      L.section(
          v, key,
          {{"enabled", [&](const node& n, const key_t& k2) { L.boolean(n, k2, b.enabled); }},
           {"threshold", [&](const node& n, const key_t& k2) { L.number(n, k2, b.threshold, 1, 10000); }},
           {"window_s", [&](const node& n, const key_t& k2) { L.integer(n, k2, b.window_s, 1, 30 * 86400); }},
           {"duration_s", [&](const node& n, const key_t& k2) { L.integer(n, k2, b.duration_s, 1, 365 * 86400); }},
           {"max_duration_s",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, b.max_duration_s, 1, 365 * 86400); }},
           {"ipv4_prefix", [&](const node& n, const key_t& k2) { L.integer(n, k2, b.ipv4_prefix, 8, 32); }},
           {"ipv6_prefix", [&](const node& n, const key_t& k2) { L.integer(n, k2, b.ipv6_prefix, 16, 128); }},
           {"allowlist",
            [&](const node& n, const key_t& k2) {
              if (L.strings(n, k2, b.allowlist)) check_cidrs(L, n, k2, b.allowlist);
            }},
           {"ipv6_wide_prefix",
            [&](const node& n, const key_t& k2) {
              L.integer(n, k2, b.ipv6_wide_prefix, 0, 128);
              if (b.ipv6_wide_prefix != 0 && b.ipv6_wide_prefix < 16)
                L.error(n, k2, "ban.ipv6_wide_prefix must be 0 (off) or 16..128");
            }},
           {"wide_factor", [&](const node& n, const key_t& k2) { L.number(n, k2, b.wide_factor, 1, 1e6); }},
           {"history_s", [&](const node& n, const key_t& k2) { L.integer(n, k2, b.history_s, 0, 365 * 86400); }}});
      if (b.duration_s > b.max_duration_s) L.error(v, "ban", "ban.duration_s must not exceed ban.max_duration_s");
    } else if (key == "imap") {
      auto& m = c.imap;
      auto lst = [&L](std::string& dst) {
        return [&L, &dst](const node& n, const key_t& k2) {
          if (L.str(n, k2, dst) && !dst.empty() && !valid_ip_port(dst))
            L.error(n, k2, "'" + dst + "' is not IPv4:port or [IPv6]:port (use \"\" to disable the listener)");
        };
      };
      L.section(
          v, key,
          {{"enabled",
            [&](const node& n, const key_t& k2) {
              // true / false, or "auto" (the default): on when the Dovecot binary is installed.
              if (n.is_boolean())
                m.enabled = n.as_boolean()->get() ? "true" : "false";
              else if (!n.is_string() || n.as_string()->get() != "auto")
                L.error(n, k2, "must be true, false or \"auto\"");
            }},
           {"imap", lst(m.imap)},
           {"imaps", lst(m.imaps)},
           {"pop3", lst(m.pop3)},
           {"pop3s", lst(m.pop3s)},
           {"dovecot",
            [&](const node& n, const key_t& k2) {
              if (L.str(n, k2, m.dovecot) && (m.dovecot.empty() || m.dovecot.front() != '/'))
                L.error(n, k2, "must be an absolute path to the dovecot binary");
            }},
           {"restart_max_s", [&](const node& n, const key_t& k2) { L.integer(n, k2, m.restart_max_s, 1, 3600); }}});
    } else if (key == "address") {
      auto& a = c.address;
      L.section(
          v, key,
          {{"subaddress_delimiter",
            [&](const node& n, const key_t& k2) {
              if (L.str(n, k2, a.subaddress_delimiter) &&
                  (a.subaddress_delimiter.size() > 4 ||
                   a.subaddress_delimiter.find_first_not_of("+-_=") != std::string::npos))
                L.error(n, k2, "must be \"\" (off) or up to 4 of the characters + - _ =");
            }},
           {"max_alias_depth", [&](const node& n, const key_t& k2) { L.integer(n, k2, a.max_alias_depth, 1, 32); }},
           {"max_remote_targets",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, a.max_remote_targets, 0, 1000); }},
           {"postmaster",
            [&](const node& n, const key_t& k2) {
              if (L.str(n, k2, a.postmaster) && !a.postmaster.empty() && a.postmaster.find('@') == std::string::npos)
                L.error(n, k2, "must be \"\" (the first user) or an address local@domain");
            }},
           {"srs", [&](const node& n, const key_t& k2) { L.boolean(n, k2, a.srs); }},
           {"srs_domain",
            [&](const node& n, const key_t& k2) {
              if (L.str(n, k2, a.srs_domain) && !a.srs_domain.empty() && !valid_domain_name(a.srs_domain))
                L.error(n, k2, "must be \"\" (the first of `domains`) or a domain name");
            }},
           {"srs_max_age_days",
            [&](const node& n, const key_t& k2) { L.integer(n, k2, a.srs_max_age_days, 1, 365); }}});
    } else if (key == "user") {
      L.section(v, key, {{"require_app_passwords", [&](const node& n, const key_t& k2) {
                            L.boolean(n, k2, c.user.require_app_passwords);
                          }}});
    } else if (key == "filter") {
      auto& f = c.filter;
      // The filters mailfort runs listen on IPv4 loopback only: nobody else may use them.
      auto loopback = [&L](std::string& dst) {
        return [&L, &dst](const node& n, const key_t& k2) {
          if (L.str(n, k2, dst) && (!valid_ip_port(dst) || dst.rfind("127.", 0) != 0))
            L.error(n, k2, "'" + dst + "' must be an IPv4 loopback address and port (127.0.0.1:PORT)");
        };
      };
      auto absolute = [&L](std::string& dst) {
        return [&L, &dst](const node& n, const key_t& k2) {
          if (L.str(n, k2, dst) && (dst.empty() || dst.front() != '/')) L.error(n, k2, "must be an absolute path");
        };
      };
      L.section(
          v, key,
          {{"attachment_policy", [&](const node& n, const key_t& k2) { L.boolean(n, k2, f.attachment_policy); }},
           {"rspamd", [&](const node& n, const key_t& k2) { L.boolean(n, k2, f.rspamd); }},
           {"clamav", [&](const node& n, const key_t& k2) { L.boolean(n, k2, f.clamav); }},
           {"rspamd_address", loopback(f.rspamd_address)},
           {"clamav_address", loopback(f.clamav_address)},
           {"clamd_address", loopback(f.clamd_address)},
           {"rspamd_binary", absolute(f.rspamd_binary)},
           {"clamd_binary", absolute(f.clamd_binary)},
           {"clamav_milter_binary", absolute(f.clamav_milter_binary)},
           {"clamav_database", absolute(f.clamav_database)},
           {"restart_max_s", [&](const node& n, const key_t& k2) { L.integer(n, k2, f.restart_max_s, 1, 3600); }},
           {"blocked_extensions",
            [&](const node& n, const key_t& k2) {
              if (L.strings(n, k2, f.blocked_extensions))
                for (const auto& e : f.blocked_extensions)
                  if (e.empty() || e.size() > 32 || e.find_first_of(" /\\\t") != std::string::npos)
                    L.error(n, k2, "'" + e + "' is not a file name extension (\"exe\" or \".exe\")");
            }},
           {"milter", [&](const node& n, const key_t& k2) {
              const auto* arr = n.as_array();
              if (!arr) {
                L.error(n, k2, "must be [[filter.milter]] tables (name, address, default_action...)");
                return;
              }
              f.milters.clear();
              for (const auto& e : *arr) {
                const auto* t = e.as_table();
                if (!t) {
                  L.error(e, k2, "each [[filter.milter]] entry must be a table");
                  continue;
                }
                milter mc;
                for (const auto& [tk, tv] : *t) {
                  const std::string leaf(tk.str());
                  const std::string kk = k2 + "." + leaf;
                  if (leaf == "name")
                    L.str(tv, kk, mc.name);
                  else if (leaf == "address")
                    L.str(tv, kk, mc.address);
                  else if (leaf == "default_action")
                    L.str(tv, kk, mc.default_action);
                  else if (leaf == "connect_timeout_s")
                    L.integer(tv, kk, mc.connect_timeout_s, 1, 3600);
                  else if (leaf == "command_timeout_s")
                    L.integer(tv, kk, mc.command_timeout_s, 1, 3600);
                  else if (leaf == "content_timeout_s")
                    L.integer(tv, kk, mc.content_timeout_s, 1, 3600);
                  else if (leaf == "listeners")
                    L.strings(tv, kk, mc.listeners);
                  else if (leaf == "antivirus")
                    L.boolean(tv, kk, mc.antivirus);
                  else
                    L.unknown(tv, kk, leaf, " in [[filter.milter]]");
                }
                if (mc.name.empty() || mc.name.size() > 64)
                  L.error(e, k2, "name (1..64 characters, for logs and metrics) is required");
                if (!::mailfort::filter::milter::parse_address(mc.address))
                  L.error(e, k2,
                          "address '" + mc.address + "' is not inet:host:port, inet:port@host or unix:/absolute/path");
                if (mc.default_action != "tempfail" && mc.default_action != "accept" && mc.default_action != "reject")
                  L.error(e, k2, "default_action must be \"tempfail\", \"accept\" or \"reject\"");
                for (const auto& l : mc.listeners)
                  if (l != "mx" && l != "submission" && l != "submissions")
                    L.error(e, k2, "listeners: '" + l + "' is not mx, submission or submissions");
                for (const auto& o : f.milters)
                  if (o.name == mc.name) L.error(e, k2, "two milters are named '" + mc.name + "'");
                f.milters.push_back(std::move(mc));
              }
            }}});
    } else if (key == "mta_sts") {
      auto& m = c.mta_sts;
      L.section(v, key,
                {{"listen",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, m.listen) && !m.listen.empty() && !valid_ip_port(m.listen))
                      L.error(n, k2, "'" + m.listen + "' is not IPv4:port or [IPv6]:port (use \"\" to disable)");
                  }},
                 {"mode",
                  [&](const node& n, const key_t& k2) {
                    if (L.str(n, k2, m.mode) && m.mode != "testing" && m.mode != "enforce" && m.mode != "none")
                      L.error(n, k2, "must be \"testing\", \"enforce\" or \"none\"");
                  }},
                 {"max_age", [&](const node& n, const key_t& k2) { L.integer(n, k2, m.max_age, 60, 31557600); }},
                 {"mx", [&](const node& n, const key_t& k2) {
                    if (L.strings(n, k2, m.mx))
                      for (const auto& x : m.mx)
                        if (x.empty() || x.size() > 253 || x.find_first_of(" \t\r\n:") != std::string::npos)
                          L.error(n, k2, "'" + x + "' is not a host name or *.domain pattern");
                  }}});
    } else if (key == "server") {
      L.section(v, key,
                {{"threads", [&](const node& n, const key_t& k2) { L.integer(n, k2, c.server.threads, 0, 256); }}});
    } else {
      // Includes sections of features not built yet ([dkim], [monitor], [audit]): accepting them silently
      // would let an admin believe DKIM signing is on.
      L.unknown(v, key, key, "");
    }
  }
}

// [filter] rspamd / clamav: the filters mailfort runs join the milter chain (rspamd, then clamav), unless the
// admin lists [[filter.milter]] tables (then the list is the chain, as written).
void add_filter_services(config& c) {
  auto& f = c.filter;
  if (!f.milters.empty()) return;
  if (f.rspamd) {
    milter m;
    m.name = "rspamd";
    m.address = "inet:" + f.rspamd_address;
    f.milters.push_back(std::move(m));
  }
  if (f.clamav) {
    milter m;
    m.name = "clamav";
    m.address = "inet:" + f.clamav_address;
    m.antivirus = true;
    f.milters.push_back(std::move(m));
  }
}

load_result load_impl(const std::string& text, const std::string& name) {
  load_result r;
  r.cfg.source_file = name;
  if (text.size() > k_max_file_size) {
    r.diagnostics.push_back(
        {diagnostic::kind::error, "", name, 0, "",
         "file is larger than " + std::to_string(k_max_file_size) + " bytes; not a mailfort config"});
    return r;
  }
  loader L{r, name};
  try {
    toml::table t = toml::parse(text, name);
    load_table(t, L);
    add_filter_services(r.cfg);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    r.diagnostics.push_back({diagnostic::kind::error, "", name, static_cast<int>(b.line), "",
                             "TOML syntax error at line " + std::to_string(b.line) + ", column " +
                                 std::to_string(b.column) + ": " + std::string(e.description())});
  }
  return r;
}

}  // namespace

load_result load_string(const std::string& text, const std::string& name) { return load_impl(text, name); }

load_result load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    load_result r;
    r.cfg.source_file = path;
    r.diagnostics.push_back({diagnostic::kind::error, "", path, 0, "", "is a directory, not a config file"});
    return r;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result r;
    r.cfg.source_file = path;
    r.diagnostics.push_back({diagnostic::kind::error, "", path, 0, "", "cannot read file"});
    return r;
  }
  // Read one byte past the cap so an oversized file is reported rather than silently truncated.
  std::string text(k_max_file_size + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return load_impl(text, path);
}

bool has_clamav_database(const std::string& dir) {
  static constexpr std::string_view exts[] = {".cvd", ".cld", ".cud", ".ndb", ".ndu", ".hdb", ".hdu", ".hsb", ".hsu",
                                              ".mdb", ".mdu", ".msb", ".msu", ".ldb", ".ldu", ".cdb", ".ign2"};
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    for (auto e : exts)
      if (ext == e && it->is_regular_file(ec) && it->file_size(ec) > 0) return true;
  }
  return false;
}

std::vector<diagnostic> check_security(const config& c) {
  std::vector<diagnostic> f;
  auto add = [&](const std::string& sev, const std::string& key, const std::string& msg) {
    f.push_back({diagnostic::kind::finding, sev, c.source_file, 0, key, msg});
  };
  for (const auto& n : c.relay.trusted_networks) {
    const auto parsed = cidr::parse(n);
    if (!parsed) continue;  // a load error already
    const cidr pc = parsed->effective();
    // Inside private space first: fd00::/8 is wider than /32 but unreachable from the Internet, so it
    // is no open relay (for IPv4 no private range is wider than /8, so the order changes nothing there).
    if (too_wide(pc) && is_loopback_or_private(pc)) {
      add("low", "relay.trusted_networks",
          "'" + n +
              "' is private but far wider than one site (an IPv6 site is a /48): every host in it may relay "
              "without authentication. Narrow it to the networks you run.");
    } else if (too_wide(pc)) {
      add("critical", "relay.trusted_networks",
          "open relay: '" + n +
              "' trusts a large part of the Internet to relay without authentication, so anyone "
              "in it may send mail anywhere through this server; spammers find open relays within hours and the "
              "server's address ends up on every blocklist. Remove it, and let users authenticate on the submission "
              "port instead.");
    } else if (!is_loopback_or_private(pc)) {
      add("high", "relay.trusted_networks",
          "'" + n +
              "' is a public network allowed to relay without authentication: any host there that is "
              "compromised or shared becomes a spam source under your name. Trust only hosts you run (e.g. one /32 "
              "for a web server), or give them an account and use submission.");
    }
  }
  for (const auto& n : c.ban.allowlist) {
    const auto pc = cidr::parse(n);
    if (pc && too_wide(pc->effective()))
      add("high", "ban.allowlist",
          "'" + n +
              "' exempts a large part of the Internet from automatic bans, so password guessers there are "
              "never stopped. List only your own networks.");
  }
  if (c.queue.discard) {
    add("critical", "queue.discard",
        "every message is answered 250 and then thrown away: senders believe it was delivered and nothing is "
        "kept. This is the benchmark's null backend; never use it for mail. Remove the line.");
  }
  if (c.tls.min_version == "1.0" || c.tls.min_version == "1.1") {
    add("high", "tls.min_version",
        "TLS " + c.tls.min_version +
            " is deprecated (RFC 8996) and has known weaknesses (BEAST, SHA-1 "
            "handshakes). mailfort never accepts less than 1.2 whatever this says, so the file misdescribes the "
            "server; set min_version = \"1.2\".");
  }
  if (c.tls.certificate.empty()) {
    add("medium", "tls.certificate",
        "self-signed certificate: clients cannot verify it, so mail clients show warnings and senders that "
        "check certificates (MTA-STS, DANE) cannot deliver securely; set tls.certificate/tls.key (e.g. from "
        "Let's Encrypt).");
    const std::string none;
    const bool imap = c.imap.enabled != "false";
    const std::pair<const char*, const std::string*> ls[] = {{"listeners.mx", &c.listeners.mx},
                                                             {"listeners.submission", &c.listeners.submission},
                                                             {"listeners.submissions", &c.listeners.submissions},
                                                             {"imap.imap", imap ? &c.imap.imap : &none},
                                                             {"imap.imaps", imap ? &c.imap.imaps : &none},
                                                             {"imap.pop3", imap ? &c.imap.pop3 : &none},
                                                             {"imap.pop3s", imap ? &c.imap.pop3s : &none}};
    // Submission and IMAP/POP3 are where passwords travel: a public listener there with a certificate nobody can
    // verify teaches users to click through warnings, so `serve` refuses it (critical). On the MX port senders
    // mostly encrypt without verifying, so it is high there (MTA-STS and DANE senders will not deliver).
    for (const auto& [name, l] : ls)
      if (is_public_listener(*l)) {
        bool mx = std::string_view(name) == "listeners.mx";
        add(mx ? "high" : "critical", name,
            "listener " + *l +
                " is on a public address with the self-signed certificate: sending servers that "
                "check certificates (MTA-STS, DANE) will not deliver to it, and users' mail clients either fail or get "
                "taught to accept any certificate, which lets an attacker in the middle read their passwords. Install "
                "a real certificate with tls.certificate/tls.key.");
      }
  }
  if (c.state.backend == "redis") {
    std::string rest = c.state.redis_url.size() > 8 ? c.state.redis_url.substr(8) : std::string();
    rest = rest.substr(0, rest.find('/'));
    auto hp = common::parse_host_port(rest);
    std::string host = hp ? hp->host : rest;
    const auto pc = cidr::parse(host);
    bool local = host == "localhost" || (pc && is_loopback_or_private(pc->effective()));
    if (!local)
      add("medium", "state.redis_url",
          "Redis at " + host +
              " is reached without TLS or a password, so anyone on the path can read and forge "
              "bans and rate counters. Keep Redis on loopback or a private network.");
  }
  if (c.limits.message_size > 100ull * 1024 * 1024)
    add("low", "limits.message_size",
        "messages over 100 MiB let one sender fill the disk and tie up delivery; most providers accept 25-50 MiB. "
        "Lower limits.message_size.");
  if (c.limits.inflight_bytes < c.limits.message_size)
    add("low", "limits.inflight_bytes",
        "limits.inflight_bytes is below limits.message_size: a message of the advertised size can never be received "
        "(452 4.3.1). Raise limits.inflight_bytes to several times limits.message_size.");
  if (c.limits.recipients > 1000)
    add("low", "limits.recipients",
        "more than 1000 recipients per message mostly helps bulk senders and spammers; RFC 5321 requires 100. "
        "Lower limits.recipients.");
  if (c.limits.command_timeout_s > 600)
    add("low", "limits.command_timeout_s",
        "command timeouts over 10 minutes let idle clients hold connections open (slowloris); RFC 5321 suggests "
        "5 minutes. Lower limits.command_timeout_s.");
  if (c.limits.max_connections_per_ip > 100)
    add("low", "limits.max_connections_per_ip",
        "over 100 connections per client address lets one host exhaust the connection limit for everyone; "
        "lower limits.max_connections_per_ip.");
  if (c.limits.hard_errors > 100)
    add("low", "limits.hard_errors",
        "a client may make over 100 errors before being disconnected, so scanners can probe at length; Postfix "
        "uses 20. Lower limits.hard_errors.");
  if (!c.ban.enabled)
    add("medium", "ban.enabled",
        "automatic bans are off: password guessers and scanners are only slowed, never stopped. Set "
        "ban.enabled = true (trusted networks and ban.allowlist are never banned).");
  else if (c.ban.threshold > 20)
    add("low", "ban.threshold",
        "a ban threshold over 20 lets a password guesser try that many times per window; lower ban.threshold.");
  if (!c.auth.dmarc || !c.auth.spf || !c.auth.dkim)
    add("medium", "auth",
        "inbound sender authentication is partly off (auth.spf / auth.dkim / auth.dmarc): forged mail from "
        "domains that publish SPF, DKIM and DMARC will be accepted. Turn all three on.");
  else if (!c.auth.dmarc_enforce)
    add("medium", "auth.dmarc_enforce",
        "DMARC policies are evaluated but not enforced: mail failing a p=reject domain's checks is delivered. "
        "Set auth.dmarc_enforce = true and use auth.dmarc_override for the few senders that need it.");
  if (c.outbound.allow_private)
    add("medium", "outbound.allow_private",
        "outbound delivery may connect to loopback and private addresses: a hostile MX record (any sender's "
        "domain) can then make this server connect into your own network. Use it only for tests or a closed LAN.");
  if (!c.outbound.dane || !c.outbound.mta_sts)
    add("low", !c.outbound.dane ? "outbound.dane" : "outbound.mta_sts",
        "outbound DANE or MTA-STS is off: an attacker on the path can strip STARTTLS from mail to domains that "
        "publish these policies and read it. Turn outbound.dane and outbound.mta_sts on.");
  if (c.filter.clamav && !has_clamav_database(c.filter.clamav_database))
    add("high", "filter.clamav_database",
        "filter.clamav = true, but '" + c.filter.clamav_database +
            "' holds no ClamAV signature database (.cvd, .cld, .ndb, .hdb, ...): clamd cannot start, so every "
            "message gets the milter's default action (451 4.7.1). Run freshclam, or point filter.clamav_database "
            "at your signatures.");
  if (c.filter.rspamd && ::access(c.filter.rspamd_binary.c_str(), X_OK) != 0)
    add("high", "filter.rspamd_binary",
        "filter.rspamd = true, but '" + c.filter.rspamd_binary +
            "' is not an executable: install rspamd (every message would get 451 4.7.1).");
  if (c.filter.clamav && (::access(c.filter.clamd_binary.c_str(), X_OK) != 0 ||
                          ::access(c.filter.clamav_milter_binary.c_str(), X_OK) != 0))
    add("high", "filter.clamd_binary",
        "filter.clamav = true, but clamd or clamav-milter is not installed (clamav-daemon, clamav-milter): every "
        "message would get 451 4.7.1.");
  if (c.ratelimit.auth_per_minute_per_ip == 0 || c.ratelimit.auth_per_minute_per_ip > 60)
    add("low", "ratelimit.auth_per_minute_per_ip",
        "unlimited or very high AUTH attempt rates make password guessing fast; keep it at 10 or so.");
  return f;
}

bool blocks_serve(const diagnostic& d) { return d.kind == diagnostic::kind::finding && d.severity == "critical"; }

std::vector<diagnostic> check_security(const load_result& loaded) {
  auto f = check_security(loaded.cfg);
  for (auto& d : f) {
    // Point at the key when the file set it, else at its section, else leave 0: the default was used.
    auto it = loaded.key_lines.find(d.key);
    if (it == loaded.key_lines.end()) it = loaded.key_lines.find(d.key.substr(0, d.key.find('.')));
    if (it != loaded.key_lines.end()) d.line = it->second;
  }
  return f;
}

// Kept byte-identical to etc/mailfort.toml (a unit test compares them).
std::string annotated_defaults() {
  return R"toml(# mailfort.toml: the embedded defaults, annotated (`mailfort config defaults` prints this text).
# A config file overrides only the keys it names; everything it leaves out keeps the value shown here.
# `mailfort config check FILE` reports errors with file:line and every insecure choice as a finding.
# Unknown keys are errors, so a misspelt key cannot silently leave a default in place.
# Some switches do not exist on purpose: AUTH is offered only inside TLS (a key such as
# `auth_without_tls` or `allow_plaintext_auth` is rejected as unknown), VRFY/EXPN never answer, and
# TLS below 1.2 is never negotiated.

hostname = "localhost"          # HELO name and Received: "by"; set it to the name the MX record points at
domains = ["localhost"]         # local domains: mail for them goes to local Maildirs, anything else needs AUTH
data_dir = "./var"              # queue/, state.db (users, bans), mail/<domain>/<user>/, tls/; created 0700

[listeners]                     # IPv4:port or [IPv6]:port; "" disables a listener. Loopback only by default,
                                # so a fresh install is not reachable from the network until you decide so.
mx = "127.0.0.1:2525"           # inbound mail from the world: AUTH not offered, relaying refused
submission = "127.0.0.1:2587"   # STARTTLS, then AUTH required before MAIL
submissions = "127.0.0.1:2465"  # implicit TLS, AUTH required before MAIL
admin = "127.0.0.1:9025"        # admin HTTP: /metrics, /healthz, /readyz, /api/*; loopback only (no TLS yet)

[tls]
certificate = ""                # PEM chain; empty: a self-signed certificate is generated in data_dir/tls/
key = ""                        # PEM private key, set together with certificate; read before privileges drop
min_version = "1.2"             # "1.2" or "1.3"; 1.0 and 1.1 are broken (RFC 8996) and never negotiated
handshake_timeout_s = 30        # a client that connects and never finishes the handshake is dropped

[dns]
servers = []                    # "IP" or "IP:port"; empty: the system resolver. Answers are DNSSEC-validated
                                # here (libunbound), whatever the upstream does
root_anchor = "/usr/share/dns/root.key"  # DNSSEC root trust anchor (Debian dns-root-data); "" turns off
                                # validation from the root: DANE then never applies (secure answers needed)
trust_anchor = ""               # extra DS/DNSKEY file, for private or test zones
special_zones = []              # RFC 6761 zones (e.g. "test") to resolve upstream instead of refusing them
timeout_ms = 5000               # per lookup; SPF, DKIM and DMARC turn a timeout into temperror

[relay]
trusted_networks = []           # CIDRs that may relay without AUTH; none, not even loopback, so a local
                                # web app or a hijacked process cannot send as you without a password
smarthost = ""                  # "host:port" to send all outbound mail through; empty: deliver by MX
smarthost_user = ""             # AUTH PLAIN at the smart host, sent only inside TLS whose certificate verified
smarthost_password_file = ""    # file whose first line is that password (read at start)
allow_null_sender = false       # submission: refuse MAIL FROM:<> from logged-in users (a bounce is the server's
                                # to send); MAIL FROM and every header From: must be the user's own address

[outbound]                      # delivery to other servers (docs/outbound.md)
helo_name = ""                  # EHLO name; "" = hostname (it should resolve back to the source address)
source_ipv4 = ""                # source addresses of outbound connections; "" lets the kernel choose
source_ipv6 = ""                # (IPv6 source; both must be addresses of this host)
allow_private = false           # never connect to loopback/private addresses found in MX records (a hostile
                                # MX must not reach into your network); true only for tests or a closed LAN
port = 25                       # destination port of MX hosts
ca_file = ""                    # extra PEM trust anchors for verifying peers; "" = the system store only
dane = true                     # RFC 7672 DANE: used only when the resolver validates DNSSEC (checked at start)
mta_sts = true                  # RFC 8461 MTA-STS: enforce-mode domains never get mail in plaintext
mta_sts_port = 443              # HTTPS port of mta-sts.<domain>
max_connections = 20            # deliveries in flight
max_connections_per_domain = 4  # per destination domain (or per smart host)
connect_timeout_s = 30          # TCP connect to one address, then the next address or host
command_timeout_s = 300         # per command (RFC 5321 4.5.3.2); DATA end waits up to 10 minutes
tlsrpt = true                   # RFC 8460 TLS reporting: count TLS sessions per destination domain and mail
                                # a daily report to the rua address the domain publishes (_smtp._tls TXT)
tlsrpt_interval_s = 86400       # how often completed days are reported (`mailfort tlsrpt send` does it now)
tlsrpt_contact = ""             # contact-info in the reports; "" = postmaster@<hostname>

[queue]                         # retries of deferred mail: exponential backoff with jitter, then a bounce
retry_min_s = 300               # first retry after 5 minutes, doubling each time
retry_max_s = 14400             # up to 4 hours between attempts
max_lifetime_s = 432000         # after 5 days in the queue the sender gets a DSN (RFC 3464)
retry_jitter = 0.2              # +-20 %, so mail deferred together does not come back in one burst
delay_warning_s = 0             # > 0: the sender gets one "delayed" DSN per recipient still deferred after this
                                # long (Postfix delay_warning_time, e.g. 14400); 0: only failures are reported
discard = false                 # BENCHMARK ONLY: accept with 250 and throw the message away (the null backend
                                # that measures the protocol layer against smtp-sink); `config check`: critical

[state]
backend = "sqlite"              # "sqlite": state.db in data_dir, nothing listens; "redis" only for clusters
redis_url = "redis://127.0.0.1:6379"  # used only with backend = "redis"; no TLS, so keep it on loopback/LAN

[limits]                        # every limit is on by default; RFC minimums are kept where the RFC sets one
message_size = 26214400         # 25 MiB, advertised in SIZE; 552 5.3.4 above it (disk-filling abuse)
command_line = 512              # octets incl. CRLF (RFC 5321 4.5.3.1.4); 500 5.5.2 above it
text_line = 1000                # octets incl. CRLF in DATA (RFC 5321 4.5.3.1.6)
header_section = 262144         # bytes of message header; 552 5.3.4 above it (parser memory bound)
recipients = 100                # per message (RFC 5321 minimum); 452 4.5.3 above it
max_hops = 100                  # Received: fields before 554 5.4.6 (mail loop, RFC 5321 6.3)
soft_errors = 10                # client errors after which each reply is delayed (slows scanners)
hard_errors = 20                # client errors after which 421 4.7.0 and close
junk_commands = 100             # NOOP/RSET/VRFY/HELP, repeated HELO/EHLO and refused MAIL without mail before 421
unknown_recipients = 20         # 550 5.1.1 replies before 421 (dictionary attack)
messages_per_connection = 100   # MAIL transactions per connection before 421
command_timeout_s = 300         # per command line, not extended by trickled bytes (slowloris; RFC 5321 4.5.3.2.7)
data_timeout_s = 3600           # absolute cap on one DATA phase
min_data_rate = 500             # bytes/s a client must sustain in DATA, so a trickle cannot hold a slot
error_delay_ms = 1000           # tarpit per error past soft_errors, and after each failed AUTH
max_connections = 1000          # total; 421 4.7.0 at connect above it (memory and file descriptors stay bounded)
max_connections_per_ip = 20     # per source prefix (ban.ipv4_prefix/ipv6_prefix: an IPv6 /64); 421 4.7.0 above it
inflight_bytes = 268435456      # 256 MiB: message content received and not yet queued (in queue/tmp/), all
                                # sessions together; 452 4.3.1 at MAIL (SIZE=) or DATA when spent (disk-filling)
session_lifetime_s = 3600       # a session this old gets 421 4.4.2 at its next command: no client holds a slot forever
listener_reserve = 50           # slots of max_connections each listener keeps free from the others (an MX flood
                                # cannot stop users submitting on 587/465)

[greeting]                      # MX only: postscreen-style pause before the 220 banner
delay_ms = 3000                 # spam tools that talk first are refused (554 5.5.0) and scored; 0 disables
remember_s = 86400              # a client that waited once is not delayed again for this long

[auth]                          # sender authentication of inbound mail (MX listener)
authserv_id = ""                # "" = hostname; Authentication-Results claiming it are stripped from inbound mail
spf = true                      # RFC 7208, MAIL FROM and HELO identities
dkim = true                     # RFC 6376/8463; rsa-sha1 and RSA keys under 1024 bits never pass
dmarc = true                    # RFC 7489 with the Public Suffix List
dmarc_enforce = true            # p=reject: 550 5.7.1 at end of data; p=quarantine: delivered to Junk
dmarc_override = []             # From domains whose DMARC policy is only recorded (e.g. a trusted list host)
max_dkim_signatures = 5         # verified per message; more are reported as not checked (CPU bound)
dmarc_reports = true            # RFC 7489 7.2 aggregate reports: keep per-day rows (source IP, results, disposition)
                                # in state.db and mail them daily to the rua the policy domain publishes (_dmarc TXT)
dmarc_report_interval_s = 86400 # how often completed days are reported (`mailfort dmarc report send` does it now)
dmarc_report_contact = ""       # report_metadata email in the reports; "" = postmaster@<hostname>
temperror = "defer"             # SPF/DKIM/DMARC temperror (DNS failure): "defer" = 451 4.7.5, the sender retries;
                                # "accept" = deliver unchecked. A DNSSEC-stripping upstream is not a temperror:
                                # its answers are used unvalidated (logged, alerted) and DANE stays off

[dkim]                          # signing of mail from authenticated users, before it is queued
sign = true                     # sign with every key whose domain is the From: domain
sign_trusted = true             # also sign mail relayed for relay.trusted_networks when its From: domain has a key
keys = []                       # [{domain = "example.org", selector = "mf1", key = "/etc/mailfort/dkim/example.org.mf1.key"}]

[monitor]                       # the admin HTTP listener (listeners.admin): /metrics, /healthz, /readyz, /api/*
token = ""                      # bearer token required for /metrics and /api/* when set (>= 16 characters)
auth_failures_per_ip = 10       # AUTH failures per minute from one address that raise auth_failure_burst
auth_failures_total = 100       # AUTH failures per minute from everywhere that raise auth_failure_burst ("*")
queue_size_alert = 10000        # messages in the queue that raise queue_size_high
queue_growth_alert = 1000       # queue growth within queue_growth_window_s that raises queue_growth
queue_growth_window_s = 600     # 10 minutes (the queue is sampled 10 times per window, at most every 10 s)
webhook = ""                    # http://host:port/path: each alert raised/cleared is POSTed as JSON (empty: log only)
blocklist_zones = ["zen.spamhaus.org", "b.barracudacentral.org"]  # DNSBLs checked for our address at start and daily
public_ip = ""                  # the address checked on them; empty: the source address of the default route
log_format = "json"             # "json": one object per line; "syslog": RFC 5424 lines carrying the same JSON
outbound_spike_multiplier = 10  # an authenticated user's recipients this hour >= 10x their median hour ...
outbound_spike_floor = 200      # ... and >= 200 raise outbound_spike (a compromised account sending spam)
hold_on_spike = true            # and hold that user's outbound mail in the queue until `mailfort queue release USER`

[ratelimit]                     # token buckets per client address or user; 0 disables one
connections_per_minute_per_ip = 60      # new connections; 421 4.7.0 above it (connection floods)
messages_per_hour_per_ip = 1000         # unauthenticated (MX) mail per client address; 450 4.7.1
recipients_per_hour_per_ip = 5000       # 452 4.5.3 above it
messages_per_hour_per_user = 500        # authenticated users (outbound): a hijacked account is capped
recipients_per_hour_per_user = 2000     # same, counted per recipient
auth_per_minute_per_ip = 10             # AUTH attempts; 421 4.7.0 above it (password guessing)
exempt_trusted = true                   # relay.trusted_networks and ban.allowlist skip the per-source
                                        # connection cap and rate limits (Postfix exempts mynetworks from anvil)

[ban]                           # built-in fail2ban: the source address is banned, never the account,
                                # so an attacker cannot lock a user out
enabled = true                  # off only leaves rate limits against password guessers
threshold = 5                   # points within window_s: a failed AUTH is 1, early talking 2.5,
window_s = 600                  # smuggling or HTTP on the SMTP port 5, an unknown recipient 0.25
duration_s = 3600               # first ban; doubles for each repeat, up to max_duration_s
max_duration_s = 604800         # one week: long enough to stop a botnet node, short enough for reassigned IPs
ipv4_prefix = 32                # one IPv4 host
ipv6_prefix = 64                # one IPv6 /64 (a single customer's network; an attacker holds all of it)
allowlist = []                  # CIDRs never banned (relay.trusted_networks are never banned either)
ipv6_wide_prefix = 48           # a second IPv6 score, ban and rate limit per /48 (a /48 holds 65,536 /64s); 0: off
wide_factor = 4                 # ... reached at 4x the threshold and rate limits of one source
history_s = 2592000             # ended bans count for escalation 30 days, then their rows are deleted

[mta_sts]                       # MTA-STS policy hosting (RFC 8461): HTTPS, only /.well-known/mta-sts.txt for
                                # Host mta-sts.<domain> of each local domain; `mailfort dns-records` prints the
                                # _mta-sts TXT (its id follows the policy content) and the mta-sts CNAME to publish
listen = "127.0.0.1:2443"       # 443 on a public address in production; "" disables
mode = "testing"                # "testing" first; "enforce" once `mailfort audit domain` finds no problem
max_age = 604800                # seconds senders may cache the policy (one week; at most 31557600)
mx = []                         # extra mx patterns besides the hostname (e.g. a backup MX, "*.example.org")

[server]
threads = 0                     # event loops; 0: one per CPU core

[imap]                          # mailbox access: `mailfort serve` runs Dovecot (IMAP/POP3) on mailfort's users,
                                # bans and certificate; `mailfort dovecot config` prints its configuration
enabled = "auto"                # "auto": on when Dovecot is installed (dovecot-imapd, dovecot-pop3d); true; false
imap = "127.0.0.1:2143"         # IMAP (143 in production): STARTTLS required before any login; "" disables
imaps = "127.0.0.1:2993"        # IMAP over implicit TLS (993)
pop3 = "127.0.0.1:2110"         # POP3 (110): STLS required before any login
pop3s = "127.0.0.1:2995"        # POP3 over implicit TLS (995)
dovecot = "/usr/sbin/dovecot"   # the Dovecot 2.3 binary (Debian dovecot-core)
restart_max_s = 30              # Dovecot is restarted when it dies: after 0.5 s, doubling up to this

[user]                          # logins of local users (IMAP, POP3, submission)
require_app_passwords = false   # true: only per-device passwords (`mailfort user app-password add USER --name D`)
                                # log in; the account password opens nothing, so a leaked one is useless

[address]                       # addresses of hosted domains (`mailfort domain`, `mailfort alias`, docs/addresses.md)
subaddress_delimiter = "+"      # user+tag@ reaches user, filed into folder `tag` when it exists; "" = off
max_alias_depth = 8             # nested aliases followed this deep at most (deeper, or a loop: 550 5.4.6)
max_remote_targets = 10         # remote forwarding targets one message may reach through aliases (more: 550 5.7.1)
postmaster = ""                 # postmaster@ and abuse@ of every hosted domain always accept mail: to a user or
                                # alias of that name, else to this address, else ("") to the domain's first user
srs = true                      # mail an alias forwards to a remote address leaves with an SRS sender
                                # (SRS0=hash=stamp=domain=user@srs_domain, key in data_dir/srs.secret, 0600), so
                                # SPF passes at the receiver; bounces to it are checked (hash, age) and reversed
srs_domain = ""                 # the SRS addresses' domain, one of the hosted domains; "": the first of `domains`
srs_max_age_days = 21           # a bounce to an SRS address older than this is refused 550 5.7.1

[filter]                        # content filtering (docs/filter.md)
attachment_policy = true        # 550 5.7.1 for an attachment (in any nested part; RFC 2231 and encoded-word names
                                # decoded) whose extension is below, or whose type or content is an executable's
blocked_extensions = [          # extensions refused (with or without the dot, any case)
  "exe", "scr", "js", "vbs", "bat", "cmd", "com", "pif", "jar", "lnk", "iso", "docm", "xlsm"]
rspamd = false                  # true: `mailfort serve` runs and supervises rspamd (stock rules, network modules
                                # off, configuration generated in data_dir/rspamd) and asks it as milter "rspamd"
rspamd_address = "127.0.0.1:11332"  # its milter (proxy worker); IPv4 loopback only
rspamd_binary = "/usr/bin/rspamd" # Debian rspamd 3.4 (its stock rules: /etc/rspamd)
clamav = false                  # true: runs clamd + clamav-milter (data_dir/clamav) and asks it as milter
                                # "clamav", after rspamd; EICAR and other malware: 550 5.7.1
clamav_address = "127.0.0.1:11336"  # clamav-milter; IPv4 loopback only
clamd_address = "127.0.0.1:11337"   # clamd (TCP, for clamav-milter only); IPv4 loopback only
clamav_database = "/var/lib/clamav" # the signatures (freshclam keeps Debian's up to date); `config check` flags none
clamd_binary = "/usr/sbin/clamd"  # Debian clamav-daemon
clamav_milter_binary = "/usr/sbin/clamav-milter"  # Debian clamav-milter
restart_max_s = 30              # a filter that dies is restarted after 0.5 s, doubling up to this; while it is
                                # down its milter's default action applies (451 4.7.1): mail is never let through

# Milters (rspamd, clamav-milter, any libmilter filter) are asked in order at the
# end of DATA, before the 250; their rejects are the reply to the DATA, their header and envelope changes are
# applied to the message before it is queued. None by default (but rspamd and clamav above, when on). Listing
# tables replaces that chain: name rspamd_address / clamav_address in them to keep those filters. One per milter:
# [[filter.milter]]
# name = "rspamd"                 # for logs and metrics
# address = "inet:127.0.0.1:11332"  # or "inet:PORT@HOST", "unix:/run/rspamd/milter.sock"
# default_action = "tempfail"     # milter down, slow or broken: "tempfail" (451 4.7.1), "accept" or "reject"
# connect_timeout_s = 30          # Postfix's milter_connect_timeout
# command_timeout_s = 30          # each event up to the body (milter_command_timeout)
# content_timeout_s = 300         # each body chunk and the end of message (milter_content_timeout)
# listeners = ["mx", "submission", "submissions"]
# antivirus = false               # true: its refusals are malware (an authenticated sender's raises outbound_malware)
)toml";
}

}  // namespace mailfort::config
