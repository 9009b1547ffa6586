// fuzz/line_reader_fuzzer.cpp: the SMTP command-line reader (smtp::line_reader) against a whole-input model.
// SPDX-License-Identifier: MIT
// Input layout: byte 0 picks max_line (3..258), byte 1 max_discard (0..1020), byte 2 the chunk size (1..256),
// the rest is what the client sends. The reader is resumable at every byte and keeps a pending CR, a poison
// flag and a discard counter across calls; the model below sees the whole input at once and states the
// rules directly: a line is everything up to the first CRLF; it is too long when, counting every byte
// before the CRLF's LF except a CR that may still be the start of the CRLF, it reaches max_line - 1; a long
// line is reported once and discarded through its own CRLF, within max_discard bytes (else overflow, and
// the session ends); a line holding any other CR or LF is a bad line ending; anything else is a line.
// Invariant: the reader, fed in chunks of any size, reports exactly the model's events, at the same input
// positions, with the same line text, up to the first overflow.
#include "smtp/command_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mailfort::smtp;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

struct event {
  line_status status;
  std::size_t end;   // input position after the event (absolute)
  std::string text;  // the line, for line_status::line
  bool operator==(const event&) const = default;
};

std::vector<event> model(std::string_view in, std::size_t max_line, std::size_t max_discard) {
  max_line = max_line < 3 ? 3 : max_line;
  std::vector<event> ev;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t crlf = in.find("\r\n", pos);
    const std::size_t last = crlf == std::string_view::npos ? in.size() - 1 : crlf;  // last byte before any LF
    // Where the limit is crossed: after byte k, the bytes held are k - pos + 1, less one if byte k is a CR.
    std::size_t trigger = std::string_view::npos;
    for (std::size_t k = pos; k <= last; ++k) {
      const std::size_t held = k - pos + 1 - (in[k] == '\r' ? 1 : 0);
      if (held + 2 > max_line) {
        trigger = k;
        break;
      }
    }
    if (trigger != std::string_view::npos) {
      ev.push_back({line_status::too_long, trigger + 1, {}});
      // Discarded: bytes after the trigger through the CRLF's CR (or through the end of the input).
      const std::size_t discarded = last - trigger;
      if (discarded > max_discard) {
        ev.push_back({line_status::overflow, trigger + max_discard + 2, {}});
        return ev;
      }
      if (crlf == std::string_view::npos) return ev;
      pos = crlf + 2;
      continue;
    }
    if (crlf == std::string_view::npos) return ev;  // need more
    const std::string_view text = in.substr(pos, crlf - pos);
    if (text.find_first_of("\r\n") != std::string_view::npos) {
      ev.push_back({line_status::bad_line_ending, crlf + 2, {}});
    } else {
      ev.push_back({line_status::line, crlf + 2, std::string(text)});
    }
    pos = crlf + 2;
  }
  return ev;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const std::size_t max_line = 3 + data[0];
  const std::size_t max_discard = static_cast<std::size_t>(data[1]) * 4;
  const std::size_t chunk = 1 + data[2];
  const std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);

  line_reader r(max_line, max_discard);
  std::vector<event> got;
  std::size_t pos = 0;
  while (pos < in.size()) {
    std::string_view piece = in.substr(pos, chunk);
    std::size_t used = 0;
    bool stop = false;
    while (true) {
      auto res = r.feed(piece.substr(used));
      check(res.consumed <= piece.size() - used);
      used += res.consumed;
      if (res.status == line_status::need_more) {
        check(used == piece.size());
        break;
      }
      event e{res.status, pos + used, {}};
      if (res.status == line_status::line) {
        e.text = std::string(r.line());
        check(e.text.find_first_of("\r\n") == std::string::npos && e.text.size() + 2 <= max_line);
      }
      got.push_back(e);
      if (res.status == line_status::overflow) {
        stop = true;
        break;
      }
      if (used == piece.size()) break;
    }
    pos += used;
    if (stop) break;
  }
  check(got == model(in, max_line, max_discard));
  return 0;
}
