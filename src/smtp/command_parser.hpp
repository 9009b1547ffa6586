// smtp/command_parser.hpp: [pure] split untrusted bytes into command lines and recognise the verb.
// SPDX-License-Identifier: MIT
// Untrusted input: every byte a client sends outside DATA. RFC 5321 2.3.8 and 4.1.1: a line ends only with
// CRLF. A bare LF or a CR not followed by LF inside a command line rejects the whole line, which still
// ends only at the next CRLF (never two commands out of one line: SMTP smuggling and command injection). Lines over the
// limit are reported once and then discarded up to the next LF, within a byte budget. Never throws, never allocates
// past the limits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailfort::smtp {

enum class line_status : std::uint8_t {
  need_more,        // all input consumed, no complete line yet
  line,             // a complete CRLF-terminated line is available in line() (CRLF stripped)
  bad_line_ending,  // a line containing a bare LF or bare CR was consumed up to its CRLF; reply 500
  too_long,         // the line passed max_line octets; reported once, rest discarded to the next LF; reply 500
  overflow,         // more than max_discard bytes without any LF: caller replies 421 and closes
};

class line_reader {
 public:
  // max_line counts the CRLF (512 for commands, RFC 5321 4.5.3.1.4); max_discard bounds an over-long line.
  explicit line_reader(std::size_t max_line = 512, std::size_t max_discard = 64 * 1024);

  struct result {
    line_status status;
    std::size_t consumed;  // bytes of `in` used; call again with the rest
  };
  // Consume from `in` until one status other than need_more is reached, or all input is used.
  result feed(std::string_view in);
  // The last complete line (valid after status == line until the next feed()).
  std::string_view line() const { return line_; }
  // Forget any partial line (used after STARTTLS: nothing buffered before the handshake survives).
  void reset();
  // True when a partial line is buffered (bytes received but no line end yet).
  bool has_partial() const { return (!complete_ && !line_.empty()) || discarding_ || pending_cr_; }

 private:
  std::size_t max_line_;
  std::size_t max_discard_;
  std::string line_;
  bool complete_ = false;
  bool pending_cr_ = false;  // last byte seen was CR
  bool bad_ = false;         // a bare CR was seen in this line
  bool discarding_ = false;  // over-long line being thrown away
  std::size_t discarded_ = 0;
};

enum class verb : std::uint8_t {
  helo,
  ehlo,
  mail,
  rcpt,
  data,
  bdat,
  rset,
  noop,
  quit,
  help,
  vrfy,
  expn,
  starttls,
  auth,
  xclient,  // XCLIENT / XFORWARD: never honoured for untrusted clients
  proxy,    // "PROXY TCP4 ..." (HAProxy protocol line) from an untrusted client
  http,     // GET/POST/HEAD/PUT/CONNECT/OPTIONS, "Host:" or other header-like lines, USER/PASS (POP/IMAP)
  unknown,  // anything else that looks like a word
  invalid,  // NUL, 8-bit or control bytes in the line, or an empty line
};

struct command {
  enum verb verb = verb::invalid;
  std::string_view name;  // the verb as sent
  std::string_view args;  // everything after the verb and one separating space (may be empty)
};

// Classify one command line (without its CRLF). Views point into `line`.
command parse_command(std::string_view line);

const char* verb_name(verb v);

}  // namespace mailfort::smtp
