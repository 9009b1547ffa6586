// audit/finding.hpp: [pure] one finding of `mailfort audit`: severity, control area, evidence and how to fix it.
// SPDX-License-Identifier: MIT
// A finding says what is wrong (title), what was observed (evidence: may hold remote text, so every renderer
// escapes it), which host/record it applies to (subject) and how to fix it in mailfort, Postfix and Exim terms.
// Severities follow the usual five levels; the CLI's --fail-on compares against them (exit code 1 at or above).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::audit {

enum class severity : std::uint8_t { info, low, medium, high, critical };
const char* to_string(severity s);                           // "info" .. "critical"
std::optional<severity> parse_severity(std::string_view s);  // case-insensitive

// The control a finding violates. The names are part of the JSON schema (docs/audit.md): extend, never rename.
enum class control_area : std::uint8_t {
  tls,          // STARTTLS offered/required, protocol versions, ciphers, STARTTLS injection
  certificate,  // chain, hostname, expiry
  auth,         // AUTH before TLS, AUTH on port 25, submission port roles
  relay,        // open relay
  disclosure,   // banner software/version, VRFY/EXPN user enumeration
  protocol,     // SMTP smuggling, early talkers, SIZE, pipelining
  dns,          // MX / null MX, A/AAAA, PTR and forward-confirmed rDNS, DNSBL listings
  spf,
  dkim,
  dmarc,
  mta_sts,
  tls_rpt,
  dane,
  config,  // mailfort configuration (audit config)
};
inline constexpr int control_area_count = 14;
const char* to_string(control_area a);  // "tls", "mta-sts", "tls-rpt", ...
const char* describe(control_area a);   // "Transport encryption (STARTTLS, TLS versions)"
std::optional<control_area> parse_control_area(std::string_view s);

struct fix_text {
  std::string mailfort;  // config key / command
  std::string postfix;   // main.cf / master.cf
  std::string exim;      // exim.conf
};

struct finding {
  std::string id;  // stable machine id, e.g. "tls.version.tls1_0"
  severity sev = severity::info;
  control_area area = control_area::tls;
  std::string title;     // one line, our text
  std::string subject;   // "127.0.0.1:25", "mx1.example.org", "_dmarc.example.org"
  std::string evidence;  // what was observed (may contain remote text: renderers escape it)
  fix_text fix;
};

}  // namespace mailfort::audit
