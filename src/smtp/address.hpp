// smtp/address.hpp: [pure] RFC 5321 paths (MAIL FROM / RCPT TO) and ESMTP parameters.
// SPDX-License-Identifier: MIT
// Untrusted input: the argument of MAIL and RCPT. Grammar: RFC 5321 4.1.2 (Path, Mailbox, Local-part,
// Domain, address-literal), limits 4.5.3.1 (local part 64, domain 255, path 256 octets), RFC 6531 for
// UTF-8 (SMTPUTF8). Relay tricks (percent hack, bang paths, quoted "@", source routes, trailing dots,
// address literals) are parsed faithfully and *flagged*, so the relay policy can refuse them explicitly.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailfort::smtp {

enum class addr_error : std::uint8_t {
  ok,
  syntax,           // not "FROM:<...>" / "TO:<...>", bad characters, unbalanced quotes... (501 5.5.4 / 5.1.3 / 5.1.7)
  local_too_long,   // local part > 64 octets (501 5.1.3 RCPT / 5.1.7 MAIL "Path too long")
  domain_too_long,  // domain > 255 octets
  path_too_long,    // path > 256 octets
  multiple_at,      // unquoted local@host@host: a relay trick, refused as relay (550 5.7.1)
  needs_smtputf8,   // 8-bit bytes; allowed only if the MAIL command declared SMTPUTF8 (553 5.6.7)
  invalid_utf8,     // 8-bit bytes that are not valid UTF-8 (501 / 553)
  bad_parameter,    // malformed ESMTP parameter list (501 5.5.4)
  parameter_too_long,  // a parameter value over 1000 octets (501 5.5.4)
};

struct mailbox {
  std::string local;             // as sent, quotes removed from a quoted-string local part ("a b"@x -> a b)
  std::string domain;            // as sent (not lower-cased); for literals, the text inside [ ]
  bool quoted = false;           // local part was a quoted-string
  bool address_literal = false;  // domain was [1.2.3.4] or [IPv6:...]
  bool trailing_dot = false;     // domain ended with '.' (stripped from `domain`)
  bool has_8bit = false;         // any byte >= 0x80 in local or domain
  // Relay-trick flags on the local part: '%' (percent hack), '!' (bang path), '@' inside quotes.
  bool has_percent = false;
  bool has_bang = false;
  bool has_quoted_at = false;
  std::string address() const;  // local@domain (quoted local part re-quoted if needed); empty for null path
};

struct esmtp_param {
  std::string keyword;  // upper-cased
  std::string value;    // raw (xtext not decoded); empty when there was no '='
  bool has_value = false;
};

struct path {
  bool null = false;          // "<>" (MAIL only)
  bool source_route = false;  // "<@a,@b:user@d>": route stripped per RFC 5321 appendix C
  bool postmaster = false;    // "<postmaster>" without domain (RCPT only, RFC 5321 4.5.1)
  mailbox box;
  std::vector<esmtp_param> params;
};

struct path_result {
  addr_error error = addr_error::ok;
  path value;
};

// args: the text after the verb, e.g. "FROM:<a@b> SIZE=10" (a space after the colon is tolerated, as
// Postfix does). smtputf8: whether 8-bit addresses are allowed (the MAIL carries SMTPUTF8, or the
// transaction declared it). For MAIL, the SMTPUTF8 parameter in the same command counts.
path_result parse_mail_from(std::string_view args);
path_result parse_rcpt_to(std::string_view args, bool smtputf8);

// Parse "K=V K2 K3=V3": keywords are 1*(ALPHA/DIGIT/"-") starting with ALPHA/DIGIT, values are
// 1*(%d33-60 / %d62-126) (RFC 5321 4.1.2 esmtp-value). Values over 1000 octets are parameter_too_long.
addr_error parse_params(std::string_view text, std::vector<esmtp_param>& out);

// RFC 5321 Domain or address literal check for EHLO/HELO arguments: returns true if acceptable.
bool valid_helo_name(std::string_view s);

// Is this valid UTF-8 (no overlongs, no surrogates, no code points past U+10FFFF)?
bool valid_utf8(std::string_view s);

}  // namespace mailfort::smtp
