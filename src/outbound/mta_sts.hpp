// outbound/mta_sts.hpp: [pure] MTA-STS (RFC 8461): TXT record, policy file, MX matching and the discovery decision.
// SPDX-License-Identifier: MIT
// Untrusted input: the _mta-sts TXT record (anyone's DNS zone) and the policy body served over HTTPS by the
// recipient domain. Both parsers are bounded (64 KiB policy, 1024 mx lines, 32-char id), never throw, and
// return nullopt for anything malformed. No I/O here: the delivery engine (and `mailfort audit`) does the
// DNS lookup and the HTTPS fetch and hands the outcomes to discover(), which says what to do next.
// Leniency, decided once: policy lines may end in CRLF or LF (RFC 8461 3.2 ABNF allows both) and leading or
// trailing whitespace on a line is ignored (chasquid reads indented bodies; the ABNF has none, but a stray
// space is no attack). Repeated version/mode/max_age fields: the first wins, as for mx every line counts.
// Unknown fields are ignored (RFC 8461 3.2). A line without ':' makes the whole body invalid: it is not a
// policy (an HTML error page, "garbage").
// Internationalised names in mx patterns and MX hosts compare as lower-case A-labels (libidn2, UTS #46).
#pragma once
#include "dns/source.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::outbound {

inline constexpr std::size_t sts_max_policy_size = 64 * 1024;  // RFC 8461 3.3 lets senders cap it; Snawoot: 64 KiB
inline constexpr std::uint64_t sts_max_age_limit = 31557600;   // RFC 8461 3.2: about one year
inline constexpr std::size_t sts_max_mx = 1024;

// ---- TXT record (RFC 8461 3.1) ----
struct sts_record {
  std::string id;  // 1..32 ALPHA/DIGIT
};
// One TXT record (the character-strings joined). v=STSv1 must be the first field; id is required.
std::optional<sts_record> parse_sts_record(std::string_view txt);

// ---- policy (RFC 8461 3.2) ----
enum class sts_mode : std::uint8_t { enforce, testing, none };
const char* to_string(sts_mode m);
std::optional<sts_mode> parse_sts_mode(std::string_view s);  // exact, case-sensitive as in the ABNF

struct sts_policy {
  sts_mode mode = sts_mode::none;
  std::vector<std::string> mx;  // patterns as written ("mail.example.com", "*.example.net")
  std::uint32_t max_age = 0;    // seconds
  bool operator==(const sts_policy&) const = default;
};

// Already-split fields (what the body parser collects, and what the policy_check conformance section gives).
struct sts_policy_fields {
  std::optional<std::string> version;
  std::optional<std::string> mode;
  std::optional<std::uint64_t> max_age;
  std::optional<std::vector<std::string>> mx;
};
// version == "STSv1", mode known, max_age present and <= 31557600, at least one mx unless mode is none.
std::optional<sts_policy> check_policy(const sts_policy_fields& f);
// The policy body as fetched. nullopt when over 64 KiB, not key: value lines, or check_policy() fails.
std::optional<sts_policy> parse_sts_policy(std::string_view body);

// Media type of the policy response: text/plain, any case, with or without parameters (RFC 8461 3.3).
bool sts_content_type_ok(std::string_view content_type);

// RFC 8461 4.1: does an MX host name match one policy mx pattern? "*." matches exactly one leftmost label;
// case-insensitive; one trailing dot on either side ignored; U-labels compared as A-labels. Any name that
// cannot be converted to an A-label matches nothing.
bool mx_matches(std::string_view host, std::string_view pattern);
// True when some mx pattern of the policy matches host.
bool mx_listed(const sts_policy& p, std::string_view host);
// May mail go to host under this policy? Only enforce blocks unlisted hosts; testing and none never block
// (a testing failure is reported, RFC 8460, not enforced).
bool mx_allowed(const sts_policy& p, std::string_view host);

