// smtp/data_reader.hpp: [pure] the DATA phase: end-of-data detection, dot-unstuffing, content limits.
// SPDX-License-Identifier: MIT
// Untrusted input: every byte after the 354 reply. The only end of data is <CRLF>.<CRLF> (RFC 5321 4.1.1.4);
// the reader starts as if it had just seen CRLF, so "." at the very start ends an empty message. Any bare
// CR or bare LF is an error (SMTP smuggling: CVE-2023-51764/51765/51766): the first error is recorded,
// nothing more is stored, but the reader keeps scanning for the real <CRLF>.<CRLF> so that the bytes behind
// a fake terminator are swallowed as content and never read as commands. Dot-unstuffing is exact
// (RFC 5321 4.5.2). Stored content keeps CRLF line ends. Content may not begin with SP or HTAB: a header section
// cannot (RFC 5322 2.2.3: that is a folded continuation), and prepended to it our Received: would absorb the line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailfort::smtp {

enum class data_error : std::uint8_t {
  none,
  bare_lf,           // LF not preceded by CR (550 5.5.2)
  bare_cr,           // CR not followed by LF (550 5.5.2)
  nul,               // a NUL byte: never valid in SMTP text (RFC 5321 2.3.8); used in smuggling variants (550 5.5.2)
  line_too_long,     // a text line over max_line octets incl. CRLF (500 5.5.0 / 554 5.6.0, RFC 5321 4.5.3.1.6)
  header_too_large,  // header section over max_header bytes, or one header line over 998 octets (552 5.3.4 / 554 5.6.0)
  too_large,         // content over max_bytes (552 5.3.4)
  too_many_hops,     // max_hops or more Received: header fields (554 5.4.6, RFC 5321 6.3)
  leading_whitespace,  // the first byte is SP or HTAB: it would fold into our own Received: field (550 5.6.0)
};

struct data_limits {
  std::size_t max_bytes = 25u * 1024 * 1024;  // stored content (after unstuffing)
  std::size_t max_line = 1000;                // octets including CRLF
  std::size_t max_header = 256 * 1024;        // header section bytes
  std::size_t max_hops = 100;                 // Received: count that is refused
};

enum class data_status : std::uint8_t { need_more, done };

class data_reader {
 public:
  explicit data_reader(data_limits limits);

  struct result {
    data_status status;
    std::size_t consumed;  // bytes of `in` used; after done, the rest of `in` is the next command
  };
  // Append unstuffed content to `out` until the real end of data. After an error nothing more is
  // appended, but input is still consumed up to <CRLF>.<CRLF>.
  result feed(std::string_view in, std::string& out);

  data_error error() const { return error_; }
  std::size_t content_bytes() const { return stored_; }  // bytes stored (or that would have been)
  std::size_t received_count() const { return received_; }
  bool in_header() const { return in_header_; }
  // A dot line bounded by a bare LF was seen (a fake end of data: smuggling, not just sloppy line ends).
  bool fake_end() const { return fake_end_; }

 private:
  void fail(data_error e);
  data_limits limits_;
  data_error error_ = data_error::none;
  // Scanner state: position relative to line starts.
  int state_ = 0;
  std::size_t line_len_ = 0;  // octets in the current line so far (before CRLF)
  std::size_t stored_ = 0;
  std::size_t header_bytes_ = 0;
  std::size_t received_ = 0;
  bool in_header_ = true;
  std::string header_name_;   // first bytes of the current header line, to count Received:
  std::uint32_t recent_ = 2;  // the last four byte classes (see feed); data starts after a CRLF
  bool fake_end_ = false;
};

const char* data_error_name(data_error e);

}  // namespace mailfort::smtp
