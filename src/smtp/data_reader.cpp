// smtp/data_reader.cpp: strict DATA framing (see data_reader.hpp for the contract).
// SPDX-License-Identifier: MIT
#include "smtp/data_reader.hpp"

#include "common/ascii.hpp"

#include <algorithm>
#include <cstring>

namespace mailfort::smtp {

namespace {
// RFC 5322 2.1.1: a header line is at most 998 characters plus CRLF.
constexpr std::size_t k_max_header_line = 1000;

enum st : int {
  line_start = 0,  // just after CRLF (or at the very beginning)
  in_line = 1,
  cr = 2,      // CR seen inside a line; only LF may follow
  dot = 3,     // '.' at line start (removed: dot-unstuffing or the terminator)
  dot_cr = 4,  // ".\r" at line start: LF ends the data
};

bool is_received(const std::string& head) {
  static constexpr std::string_view name = "received";
  if (head.size() < name.size() || !common::iequals(std::string_view(head).substr(0, name.size()), name)) return false;
  for (size_t i = name.size(); i < head.size(); ++i) {
    if (head[i] == ':') return true;
    if (head[i] != ' ' && head[i] != '\t') return false;
  }
  return false;
}
}  // namespace

data_reader::data_reader(data_limits limits) : limits_(limits) {}

void data_reader::fail(data_error e) {
  if (error_ == data_error::none) error_ = e;
}

data_reader::result data_reader::feed(std::string_view in, std::string& out) {
  // stored_ counts every content byte (so content_bytes() reports the real size for the log even after
  // an error); only bytes before the first error, and never more than max_bytes, reach `out`.
  auto store = [&](char c) {
    if (stored_ >= limits_.max_bytes) {
      fail(data_error::too_large);
    } else if (error_ == data_error::none) {
      out.push_back(c);
    }
    ++stored_;
  };
  auto end_of_line = [&]() {
    // Called after a CRLF: header accounting, then reset per-line state.
    if (in_header_) {
      if (line_len_ == 0) {
        in_header_ = false;
      } else {
        header_bytes_ += 2;  // the line's bytes were counted as they arrived; add its CRLF
        if (header_bytes_ > limits_.max_header) fail(data_error::header_too_large);
        if (is_received(header_name_) && ++received_ >= limits_.max_hops) fail(data_error::too_many_hops);
      }
    }
    line_len_ = 0;
    header_name_.clear();
  };
  auto content_byte = [&](char c) {
    if (c == '\0') fail(data_error::nul);
    if (stored_ == 0 && (c == ' ' || c == '\t')) fail(data_error::leading_whitespace);
    ++line_len_;
    if (in_header_) {
      // Counted as it arrives, so a huge header section is flagged without waiting for a line end.
      ++header_bytes_;
      if (line_len_ + 2 > k_max_header_line || header_bytes_ > limits_.max_header) fail(data_error::header_too_large);
      if (header_name_.size() < 16) header_name_.push_back(c);
    }
    if (line_len_ + 2 > limits_.max_line) fail(data_error::line_too_long);
    store(c);
  };

  // Fast path for the bulk of a message: inside a line, with no error so far, copy the run up to the next
  // CR, LF or NUL in one append, as long as no limit can trip inside it. The byte loop below handles
  // everything else (line starts, CRLF, dots, errors, the byte where a limit trips) exactly as before, so
  // the two paths store the same bytes and record the same first error (the fuzzer checks this).
  auto bulk_run = [&](std::size_t from) -> std::size_t {
    const char* p = in.data() + from;
    std::size_t n = in.size() - from;
    if (const void* q = std::memchr(p, '\r', n)) n = static_cast<std::size_t>(static_cast<const char*>(q) - p);
    if (const void* q = std::memchr(p, '\n', n)) n = static_cast<std::size_t>(static_cast<const char*>(q) - p);
    if (const void* q = std::memchr(p, '\0', n)) n = static_cast<std::size_t>(static_cast<const char*>(q) - p);
    // Largest n with every limit still met after n more bytes (the checks the byte loop makes per byte).
    auto left = [](std::size_t used, std::size_t limit) { return used <= limit ? limit - used : 0; };
    n = std::min(n, left(line_len_ + 2, limits_.max_line));
    n = std::min(n, left(stored_, limits_.max_bytes));
    if (in_header_) {
      n = std::min(n, left(line_len_ + 2, k_max_header_line));
      n = std::min(n, left(header_bytes_, limits_.max_header));
    }
    if (n == 0) return 0;
    out.append(p, n);
    if (in_header_) {
      header_bytes_ += n;
      if (header_name_.size() < 16) header_name_.append(p, std::min(n, 16 - header_name_.size()));
    }
    line_len_ += n;
    stored_ += n;
    return n;
  };

  std::size_t i = 0;
  while (i < in.size()) {
    if (state_ == in_line && error_ == data_error::none) {
      std::size_t n = bulk_run(i);
      i += n;
      if (n > 0) recent_ = (recent_ << 8) & 0xffffffu;  // ordinary content
      if (i == in.size()) break;
    }
    char c = in[i++];
    // A dot line with a bare LF on either side ("\n.\n", "\n.\r\n", "\r\n.\n") is a fake end of data: SMTP
    // smuggling, not a client's sloppy line ends (tokens: 1 bare LF, 2 LF of a CRLF, 3 dot, 4 CR, 0 other).
    {
      std::uint32_t t = c == '\n' ? (state_ == cr || state_ == dot_cr ? 2u : 1u) : c == '.' ? 3u : c == '\r' ? 4u : 0u;
      recent_ = ((recent_ << 8) | t) & 0xffffffffu;
      const std::uint32_t last3 = recent_ & 0xffffffu;
      if (last3 == 0x010301u || last3 == 0x020301u || recent_ == 0x01030402u) fake_end_ = true;
    }
    switch (state_) {
      case line_start:
        if (c == '.') {
          ++line_len_;  // the dot is on the wire even though it is not stored
          state_ = dot;
        } else if (c == '\r') {
          state_ = cr;
        } else if (c == '\n') {
          fail(data_error::bare_lf);
          state_ = in_line;
        } else {
          content_byte(c);
          state_ = in_line;
        }
        break;
      case in_line:
        if (c == '\r') {
          state_ = cr;
        } else if (c == '\n') {
          fail(data_error::bare_lf);
        } else {
          content_byte(c);
        }
        break;
      case cr:
        if (c == '\n') {
          store('\r');
          store('\n');
          end_of_line();
          state_ = line_start;
        } else {
          // A CR not followed by LF. The byte after it is processed as ordinary line content
          // (a second CR may still begin a real CRLF).
          fail(data_error::bare_cr);
          state_ = in_line;
          --i;
        }
        break;
      case dot:
        if (c == '\r') {
          state_ = dot_cr;
        } else if (c == '\n') {
          fail(data_error::bare_lf);
          state_ = in_line;
        } else {
          content_byte(c);  // dot-unstuffing: "..x" -> ".x", ".x" -> "x"
          state_ = in_line;
        }
        break;
      case dot_cr:
        if (c == '\n') {
          state_ = line_start;
          line_len_ = 0;
          header_name_.clear();
          return {data_status::done, i};
        }
        fail(data_error::bare_cr);
        state_ = in_line;
        --i;
        break;
      default:
        state_ = in_line;
        break;
    }
  }
  return {data_status::need_more, i};
}

const char* data_error_name(data_error e) {
  switch (e) {
    case data_error::none:
      return "none";
    case data_error::bare_lf:
      return "bare_lf";
    case data_error::bare_cr:
      return "bare_cr";
    case data_error::nul:
      return "nul";
    case data_error::line_too_long:
      return "line_too_long";
    case data_error::header_too_large:
      return "header_too_large";
    case data_error::too_large:
      return "too_large";
    case data_error::too_many_hops:
      return "too_many_hops";
    case data_error::leading_whitespace:
      return "leading_whitespace";
  }
  return "none";
}

}  // namespace mailfort::smtp
