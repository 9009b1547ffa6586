// smtp/reply.cpp: reply formatting.
// SPDX-License-Identifier: MIT
#include "smtp/reply.hpp"

namespace mailfort::smtp {

reply make_reply(int code, std::string_view enhanced, std::string_view text) {
  reply r;
  r.code = code;
  r.enhanced = std::string(enhanced);
  r.lines.emplace_back(text);
  return r;
}

void append_formatted(const reply& r, std::string& out) {
  const std::string code = std::to_string(r.code);
  const size_t n = r.lines.empty() ? 1 : r.lines.size();
  for (size_t i = 0; i < n; ++i) {
    out += code;
    out.push_back(i + 1 == n ? ' ' : '-');
    if (!r.enhanced.empty()) {
      out += r.enhanced;
      out.push_back(' ');
    }
    if (!r.lines.empty()) {
      for (char c : r.lines[i]) {
        auto u = static_cast<unsigned char>(c);
        out.push_back((u < 0x20 || u == 0x7f) ? '?' : c);
      }
    }
    out += "\r\n";
  }
}

std::string format(const reply& r) {
  std::string out;
  append_formatted(r, out);
  return out;
}

}  // namespace mailfort::smtp
