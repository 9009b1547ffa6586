// config/config.cpp: TOML loading with file:line diagnostics, security findings, annotated defaults.
// SPDX-License-Identifier: MIT
// Unknown keys are errors, not warnings: a typo such as `trusted_network` must never silently leave
// a default in place the admin believes changed.
#include "config/config.hpp"

#include <toml++/toml.h>

#include <arpa/inet.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace mailfort::config {

namespace {

struct loader {
  load_result& out;
  std::string file;

  void error(const toml::node& n, const std::string& key, const std::string& msg) {
    out.diagnostics.push_back({diagnostic::kind::error, "", file, static_cast<int>(n.source().begin.line), key, msg});
  }

  bool str(const toml::node& n, const std::string& key, std::string& dst) {
    if (auto v = n.value<std::string>(); v && n.is_string()) {
      dst = *v;
      return true;
    }
    error(n, key, "must be a string");
    return false;
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

  bool strings(const toml::node& n, const std::string& key, std::vector<std::string>& dst) {
    const auto* arr = n.as_array();
    if (!arr) {
      error(n, key, "must be an array of strings");
      return false;
    }
    std::vector<std::string> v;
    for (const auto& e : *arr) {
      if (!e.is_string()) {
        error(e, key, "must be an array of strings");
        return false;
      }
      v.push_back(*e.value<std::string>());
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
      std::string key = name + "." + std::string(k.str());
      auto it = keys.find(std::string(k.str()));
      if (it == keys.end()) {
        error(v, key, "unknown key '" + std::string(k.str()) + "' in [" + name + "]");
        continue;
      }
      it->second(v, key);
    }
  }
};

bool valid_host_port(const std::string& s) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    unsigned char buf[16];
    if (inet_pton(AF_INET6, host.c_str(), buf) != 1) return false;
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    unsigned char buf[16];
    if (inet_pton(AF_INET, host.c_str(), buf) != 1) return false;
  }
  if (port.empty() || port.size() > 5) return false;
  unsigned long p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + static_cast<unsigned long>(c - '0');
  }
  return p >= 1 && p <= 65535;
}

struct parsed_cidr {
  bool v6 = false;
  unsigned prefix = 0;
  unsigned char addr[16] = {};
};

bool parse_cidr(const std::string& s, parsed_cidr& out) {
  auto slash = s.find('/');
  std::string a = s.substr(0, slash);
  out.v6 = a.find(':') != std::string::npos;
  if (inet_pton(out.v6 ? AF_INET6 : AF_INET, a.c_str(), out.addr) != 1) return false;
  unsigned max = out.v6 ? 128 : 32;
  out.prefix = max;
  if (slash != std::string::npos) {
    std::string p = s.substr(slash + 1);
    if (p.empty() || p.size() > 3) return false;
    unsigned v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return false;
    out.prefix = v;
  }
  return true;
}

bool is_loopback_or_private(const parsed_cidr& c) {
  const unsigned char* a = c.addr;
  if (!c.v6) {
    if (a[0] == 127 && c.prefix >= 8) return true;
    if (a[0] == 10 && c.prefix >= 8) return true;
    if (a[0] == 172 && (a[1] & 0xf0) == 16 && c.prefix >= 12) return true;
    if (a[0] == 192 && a[1] == 168 && c.prefix >= 16) return true;
    return false;
  }
  static const unsigned char loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (c.prefix == 128 && std::equal(a, a + 16, loop)) return true;
  if ((a[0] & 0xfe) == 0xfc && c.prefix >= 7) return true;  // fc00::/7 unique local
  return false;
}

bool is_public_listener(const std::string& addr) {
  if (addr.empty()) return false;
  return !(addr.rfind("127.", 0) == 0 || addr.rfind("[::1]", 0) == 0);
}

