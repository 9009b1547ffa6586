// auth/spf_record.hpp: [pure] RFC 7208 SPF record parser (terms, qualifiers, mechanisms, modifiers, macro-strings).
// SPDX-License-Identifier: MIT
// Untrusted input: the TXT record a sender's domain publishes (and the exp= text it points to). Grammar:
// RFC 7208 section 12 (ABNF), 4.6 (record syntax), 5 (mechanisms), 6 (modifiers), 7 (macros). Every syntax
// error anywhere in the record is reported (4.6: "MUST be detected") so the evaluator can return permerror
// before any DNS lookup. Bounded: the record is at most max_record_length octets and parsing is one linear
// pass; nothing throws, nothing does I/O. Domain-specs are validated and kept unexpanded: expansion needs
// the connection (spf.hpp).
// Also here: client-address parsing (an IPv4-mapped IPv6 address is IPv4, RFC 7208 5/9/2) and the
// domain-name checks of 4.3, because both the evaluator and its callers need them.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::auth::spf {

// The longest record parsed: the RDATA bound of one TXT record. Longer input is a permerror, not a truncation.
inline constexpr std::size_t max_record_length = 65535;

enum class qualifier : char { pass = '+', fail = '-', softfail = '~', neutral = '?' };
enum class mechanism_kind : std::uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };

struct ip_address {
  bool v4 = true;
  std::array<std::uint8_t, 16> bytes{};  // v4: the first 4 bytes
  bool operator==(const ip_address&) const = default;
};

struct mechanism {
  qualifier qual = qualifier::pass;
  mechanism_kind kind = mechanism_kind::all;
  std::string domain_spec;  // unexpanded macro-string; empty when none was given (a, mx, ptr use <domain>)
  ip_address network;       // ip4 / ip6 only
  int cidr4 = 32;           // a, mx, ip4
  int cidr6 = 128;          // a, mx, ip6
  std::string text;         // the term as written, for results and logs
};

struct modifier {
  std::string name;   // lower case
  std::string value;  // unexpanded macro-string
};

struct record {
  std::vector<mechanism> mechanisms;
  std::optional<std::string> redirect;  // domain-spec of redirect=
  std::optional<std::string> exp;       // domain-spec of exp=
  std::vector<modifier> unknown;        // unknown modifiers: syntax-checked, otherwise ignored (6/3)
};

struct parse_result {
  std::optional<record> rec;
  std::string error;  // why the record is a permerror, when !rec; printable ASCII only
};

// True when one TXT record's text is an SPF record: "v=spf1" (case-insensitive) followed by SP or the end
// (4.5). Records that are not SPF are none of our business, whatever bytes they hold.
bool is_spf_record(std::string_view txt);

// Parses a record already selected with is_spf_record.
parse_result parse_record(std::string_view txt);

// A macro-string (7.1). `explanation` selects explain-string rules: SP allowed and the c, r, t letters
// allowed (7.3: they are only legal in explanation text).
bool valid_macro_string(std::string_view s, bool explanation);
// A domain-spec: a macro-string that ends in a macro-expand or "." toplabel ["."] (7.1).
bool valid_domain_spec(std::string_view s);

// RFC 7208 4.3 / RFC 1035: labels 1..63 octets (one trailing dot allowed), at most 253 octets without it.
bool valid_dns_name(std::string_view name);
// 4.3 check_host <domain>: a valid DNS name with at least two labels, not a domain literal, and a top
// label that is not all digits (so "1.2.3.4" is refused as well as "[1.2.3.4]").
bool valid_check_domain(std::string_view name);

// "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" (-> IPv4). nullopt for anything else (no ports, no scope).
std::optional<ip_address> parse_ip(std::string_view s);
// "192.0.2.1" / RFC 5952 text ("2001:db8::1").
std::string format_ip(const ip_address& ip);
// True when `ip` is inside network/prefix of the same family.
bool ip_in_network(const ip_address& ip, const ip_address& network, int prefix);

}  // namespace mailfort::auth::spf
