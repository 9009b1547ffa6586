// filter/attachments.hpp: [pure] the built-in attachment policy: a streaming MIME walker that finds every part's
// file name (Content-Disposition filename, Content-Type name; RFC 2231 parameters, continuations and charsets;
// RFC 2047 encoded words) and type, through nested multiparts and attached messages, and says whether one is on
// the blocked list (executables, scripts, disk images, macro-enabled Office files).
// SPDX-License-Identifier: MIT
// Untrusted input: the whole message. Bounded: lines are looked at up to k_max_line bytes (the rest of a longer
// line is skipped), a part's header section up to k_max_part_header bytes, nesting up to max_depth, parts up to
// max_parts; past a bound the walker stops looking and says so (`truncated`), it never guesses or grows.
// Archives (zip, rar, 7z...) are reported, not unpacked. A name's extension is taken as Windows would: after the
// last dot, trailing dots and spaces removed, case folded. A base64 part whose content starts with "MZ" (a
// Windows executable) is blocked whatever its name says.
// Not implemented: detection of other types by content (ELF, scripts), names inside archives, uuencode/BinHex.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::filter {

// The default blocked extensions (without dots).
std::vector<std::string> default_blocked_extensions();

struct attachment {
  std::string name;          // decoded file name (UTF-8 as sent; may be empty)
  std::string content_type;  // lower case type/subtype
  std::string extension;     // lower case, no dot
  bool blocked = false;
  bool archive = false;
  std::string why;  // blocked: "extension", "type" or "executable content"
};

struct attachment_report {
  std::optional<attachment> blocked;  // the first blocked part
  std::vector<attachment> archives;   // archives seen (at most 16 kept)
  std::size_t parts = 0;
  bool truncated = false;  // a bound was reached: parts after it were not looked at
};

class mime_walker {
 public:
  static constexpr std::size_t k_max_line = 4096;
  static constexpr std::size_t k_max_part_header = 64 * 1024;

  mime_walker(const std::vector<std::string>& blocked_extensions, std::size_t max_depth = 32,
              std::size_t max_parts = 2000);
  // The message bytes in order (the header section, then the body), in chunks of any size.
  void feed(std::string_view bytes);
  // End of message; the report.
  attachment_report finish();

 private:
  struct level {
    std::string boundary;  // of the multipart this level is inside
  };
  void line(std::string_view l);  // one line without its CRLF (possibly cut at k_max_line)
  void end_of_part_header();
  void check(attachment a);
  bool blocked_extension(const std::string& ext) const;

  std::vector<std::string> blocked_;
  std::size_t max_depth_;
  std::size_t max_parts_;
  std::string partial_;    // a line not yet complete
  bool skipping_ = false;  // the rest of an over-long line
  bool in_header_ = true;
  std::string header_;  // the current part's header section (unfolded lines joined by "\n")
  bool header_over_ = false;
  std::vector<level> stack_;  // enclosing multiparts, innermost last
  bool body_is_base64_ = false;
  bool first_body_line_ = false;
  std::string pending_name_, pending_type_;  // the part whose body is being looked at (MZ check)
  bool stopped_ = false;
  attachment_report report_;
};

// ---- pieces, exposed for tests ----------------------------------------------------------------------------
// A header field's parameters (RFC 2045 5.1, RFC 2231 3-4): `name` looked up case-insensitively, continuations
// joined, %XX and charset'language' decoded, then RFC 2047 encoded words decoded. nullopt when absent.
std::optional<std::string> mime_parameter(std::string_view field_value, std::string_view name);
// RFC 2047 encoded words (=?charset?B|Q?...?=) decoded (the bytes as sent; no charset conversion).
std::string decode_encoded_words(std::string_view s);
// The extension as Windows sees it ("a.JS. " -> "js"); empty when none.
std::string file_extension(std::string_view name);

}  // namespace mailfort::filter
