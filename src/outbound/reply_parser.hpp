// outbound/reply_parser.hpp: [pure] incremental parser of SMTP server replies, for the client side, and EHLO keywords.
// SPDX-License-Identifier: MIT
// Untrusted input: every byte a remote SMTP server (or anything listening on port 25) sends us. RFC 5321 4.2:
// a reply is one or more lines "CODE-text" ending with one "CODE text" (or a bare "CODE"), every line with the
// same three-digit code. A hostile or broken server may never send the final line, send lines shorter than a
// code ("25\r\n"), non-digit codes, mixed codes, or megabytes of text (spec/bad-inputs.md item 56), so the
// parser bounds line length and line count and reports any violation as a sticky protocol error: the caller
// drops the connection and defers the message (temporary failure), it never guesses what the server meant.
// Line ends: CRLF, and a bare LF is tolerated (the CR before it, if any, is stripped). Being lenient here
// costs nothing, because the reply text is never re-parsed by another SMTP party: the message is deferred or
// bounced, and remote text goes into logs, DSNs and the queue only through printable() (OpenSMTPD
// CVE-2020-8794 came from writing raw remote text into the queue). A bare CR inside a line is kept as a
// byte of the text and escaped by printable().
// Not handled: the text is not decoded (RFC 6531 UTF-8 text stays bytes); 1yz codes are rejected (SMTP has none).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::outbound {

// RFC 3463 class.subject.detail, e.g. 5.7.1. Only taken from the first line, and only when its class equals
// the reply's first digit (RFC 2034 3: a mismatch means the server does not really speak ENHANCEDSTATUSCODES).
struct enhanced_status {
  std::uint8_t klass = 0;     // 2, 4 or 5
  std::uint16_t subject = 0;  // 0..999
  std::uint16_t detail = 0;   // 0..999
  bool operator==(const enhanced_status&) const = default;
};
std::string to_string(const enhanced_status& e);  // "5.7.1"

struct server_reply {
  int code = 0;  // 200..599
  std::optional<enhanced_status> enhanced;
  std::vector<std::string> lines;  // text after "CODE-" / "CODE " (may be empty), raw bytes, line end removed

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
};

enum class reply_status : std::uint8_t {
  need_more,  // all input consumed without completing a reply
  reply,      // a complete reply is available from get() (more input may follow: pipelining)
  error,      // protocol error (see error()); sticky until reset(): drop the connection, defer the message
};

enum class reply_error : std::uint8_t {
  none,
  short_line,      // fewer than three bytes before the line end ("25")
  bad_code,        // not three digits, or outside 200..599
  bad_separator,   // the fourth byte is neither ' ' nor '-' ("250x")
  mixed_codes,     // a continuation line with another code than the first line
  line_too_long,   // a line longer than limits::max_line bytes (line end included)
  too_many_lines,  // no final line within limits::max_lines lines
};
const char* to_string(reply_error e);

struct reply_limits {
  // RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers exceed it (long AUTH lists, banners),
  // so be lenient up to a bound that still keeps one reply under max_line * max_lines (200 KiB).
  std::size_t max_line = 2048;
  std::size_t max_lines = 100;
};

class reply_parser {
 public:
  explicit reply_parser(reply_limits limits = {});

  struct result {
    reply_status status;
    std::size_t consumed;  // bytes of the input used; feed the rest again after handling a reply
  };
  // Consumes input until one reply completes, an error is found, or the input is used up.
  result feed(std::string_view in);
  // The last complete reply (valid after status == reply until the next feed()).
  const server_reply& get() const { return done_; }
  reply_error error() const { return error_; }
  // True while bytes of an unfinished reply are buffered. After the 220 reply to STARTTLS the client must
  // also have no unconsumed input: any byte the server sent before the handshake is an injection attempt
  // (CVE-2011-0411 class) and the client aborts STARTTLS.
  bool has_partial() const { return !line_.empty() || !current_.lines.empty(); }
  // Forget all state (after the TLS handshake nothing from the plaintext phase survives).
  void reset();

 private:
  bool finish_line();  // false on error (error_ set)

  reply_limits limits_;
  std::string line_;      // the line being received, without its line end
  server_reply current_;  // the reply being assembled
  server_reply done_;
  reply_error error_ = reply_error::none;
};

// Parses a complete reply from a buffer holding exactly one reply (tests, the auditor's canned replies).
// nullopt when it is malformed, incomplete, or followed by more bytes.
std::optional<server_reply> parse_reply(std::string_view wire, reply_limits limits = {});

// Remote text made safe for logs, DSNs and the queue: printable ASCII kept, every other byte (CR, LF, NUL,
// controls, 8-bit) becomes \xHH, and backslash becomes \\; cut at max_len output bytes with "...".
std::string printable(std::string_view text, std::size_t max_len = 512);

// What a 250 reply to EHLO announces (RFC 5321 4.1.1.1: the first line is the server's name, then one
// keyword per line, keyword and parameters separated by spaces, keywords case-insensitive).
struct ehlo_capabilities {
  std::string server_name;           // the first word of the first line (raw)
  bool pipelining = false;           // RFC 2920
  bool size = false;                 // RFC 1870
  std::uint64_t size_limit = 0;      // 0: no fixed limit announced (or an unparsable one)
  bool eightbitmime = false;         // RFC 6152
  bool smtputf8 = false;             // RFC 6531
  bool starttls = false;             // RFC 3207
  bool chunking = false;             // RFC 3030
  bool binarymime = false;           // RFC 3030
  bool enhancedstatuscodes = false;  // RFC 2034
  bool dsn = false;                  // RFC 3461
  bool requiretls = false;           // RFC 8689
  std::vector<std::string> auth;     // RFC 4954 mechanisms, upper-cased, deduplicated ("AUTH=" form too)
  std::vector<std::string> unknown;  // other keyword lines, raw (keyword + parameters), at most max_unknown

  bool has_auth(std::string_view mechanism) const;  // case-insensitive
};
// nullopt unless the reply code is 250. Bounded: at most 64 AUTH mechanisms and 64 unknown lines are kept.
std::optional<ehlo_capabilities> parse_ehlo(const server_reply& r);

}  // namespace mailfort::outbound
