// report/tlsrpt.hpp: [pure] SMTP TLS Reporting (RFC 8460): the _smtp._tls TXT record and the aggregate JSON report.
// SPDX-License-Identifier: MIT
// Untrusted input: the TXT record (anyone's DNS zone) and, inside the report, strings that came from the
// destination (MTA-STS policy lines, MX host names). The record parser is bounded (4 KiB record, 16 rua
// URIs, 1 KiB each), never throws, and returns nullopt for anything malformed. The JSON builder never
// throws either: bytes that are not UTF-8 are replaced (U+FFFD), every string is escaped by nlohmann::json.
// RFC 8460 3: "v=TLSRPTv1" must be the first field, rua is required (comma-separated URIs, mailto: or
// https:), unknown extension fields are ignored, a record with two rua fields is invalid. Of the TXT
// records at _smtp._tls.<domain>, those not starting with "v=TLSRPTv1" are ignored; more than one that
// does means no record (RFC 8460 3: "If multiple TXT records ... are returned, ... no reports").
// Decision: the policy domain of a DANE session is the recipient domain (where the report is sent), and
// its mx-host is the MX host whose TLSA records applied; its policy-string is the TLSA records as text.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::report {

inline constexpr std::size_t tlsrpt_max_record = 4096;
inline constexpr std::size_t tlsrpt_max_rua = 16;
inline constexpr std::size_t tlsrpt_max_uri = 1024;

// ---- TXT record (RFC 8460 3) ----
struct tlsrpt_record {
  std::vector<std::string> rua;  // URIs as written (whitespace trimmed), at least one
};
// One TXT record (its character-strings joined).
std::optional<tlsrpt_record> parse_tlsrpt_record(std::string_view txt);
// All TXT records of _smtp._tls.<domain>: the one TLSRPTv1 record, nullopt for none, several or a malformed one.
std::optional<tlsrpt_record> select_tlsrpt_record(const std::vector<std::string>& txts);
// "_smtp._tls.<domain>"
std::string tlsrpt_txt_name(std::string_view domain);
// The address of a "mailto:" rua URI (scheme case-insensitive, %XX decoded, "?query" dropped): one
// local@domain with printable ASCII only and none of <>()[],;:"\ or space; nullopt otherwise.
std::optional<std::string> tlsrpt_mailto(std::string_view uri);

// ---- sessions and the report (RFC 8460 4) ----
// One counted TLS session outcome; the store keeps one row (with a count) per distinct value.
struct tlsrpt_session {
  std::string policy_domain;               // the recipient domain
  std::string policy_type;                 // "sts" | "tlsa" | "no-policy-found"
  std::vector<std::string> policy_string;  // MTA-STS policy lines / TLSA records as text; empty for no-policy-found
  std::vector<std::string> mx_host;        // MTA-STS mx patterns / the DANE MX host
  std::string result_type;                 // "" = a successful TLS session; else an RFC 8460 4.3 result type
  std::string sending_ip;                  // failure details (empty when not known)
  std::string receiving_mx;
  std::string receiving_ip;
  std::string additional_info;  // our own short reason text
  bool operator==(const tlsrpt_session&) const = default;
};

struct tlsrpt_row {
  tlsrpt_session s;
  std::int64_t count = 0;
};

struct tlsrpt_report_input {
  std::string organization;  // organization-name
  std::string contact;       // contact-info
  std::string report_id;
  std::int64_t start = 0;  // unix seconds, date-range
  std::int64_t end = 0;
  std::vector<tlsrpt_row> rows;  // rows of one policy domain; grouped here by policy
};

// Result types of RFC 8460 4.3 (and "" for success). Anything else is reported as "validation-failure".
bool tlsrpt_known_result(std::string_view result_type);
// "2026-12-04T00:00:00Z"
std::string tlsrpt_datetime(std::int64_t unix_seconds);
// The report as JSON (RFC 8460 4.4): one policies[] entry per distinct (type, policy-string, domain, mx-host),
// summary counts summed from the rows (negative counts count as 0, sums saturate), failure-details merged
// per (result-type, sending-mta-ip, receiving-mx-hostname, receiving-ip, additional-information).
std::string build_tlsrpt_json(const tlsrpt_report_input& in);

}  // namespace mailfort::report
