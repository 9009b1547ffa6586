// auth/spf.hpp: RFC 7208 SPF evaluation: check_host() over dns::source, the MAIL FROM / HELO wrappers, Received-SPF.
// SPDX-License-Identifier: MIT
// Untrusted input: everything. The client address, HELO and MAIL FROM come from the SMTP client; records,
// explanation text and every name a lookup returns come from DNS the sender controls. Limits (4.6.4):
// at most 10 DNS-querying terms (include, a, mx, ptr, exists, redirect) per check, counted across includes
// and redirects, so include/redirect loops end in permerror; at most 2 void lookups (NXDOMAIN or no
// answer); at most 10 MX names per mx and 10 PTR names per ptr / %{p}; expansion output bounded. The exp=
// lookup is not counted (4.6.4: it happens "at a later time") and any problem with it only drops the text.
// Never blocks: every lookup is a co_await on dns::source (the libunbound resolver in production).
// Choices where RFC 7208 leaves a gap: a target-name that is not a valid DNS name after expansion (empty or
// long label) is treated as a name that does not exist (4.3 by analogy; the suite accepts fail or
// permerror); a DNS error on the PTR query or on one name's address query skips that name (5.5); a null
// MX ("." , RFC 7505) has no addresses; %{i} for IPv6 uses lower-case nibbles, as RFC 7208 7.4 shows.
// Not done: the deprecated SPF RR type (99) is never queried (RFC 7208 3.1), and no DNS result caching
// beyond what dns::source does.
#pragma once
#include "auth/spf_record.hpp"
#include "dns/source.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::auth::spf {

inline constexpr int max_dns_terms = 10;            // 4.6.4/1
inline constexpr int max_void_lookups = 2;          // 4.6.4/7
inline constexpr int max_mx_names = 10;             // 4.6.4/2
inline constexpr int max_ptr_names = 10;            // 4.6.4/3
inline constexpr std::size_t max_expansion = 8192;  // output of one macro-string expansion

enum class result_code : std::uint8_t { none, neutral, pass, fail, softfail, temperror, permerror };
const char* to_string(result_code c);
std::optional<result_code> result_code_from_string(std::string_view s);

// The inputs of check_host() (RFC 7208 4.1) plus what macros need.
struct request {
  ip_address ip;
  std::string domain;                 // <domain>: the MAIL FROM domain, or the HELO name
  std::string sender;                 // <sender>: local-part "@" domain (local-part "postmaster" if none)
  std::string helo;                   // %{h}
  std::string receiver = "unknown";   // %{r}: our host name, explanation text only
  std::int64_t now = 0;               // %{t}; 0: the current time
  std::string identity = "mailfrom";  // "mailfrom" or "helo", for Received-SPF
};

struct result {
  result_code code = result_code::none;
  std::string explanation;  // the expanded exp= text, only for fail (empty: none or unusable)
  std::string mechanism;    // the matched term as written ("-all", "include:_spf.example.com"); empty if none
  std::string domain;       // the domain checked (<domain> of the request)
  std::string reason;       // one line for logs and the Received-SPF comment (printable ASCII)
  int dns_lookups = 0;      // DNS-querying terms evaluated (include, a, mx, ptr, exists, redirect)
  int void_lookups = 0;
  std::string sender;    // <sender> as checked
  std::string identity;  // "mailfrom" or "helo"
};

// check_host() (RFC 7208 4). `req` must outlive the coroutine.
boost::asio::awaitable<result> check_host(dns::source& dns, const request& req);

// MAIL FROM identity (2.4): <sender> = mail_from, or "postmaster@<helo>" for the null sender ("" or "<>");
// a missing local-part becomes "postmaster" (4.3).
boost::asio::awaitable<result> check_mail_from(dns::source& dns, ip_address ip, std::string helo, std::string mail_from,
                                               std::string receiver = "unknown");
// HELO identity (2.3): <domain> = helo, <sender> = "postmaster@<helo>"; none for a domain literal or a name
// that is not a multi-label FQDN.
boost::asio::awaitable<result> check_helo(dns::source& dns, ip_address ip, std::string helo,
                                          std::string receiver = "unknown");

// Macro expansion (7) with the values already known; `ptr_name` is %{p} ("unknown" when nothing
// validates), which costs DNS lookups and is computed by the evaluator only when a string uses it.
struct macro_context {
  std::string_view sender;
  std::string_view domain;
  ip_address ip;
  std::string_view helo;
  std::string_view receiver = "unknown";
  std::string_view ptr_name = "unknown";
  std::int64_t now = 0;
};
// nullopt on a syntax error (or c/r/t outside explanation text) or output over max_expansion.
std::optional<std::string> expand_macros(std::string_view s, const macro_context& ctx, bool explanation);

// 7.3: an expanded name over 253 octets loses labels from the left until it fits.
std::string truncate_domain(std::string name);

// The value of a Received-SPF header field (RFC 7208 9.1), without the field name, e.g.
// `pass (example.org: 192.0.2.1 is permitted by include:_spf.example.org) client-ip=192.0.2.1;
//  envelope-from="a@example.org"; helo=mx.example.org; receiver=mx.example.net; identity=mailfrom`.
std::string format_received_spf(const result& r, const ip_address& ip, std::string_view helo,
                                std::string_view receiver);

}  // namespace mailfort::auth::spf