void load_table(const toml::table& root, loader& L) {
  config& c = L.out.cfg;
  for (const auto& [k, v] : root) {
    std::string key(k.str());
    if (key == "hostname") {
      L.str(v, key, c.hostname);
      if (c.hostname.empty() || c.hostname.size() > 253) L.error(v, key, "must be a host name of 1..253 characters");
    } else if (key == "domains") {
      L.strings(v, key, c.domains);
    } else if (key == "data_dir") {
      L.str(v, key, c.data_dir);
    } else if (key == "listeners") {
      auto lst = [&L](std::string& dst) {
        return [&L, &dst](const toml::node& n, const std::string& k2) {
          if (L.str(n, k2, dst) && !dst.empty() && !valid_host_port(dst))
            L.error(n, k2, "'" + dst + "' is not IP:port or [IPv6]:port (use \"\" to disable the listener)");
        };
      };
      L.section(v, "listeners", {{"mx", lst(c.listeners.mx)},
                                 {"submission", lst(c.listeners.submission)},
                                 {"submissions", lst(c.listeners.submissions)},
                                 {"admin", lst(c.listeners.admin)}});
    } else if (key == "tls") {
      L.section(v, "tls",
                {{"certificate", [&](const toml::node& n, const std::string& k2) { L.str(n, k2, c.tls.certificate); }},
                 {"key", [&](const toml::node& n, const std::string& k2) { L.str(n, k2, c.tls.key); }},
                 {"min_version",
                  [&](const toml::node& n, const std::string& k2) {
                    if (L.str(n, k2, c.tls.min_version) && c.tls.min_version != "1.0" && c.tls.min_version != "1.1" &&
                        c.tls.min_version != "1.2" && c.tls.min_version != "1.3")
                      L.error(n, k2, "must be \"1.2\" or \"1.3\"");
                  }},
                 {"handshake_timeout_s", [&](const toml::node& n, const std::string& k2) {
                    L.integer(n, k2, c.tls.handshake_timeout_s, 1, 300);
                  }}});
    } else if (key == "dns") {
      L.section(v, "dns", {{"servers", [&](const toml::node& n, const std::string& k2) { L.strings(n, k2, c.dns.servers); }}});
    } else if (key == "relay") {
      L.section(v, "relay",
                {{"trusted_networks",
                  [&](const toml::node& n, const std::string& k2) {
                    if (!L.strings(n, k2, c.relay.trusted_networks)) return;
                    for (const auto& s : c.relay.trusted_networks) {
                      parsed_cidr pc;
                      if (!parse_cidr(s, pc)) L.error(n, k2, "'" + s + "' is not an IPv4 or IPv6 network (a.b.c.d/len)");
                    }
                  }},
                 {"smarthost", [&](const toml::node& n, const std::string& k2) { L.str(n, k2, c.relay.smarthost); }}});
    } else if (key == "state") {
      L.section(v, "state",
                {{"backend",
                  [&](const toml::node& n, const std::string& k2) {
                    if (L.str(n, k2, c.state.backend) && c.state.backend != "sqlite" && c.state.backend != "redis")
                      L.error(n, k2, "must be \"sqlite\" or \"redis\"");
                  }},
                 {"redis_url", [&](const toml::node& n, const std::string& k2) { L.str(n, k2, c.state.redis_url); }}});
    } else if (key == "limits") {
      auto& l = c.limits;
      constexpr long long big = 1LL << 40;
      auto sz = [&L](std::size_t& dst, long long min, long long max) {
        return [&L, &dst, min, max](const toml::node& n, const std::string& k2) { L.integer(n, k2, dst, min, max); };
      };
      auto in = [&L](int& dst, long long min, long long max) {
        return [&L, &dst, min, max](const toml::node& n, const std::string& k2) { L.integer(n, k2, dst, min, max); };
      };
      L.section(v, "limits",
                {{"message_size", [&](const toml::node& n, const std::string& k2) { L.integer(n, k2, l.message_size, 1024, big); }},
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
                 {"max_connections_per_ip", sz(l.max_connections_per_ip, 1, 1000000)}});
    } else if (key == "greeting") {
      L.section(v, "greeting",
                {{"delay_ms", [&](const toml::node& n, const std::string& k2) { L.integer(n, k2, c.greeting.delay_ms, 0, 60000); }},
                 {"remember_s", [&](const toml::node& n, const std::string& k2) {
                    L.integer(n, k2, c.greeting.remember_s, 0, 365 * 86400);
                  }}});
    } else if (key == "ratelimit") {
      auto& r = c.ratelimit;
      auto rate = [&L](double& dst) {
        return [&L, &dst](const toml::node& n, const std::string& k2) {
          if (n.is_integer() || n.is_floating_point()) {
            double v = n.is_integer() ? static_cast<double>(n.as_integer()->get()) : n.as_floating_point()->get();
            if (v < 0 || v > 1e9) L.error(n, k2, "must be between 0 (off) and 1e9");
            else dst = v;
          } else {
            L.error(n, k2, "must be a number (0 disables the limit)");
          }
        };
      };
      L.section(v, "ratelimit",
                {{"connections_per_minute_per_ip", rate(r.connections_per_minute_per_ip)},
                 {"messages_per_hour_per_ip", rate(r.messages_per_hour_per_ip)},
                 {"recipients_per_hour_per_ip", rate(r.recipients_per_hour_per_ip)},
                 {"messages_per_hour_per_user", rate(r.messages_per_hour_per_user)},
                 {"recipients_per_hour_per_user", rate(r.recipients_per_hour_per_user)},
                 {"auth_per_minute_per_ip", rate(r.auth_per_minute_per_ip)}});
    } else if (key == "ban") {
      auto& b = c.ban;
      L.section(v, "ban",
                {{"enabled",
                  [&](const toml::node& n, const std::string& k2) {
                    if (n.is_boolean()) b.enabled = n.as_boolean()->get();
                    else L.error(n, k2, "must be true or false");
                  }},
                 {"threshold",
                  [&](const toml::node& n, const std::string& k2) {
                    if (n.is_integer() || n.is_floating_point()) {
                      double t = n.is_integer() ? static_cast<double>(n.as_integer()->get()) : n.as_floating_point()->get();
                      if (t < 1 || t > 10000) L.error(n, k2, "must be between 1 and 10000");
                      else b.threshold = t;
                    } else {
                      L.error(n, k2, "must be a number");
                    }
                  }},
                 {"window_s", [&](const toml::node& n, const std::string& k2) { L.integer(n, k2, b.window_s, 1, 30 * 86400); }},
                 {"duration_s", [&](const toml::node& n, const std::string& k2) { L.integer(n, k2, b.duration_s, 1, 365 * 86400); }},
                 {"max_duration_s", [&](const toml::node& n, const std::string& k2) { L.integer(n, k2, b.max_duration_s, 1, 365 * 86400); }},
                 {"ipv4_prefix", [&](const toml::node& n, const std::string& k2) { L.integer(n, k2, b.ipv4_prefix, 8, 32); }},
                 {"ipv6_prefix", [&](const toml::node& n, const std::string& k2) { L.integer(n, k2, b.ipv6_prefix, 16, 128); }},
                 {"allowlist", [&](const toml::node& n, const std::string& k2) {
                    if (!L.strings(n, k2, b.allowlist)) return;
                    for (const auto& s2 : b.allowlist) {
                      parsed_cidr pc;
                      if (!parse_cidr(s2, pc)) L.error(n, k2, "'" + s2 + "' is not an IPv4 or IPv6 network");
                    }
                  }}});
    } else if (key == "server") {
      L.section(v, "server", {{"threads", [&](const toml::node& n, const std::string& k2) {
                                 L.integer(n, k2, c.server.threads, 0, 256);
                               }}});
    } else {
      L.error(v, key, "unknown key '" + key + "'");
    }
  }
}

