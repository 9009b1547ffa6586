// auth/auth_results.hpp: [pure] Authentication-Results (RFC 8601): find and strip fields that claim our
// authserv-id, and format ours.
// SPDX-License-Identifier: MIT
// Untrusted input: every Authentication-Results field of an inbound message. RFC 8601 5 requires a border
// MTA to remove any such field claiming its own authserv-id before adding its own, or a sender could
// forge "dkim=pass" in our name (CVE-2022-48521 class). Matching is deliberately broad: a field whose
// leading authserv-id equals ours (case-insensitive, trailing dot ignored) is removed even when the rest
// of it is malformed; a lookalike such as "mx.example.org.evil" is a different id and is kept.
// The formatter never emits CR/LF/control characters from its inputs, so values cannot inject fields.
#pragma once
#include "auth/message.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::auth {

// The authserv-id of an Authentication-Results value: after optional CFWS, a token (RFC 2045) or a
// quoted-string (unquoted). nullopt when there is none (empty, unterminated comment/quote). Bounded:
// comment nesting <= 32, id <= 255 octets.
std::optional<std::string> authserv_id_of(std::string_view value);

// Indices into msg.fields of the Authentication-Results fields whose authserv-id equals ours.
std::vector<std::size_t> results_claiming(const parsed_message& msg, std::string_view authserv_id);

// The message without the given fields (each with its line end). `msg` must be parse_message(message).
std::string strip_fields(std::string_view message, const parsed_message& msg, const std::vector<std::size_t>& indices);

struct ar_property {
  std::string ptype;     // "smtp", "header", "policy", "body"
  std::string property;  // "mailfrom", "d", "from", ...
  std::string value;     // quoted in the output when it is neither a token nor local-part@domain
};

struct ar_entry {
  std::string method;   // "spf", "dkim", "dmarc"
  std::string result;   // "pass", "fail", "none", ...
  std::string comment;  // written as "(comment)" after the result when not empty
  std::string reason;   // written as reason="..." when not empty
  std::vector<ar_property> properties;
};

using ar_entries = std::vector<ar_entry>;

// "Authentication-Results: <id>; m=r (c) reason=".." p.x=v; ...\r\n", folded so that no line exceeds
// 78 columns unless a single item is longer; "<id>; none" when there are no entries.
std::string format_authentication_results(std::string_view authserv_id, const ar_entries& entries);

}  // namespace mailfort::auth
