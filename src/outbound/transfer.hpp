// outbound/transfer.hpp: [pure] the bytes of an outbound SMTP transaction: MAIL/RCPT lines, dot-stuffed DATA, AUTH
// PLAIN. SPDX-License-Identifier: MIT Input: our own queue (addresses were validated when the message was accepted) and
// the peer's EHLO capabilities. Still defensive: an address holding CR, LF or NUL is refused (nullopt), so no queued
// value can ever inject a command line.
// RFC 5321 4.5.2 (transparency: a line starting with "." gets another "."), 4.1.1.2 (MAIL), RFC 1870
// (SIZE=), RFC 6152 (BODY=8BITMIME), RFC 6531 (SMTPUTF8), RFC 4616 (PLAIN).
// Not handled: DSN parameters (RET/ENVID/NOTIFY/ORCPT, RFC 3461), BDAT.
#pragma once
#include "outbound/reply_parser.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::outbound {

// Does this transaction need the SMTPUTF8 extension? (the envelope asked for it, or an address is not ASCII)
bool needs_smtputf8(bool envelope_flag, std::string_view sender, const std::vector<std::string>& recipients);

// "MAIL FROM:<sender> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8]", parameters only where the peer announced them.
std::optional<std::string> mail_command(std::string_view sender, std::uint64_t size, bool eight_bit, bool smtputf8,
                                        const ehlo_capabilities& caps);
std::optional<std::string> rcpt_command(std::string_view recipient);

// The message as sent after 354: every line beginning with "." gets one more, a missing final CRLF is
// added, then ".\r\n". Line ends are left as they are (the queue holds CRLF-only messages).
std::string dot_stuff(std::string_view message);

// "AUTH PLAIN <base64(\0user\0password)>" (initial response, RFC 4954 4).
std::string auth_plain_command(std::string_view user, std::string_view password);

// Is the message 8-bit (any byte >= 0x80)? Used when the envelope's body type is unknown.
bool has_8bit(std::string_view message);

}  // namespace mailfort::outbound
