// fuzz/smtp_reply_fuzzer.cpp: the client-side SMTP reply parser and EHLO decoding on arbitrary server bytes.
// SPDX-License-Identifier: MIT
// Input: byte 0 picks max_line (5..260), byte 1 max_lines (1..16), byte 2 the chunk size (1..64); the rest
// is what the server sends. Small limits let a 4 KiB input cross every bound.
// Invariants: consumed never exceeds the input and is never 0 for a reply/error with input left; every
// reply has 1..max_lines lines, each within max_line, a code in 200..599 and an enhanced class equal to
// its first digit; feeding in chunks yields exactly the replies and the error of feeding in one piece;
// printable() output is printable ASCII within its bound.
#include "outbound/reply_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mailfort::outbound;

namespace {

struct outcome {
  std::vector<std::pair<int, std::vector<std::string>>> replies;
  reply_error error = reply_error::none;
};

void check_reply(const server_reply& r, const reply_limits& lim) {
  if (r.code < 200 || r.code > 599) std::abort();
  if (r.lines.empty() || r.lines.size() > lim.max_lines) std::abort();
  for (const auto& l : r.lines)
    if (l.size() + 5 > lim.max_line) std::abort();  // "CODE-" + text + LF within max_line
  if (r.enhanced && r.enhanced->klass != r.code / 100) std::abort();
  if (auto caps = parse_ehlo(r)) {
    if (r.code != 250) std::abort();
    if (caps->auth.size() > 64 || caps->unknown.size() > 64) std::abort();
  }
  for (const auto& l : r.lines) {
    auto p = printable(l, 128);
    if (p.size() > 131) std::abort();
    for (char c : p)
      if (c < 0x20 || c > 0x7e) std::abort();
  }
}

outcome run(std::string_view in, const reply_limits& lim, std::size_t chunk) {
  outcome out;
  reply_parser p(lim);
  std::size_t pos = 0;
  while (pos < in.size()) {
    std::string_view piece = in.substr(pos, chunk);
    std::size_t used = 0;
    while (used < piece.size()) {
      auto r = p.feed(piece.substr(used));
      if (r.consumed > piece.size() - used) std::abort();
      if (r.status == reply_status::need_more) {
        if (r.consumed != piece.size() - used) std::abort();
        used = piece.size();
        break;
      }
      if (r.consumed == 0) std::abort();
      used += r.consumed;
      if (r.status == reply_status::error) {
        out.error = p.error();
        if (out.error == reply_error::none) std::abort();
        if (p.feed("250 ok\r\n").status != reply_status::error) std::abort();  // sticky
        return out;
      }
      check_reply(p.get(), lim);
      out.replies.emplace_back(p.get().code, p.get().lines);
    }
    pos += piece.size();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  reply_limits lim;
  lim.max_line = 5 + data[0] % 256;
  lim.max_lines = 1 + data[1] % 16;
  std::size_t chunk = 1 + data[2] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);

  auto whole = run(in, lim, in.size() + 1);
  auto pieces = run(in, lim, chunk);
  if (whole.replies != pieces.replies || whole.error != pieces.error) std::abort();

  // parse_reply accepts exactly one complete reply filling the buffer.
  if (auto one = parse_reply(in, lim)) {
    if (whole.replies.size() != 1 || whole.replies[0].second != one->lines) std::abort();
  }
  return 0;
}