load_result load_impl(const std::string& text, const std::string& name) {
  load_result r;
  r.cfg.source_file = name;
  loader L{r, name};
  try {
    toml::table t = toml::parse(text, name);
    load_table(t, L);
  } catch (const toml::parse_error& e) {
    r.diagnostics.push_back({diagnostic::kind::error, "", name, static_cast<int>(e.source().begin.line), "",
                             "TOML syntax: " + std::string(e.description())});
  }
  return r;
}

}  // namespace

load_result load_string(const std::string& text, const std::string& name) { return load_impl(text, name); }

load_result load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result r;
    r.diagnostics.push_back({diagnostic::kind::error, "", path, 0, "", "cannot read file"});
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_impl(ss.str(), path);
}

std::vector<diagnostic> check_security(const config& c) {
  std::vector<diagnostic> f;
  auto add = [&](const std::string& sev, const std::string& key, const std::string& msg) {
    f.push_back({diagnostic::kind::finding, sev, c.source_file, 0, key, msg});
  };
  for (const auto& n : c.relay.trusted_networks) {
    parsed_cidr pc;
    if (!parse_cidr(n, pc)) continue;
    if ((!pc.v6 && pc.prefix < 8) || (pc.v6 && pc.prefix < 32)) {
      add("critical", "relay.trusted_networks",
          "'" + n + "' makes this an open relay: anyone in it may send mail anywhere through this server, and spammers "
          "find open relays within hours. Remove it; let users authenticate on the submission port instead.");
    } else if (!is_loopback_or_private(pc)) {
      add("high", "relay.trusted_networks",
          "'" + n + "' is a public network allowed to relay without authentication. Trust only hosts you run (a "
          "single /32 for a web server), or make them authenticate.");
    }
  }
  if (c.tls.min_version == "1.0" || c.tls.min_version == "1.1") {
    add("high", "tls.min_version",
        "TLS " + c.tls.min_version + " is deprecated (RFC 8996) and has known weaknesses. mailfort never accepts "
        "less than 1.2 whatever this says; set min_version = \"1.2\" so the config says what the server does.");
  }
  bool self_signed = c.tls.certificate.empty();
  if (self_signed) {
    add("medium", "tls.certificate",
        "no certificate configured: a self-signed one is generated, which clients and MTA-STS/DANE-checking "
        "senders cannot verify. Set tls.certificate and tls.key (e.g. from Let's Encrypt).");
    for (const auto* l : {&c.listeners.mx, &c.listeners.submission, &c.listeners.submissions})
      if (is_public_listener(*l)) {
        add("high", "tls.certificate",
            "listener " + *l + " is on a public address with a self-signed certificate: submission clients will "
            "either fail or be taught to accept any certificate. Install a real certificate.");
        break;
      }
  }
  if (!c.tls.certificate.empty() && c.tls.key.empty())
    add("high", "tls.key", "tls.certificate is set but tls.key is not: the server cannot start TLS.");
  if (c.limits.message_size > 100ull * 1024 * 1024)
    add("low", "limits.message_size", "messages over 100 MiB invite disk-filling abuse; 25-50 MiB is usual.");
  if (c.limits.recipients > 1000)
    add("low", "limits.recipients", "more than 1000 recipients per message helps spammers; 100 is the RFC minimum.");
  if (c.limits.command_timeout_s > 600)
    add("low", "limits.command_timeout_s", "long command timeouts let idle clients hold connections; RFC 5321 suggests 5 minutes.");
  if (c.limits.max_connections_per_ip > 100)
    add("low", "limits.max_connections_per_ip", "over 100 connections per client address lets one host exhaust the server.");
  if (!c.ban.enabled)
    add("medium", "ban.enabled", "automatic bans are off: brute-force logins and scanners are only slowed, never "
        "stopped. Keep ban.enabled = true (trusted networks and ban.allowlist are never banned).");
  if (c.ban.enabled && c.ban.threshold > 20)
    add("low", "ban.threshold", "a ban threshold over 20 lets a password guesser try that many times per window.");
  if (c.ratelimit.auth_per_minute_per_ip == 0 || c.ratelimit.auth_per_minute_per_ip > 60)
    add("low", "ratelimit.auth_per_minute_per_ip", "unlimited or very high AUTH attempt rates help password guessing.");
  if (c.limits.hard_errors > 100)
    add("low", "limits.hard_errors", "a high error limit lets scanners probe at length; Postfix uses 20.");
  return f;
}

