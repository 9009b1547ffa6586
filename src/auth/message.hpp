// auth/message.hpp: [pure] split an RFC 5322 message into its header fields and body, for DKIM, DMARC and
// Authentication-Results handling.
// SPDX-License-Identifier: MIT
// Untrusted input: the message as received (CRLF line ends, as the spool stores it). Bounded: at most
// `max_fields` fields are returned; a header section that is not well formed is reported, not guessed at.
// The views point into the caller's buffer, which must outlive them.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::auth {

struct header_field {
  std::string_view name;   // as written, without the colon or trailing whitespace before it
  std::string_view value;  // everything after the colon, folding CRLFs included, without the final CRLF
  std::string_view raw;    // the whole field: name, colon, value, without the final CRLF
  std::size_t offset = 0;  // of raw within the message
};

struct parsed_message {
  std::vector<header_field> fields;
  std::size_t body_offset = 0;  // first byte after the empty line (== size when there is no body)
  bool has_separator = false;   // the empty line between header and body was seen
};

enum class parse_error { too_many_fields, malformed_field };

struct parse_result {
  std::optional<parsed_message> message;
  parse_error error = parse_error::malformed_field;  // valid when !message
};

// A field line is `name ":" value` where name is 1..998 printable US-ASCII characters except ':'
// (RFC 5322 2.2); continuation lines begin with SP or HTAB. Bare LF is accepted as a line end only where
// the spool never produces it, so it is treated as malformed here rather than normalised.
parse_result parse_message(std::string_view msg, std::size_t max_fields = 1000);

// Case-insensitive ASCII comparison of field names.
bool name_equals(std::string_view a, std::string_view b);

// The value with folding removed (CRLF followed by WSP becomes the WSP) and outer whitespace trimmed.
std::string unfold(std::string_view value);

}  // namespace mailfort::auth
