// fuzz/command_parser_fuzzer.cpp: line_reader (random chunking) + parse_command.
// SPDX-License-Identifier: MIT
// Invariants: a returned line never contains CR or LF and never exceeds the limit; consumed <= input.
#include "smtp/command_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace mailfort::smtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::size_t chunk = 1 + data[0] % 64;
  line_reader r(64 + data[1] % 512, 1024);
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  while (!in.empty()) {
    std::string_view piece = in.substr(0, chunk);
    while (!piece.empty()) {
      auto res = r.feed(piece);
      if (res.consumed > piece.size()) std::abort();
      if (res.status == line_status::need_more && res.consumed != piece.size()) std::abort();
      piece.remove_prefix(res.consumed);
      in.remove_prefix(res.consumed);
      if (res.status == line_status::line) {
        auto l = r.line();
        if (l.find('\r') != std::string_view::npos || l.find('\n') != std::string_view::npos) std::abort();
        if (l.size() + 2 > 64 + static_cast<std::size_t>(data[1] % 512)) std::abort();
        auto c = parse_command(l);
        if (c.verb != verb::invalid && l.find('\0') != std::string_view::npos) std::abort();
        (void)verb_name(c.verb);
      }
      if (res.consumed == 0 && res.status == line_status::need_more) break;
    }
  }
  return 0;
}