std::string annotated_defaults() {
  return R"(# mailfort.toml: the embedded defaults, annotated. A config file overrides only the keys it names;
# everything it leaves out keeps the value shown here. `mailfort config check FILE` validates a file.
# There is no key to allow AUTH without TLS, VRFY, EXPN or TLS below 1.2: those are not options.

hostname = "localhost"          # HELO name and Received: "by"; set it to the MX host name
domains = ["localhost"]         # local domains: mail for them is delivered to local Maildirs
data_dir = "./var"              # queue/, state.db (users), mail/<domain>/<user>/, tls/

[listeners]                     # "" disables a listener
mx = "127.0.0.1:2525"           # inbound mail from the world: no AUTH offered, relay refused
submission = "127.0.0.1:2587"   # STARTTLS, then AUTH required before MAIL
submissions = "127.0.0.1:2465"  # implicit TLS, AUTH required before MAIL
admin = "127.0.0.1:9025"        # reserved for the admin HTTP listener (metrics issue); not bound yet

[tls]
certificate = ""                # empty: a self-signed certificate is generated in data_dir/tls/
key = ""
min_version = "1.2"             # "1.2" or "1.3"; nothing older is ever accepted
handshake_timeout_s = 30        # a client that connects and never finishes the handshake is dropped

[dns]
servers = []                    # empty: the system resolver (used by later features)

[relay]
trusted_networks = []           # nothing relays without AUTH, not even loopback
smarthost = ""                  # reserved for outbound delivery (not built yet)

[state]
backend = "sqlite"              # users (and later bans, counters) in data_dir/state.db
redis_url = "redis://127.0.0.1:6379"

[limits]
message_size = 26214400         # 25 MiB, advertised in SIZE; 552 5.3.4 above it
command_line = 512              # octets incl. CRLF (RFC 5321 4.5.3.1.4); 500 5.5.2 above it
text_line = 1000                # octets incl. CRLF in DATA (RFC 5321 4.5.3.1.6)
header_section = 262144         # bytes of message header; 552 5.3.4 above it
recipients = 100                # per message (RFC 5321 minimum); 452 4.5.3 above it
max_hops = 100                  # Received: fields before 554 5.4.6 (mail loop, RFC 5321 6.3)
soft_errors = 10                # client errors after which each reply is delayed
hard_errors = 20                # client errors after which 421 4.7.0 and close
junk_commands = 100             # NOOP/RSET/VRFY/HELP without mail before 421
unknown_recipients = 20         # 550 5.1.1 replies before 421 (dictionary attack)
messages_per_connection = 100   # MAIL transactions per connection
command_timeout_s = 300         # per command line, not extended by trickled bytes (slowloris)
data_timeout_s = 3600           # absolute cap on one DATA phase
min_data_rate = 500             # bytes/s a client must sustain in DATA
error_delay_ms = 1000           # tarpit per error past soft_errors, and after each failed AUTH
max_connections = 1000          # total; 421 4.7.0 at connect above it
max_connections_per_ip = 20     # per client address; 421 4.7.0 at connect above it

[greeting]                      # MX only: postscreen-style pause before the 220 banner
delay_ms = 3000                 # spam tools that talk first are refused (554 5.5.0) and scored; 0 disables
remember_s = 86400              # a client that waited once is not delayed again for this long

[ratelimit]                     # token buckets; 0 disables one
connections_per_minute_per_ip = 60
messages_per_hour_per_ip = 1000         # unauthenticated (MX) mail per client address; 450 4.7.1
recipients_per_hour_per_ip = 5000       # 452 4.5.3
messages_per_hour_per_user = 500        # authenticated users (outbound); a hijacked account is capped
recipients_per_hour_per_user = 2000
auth_per_minute_per_ip = 10             # AUTH attempts; 421 4.7.0 above it

[ban]                           # built-in fail2ban: the source address is banned, never the account
enabled = true
threshold = 5                   # points within window_s: a failed AUTH is 1, early talking 2.5,
window_s = 600                  # smuggling or HTTP on the SMTP port 5, an unknown recipient 0.25
duration_s = 3600               # first ban; doubles for each repeat, up to max_duration_s
max_duration_s = 604800
ipv4_prefix = 32                # one IPv4 host
ipv6_prefix = 64                # one IPv6 /64 (a single customer's network)
allowlist = []                  # never banned (relay.trusted_networks are never banned either)

[server]
threads = 0                     # event loops; 0: one per CPU core
)";
}

}  // namespace mailfort::config