// ---- discovery (RFC 8461 3.3, 5.1) ----
// The policy domain normalised: lower case, one trailing dot removed, no empty labels, at most 253 bytes.
// nullopt means "not a domain MTA-STS can apply to" (no lookup is made).
std::optional<std::string> sts_normalize_domain(std::string_view domain);
// "_mta-sts.<domain>" and "mta-sts.<domain>" (the HTTPS host; the URL is https://<host>/.well-known/mta-sts.txt).
std::string sts_txt_name(std::string_view normalized_domain);
std::string sts_policy_host(std::string_view normalized_domain);
std::string sts_policy_url(std::string_view normalized_domain);

// Outcome of the TXT lookup at _mta-sts.<domain>.
struct sts_txt_answer {
  enum class kind : std::uint8_t { records, no_record, temp_error } k = kind::no_record;
  std::vector<std::string> texts;  // each TXT record's strings joined (kind::records)
};
// From a dns::lookup_result: ok -> records (RDATA that fails to decode is skipped), nxdomain/nodata ->
// no_record, servfail/timeout -> temp_error.
sts_txt_answer txt_answer_from(const dns::lookup_result& r);
// The engine and the auditor look the record up through dns::source themselves:
//   txt_answer_from(co_await src.lookup(sts_txt_name(domain), dns::rr_type::txt))
// (no coroutine in this core: clang 14 cannot build coroutines under -fsanitize=fuzzer + function, see report).

// Outcome of the HTTPS fetch of the policy. The fetcher must not follow redirects (RFC 8461 3.3), must
// verify the certificate against the public roots for sts_policy_host() (certificate_valid), and should
// stop reading after sts_max_policy_size + 1 bytes (set body_truncated).
struct sts_https_response {
  bool connected = true;  // false: connection, TLS or timeout failure (status ignored)
  bool certificate_valid = false;
  int status = 0;  // HTTP status
  std::string content_type;
  std::optional<std::uint64_t> content_length;
  std::string body;
  bool body_truncated = false;
  std::string failure;  // why connected or certificate_valid is false (logs, the auditor)
};

struct sts_cached_policy {
  std::string id;  // the TXT id the policy was fetched under
  sts_policy policy;
  std::int64_t fetched_at = 0;  // unix seconds
  bool expired(std::int64_t now) const { return now >= fetched_at + static_cast<std::int64_t>(policy.max_age); }
};

struct sts_discovery_input {
  std::string domain;                       // the recipient domain as given
  std::optional<sts_txt_answer> txt;        // nullopt: not looked up yet
  std::optional<sts_https_response> https;  // nullopt: not fetched yet
  std::optional<sts_cached_policy> cached;  // the engine's cache entry for this domain, if any
  std::int64_t now = 0;
};

enum class sts_status : std::uint8_t {
  lookup_txt,   // look up sts_txt_name(domain) and call again with txt set
  fetch,        // fetch sts_policy_url(domain) and call again with https set
  valid,        // a policy applies (policy set; from_cache says whether it is the cached one)
  none,         // no MTA-STS for this domain: deliver as without it
  fetch_error,  // a record exists (or DNS failed) but no valid policy could be had and no cache applies
};
const char* to_string(sts_status s);

struct sts_discovery_result {
  sts_status status = sts_status::none;
  std::optional<sts_policy> policy;
  bool from_cache = false;
  bool store_in_cache = false;  // a freshly fetched policy: the engine caches it under record_id
  std::string record_id;        // the TXT id (when a record was found)
  std::string domain;           // normalised
  std::string reason;           // why (for logs and the auditor), never remote text
};

// The pure decision, driven step by step: call with txt/https unset first, perform what status asks,
// call again with the outcome. RFC 8461 5.1: a cached, unexpired policy is used when its id equals the
// record's (no fetch), and whenever the record or the fetch fails; a new record id triggers a fetch.
sts_discovery_result sts_discover(const sts_discovery_input& in);

}  // namespace mailfort::outbound
