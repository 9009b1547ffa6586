// fuzz/command_parser_fuzzer.cpp: line_reader (random chunking) + parse_command.
// SPDX-License-Identifier: MIT
// Input layout: byte 0 picks the chunk size, byte 1 the line limit, the rest is the client's byte stream.
// Invariants: a returned line never contains CR or LF and never exceeds the limit; consumed <= input and
// need_more means everything was used; the same stream cut into chunks gives exactly the same events as
// fed whole (resumable at every byte boundary); a line with NUL, or with an 8-bit/control byte in its
// verb, is never a recognised verb; name and args are views of the line.
#include "smtp/command_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace mailfort::smtp;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

struct event {
  line_status status;
  std::string line;
  bool operator==(const event&) const = default;
};

std::vector<event> run(std::string_view in, std::size_t chunk, std::size_t max_line, std::size_t max_discard) {
  line_reader r(max_line, max_discard);
  std::vector<event> out;
  while (!in.empty()) {
    std::string_view piece = in.substr(0, chunk);
    auto res = r.feed(piece);
    check(res.consumed <= piece.size());
    check(res.status != line_status::need_more || res.consumed == piece.size());
    check(res.status == line_status::need_more || res.consumed > 0);  // progress on every report
    in.remove_prefix(res.consumed);
    if (res.status == line_status::need_more) continue;
    event e{res.status, {}};
    if (res.status == line_status::line) {
      std::string_view l = r.line();
      check(l.find('\r') == std::string_view::npos && l.find('\n') == std::string_view::npos);
      check(l.size() + 2 <= max_line);
      e.line = std::string(l);
    }
    out.push_back(std::move(e));
  }
  return out;
}

void check_command(std::string_view l) {
  command c = parse_command(l);
  (void)verb_name(c.verb);
  if (l.find('\0') != std::string_view::npos || l.empty()) check(c.verb == verb::invalid);
  if (c.verb == verb::invalid) return;
  // name is a prefix of the line, args a suffix after exactly one space.
  check(c.name.data() == l.data() && !c.name.empty() && c.name.size() <= l.size());
  check(c.name.find(' ') == std::string_view::npos);
  for (char ch : c.name) {
    auto u = static_cast<unsigned char>(ch);
    check(u >= 0x20 || u == '\t');
    check(u < 0x7f);
  }
  if (!c.args.empty()) {
    check(l.size() >= c.name.size() + 1 + c.args.size());
    check(c.args.data() == l.data() + c.name.size() + 1);
    check(l[c.name.size()] == ' ');
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::size_t chunk = 1 + data[0] % 64;
  std::size_t max_line = 8 + data[1] * 2;  // 8..518: exercise the limit often
  std::size_t max_discard = 1024;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  auto whole = run(in, in.size() + 1, max_line, max_discard);
  auto pieces = run(in, chunk, max_line, max_discard);
  check(whole == pieces);
  for (const auto& e : whole)
    if (e.status == line_status::line) check_command(e.line);
  check_command(in);  // parse_command on raw bytes too (CR/LF and all)
  return 0;
}
