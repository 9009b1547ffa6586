// queue/dsn.hpp: [pure] delivery status notifications (RFC 3464 bounces) for the envelope sender.
// SPDX-License-Identifier: MIT
// Builds a multipart/report; report-type=delivery-status message (RFC 6522): a human-readable part, the
// machine-readable message/delivery-status part, and the original message's header section
// (text/rfc822-headers: enough to identify the message without reflecting its body, so a bounce cannot be
// used to relay content to a forged sender). Sent from the null sender (RFC 5321 4.5.5: a DSN never causes
// another DSN), and never TO the null sender (should_bounce()).
// Untrusted input: the remote server's reply text and the addresses. Every value that goes into a header
// or a DSN field passes through printable() (outbound/reply_parser.hpp semantics: CR, LF, controls and 8-bit
// bytes become \xHH), so a hostile reply cannot add header fields or MIME parts; the MIME boundary is chosen
// so that it appears nowhere in the returned headers.
// Delay notices ("Action: delayed") are sent by the scheduler once per recipient when queue.delay_warning_s
// is set. Not handled: RET/ENVID/NOTIFY/ORCPT (RFC 3461) from the original transaction (none are stored),
// internationalised DSNs (RFC 6533).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::queue {

struct dsn_recipient {
  std::string address;            // the final recipient
  std::string action = "failed";  // "failed" or "delayed"
  std::string status;             // RFC 3463 code, e.g. "5.1.1"
  std::string remote_mta;         // host name of the server that answered; empty when none did
  std::string diagnostic;  // the remote reply ("550 5.1.1 no such user") or our reason; raw, quoted by the builder
  bool remote =
      false;  // diagnostic is an SMTP reply from remote_mta (Diagnostic-Code: smtp;) vs our text (X-Mailfort;)
};

struct dsn_input {
  std::string reporting_mta;  // our host name
  std::string sender;         // the original envelope sender (the DSN's recipient)
  std::string queue_id;       // the original message's queue id
  std::int64_t arrival = 0;   // unix seconds the original was received
  std::int64_t now = 0;       // unix seconds
  std::vector<dsn_recipient> recipients;
  std::string_view original;  // the original message (only its header section is returned)
};

// A DSN goes only to a non-null sender (RFC 5321 4.5.5, RFC 3464 2).
bool should_bounce(std::string_view sender);

// The complete DSN message (header + body, CRLF line ends), ready to queue with sender "" and recipient
// input.sender.
std::string build_dsn(const dsn_input& in);

// A value made safe for one header or DSN field: printable ASCII kept, \ escaped, everything else \xHH,
// cut at max_len with "...".
std::string dsn_quote(std::string_view raw, std::size_t max_len = 900);

}  // namespace mailfort::queue
