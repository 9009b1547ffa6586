// common/host_port.cpp: see host_port.hpp.
// SPDX-License-Identifier: MIT
#include "common/host_port.hpp"

#include <algorithm>

namespace mailfort::common {

std::optional<std::uint16_t> parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::optional<host_port> parse_host_port(std::string_view text) {
  host_port out;
  std::string_view host = text;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      has_port = true;
    }
    out.bracketed = true;
  } else if (auto n = std::count(text.begin(), text.end(), ':'); n == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return std::nullopt;
  for (char c : host) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '[' || c == ']' || c == '/' || c == '@') return std::nullopt;
  }
  if (out.bracketed && host.find(':') == std::string_view::npos) return std::nullopt;  // [v6] holds IPv6 only
  if (has_port) {
    out.port = parse_port(port);
    if (!out.port) return std::nullopt;
  }
  out.host.assign(host);
  return out;
}

}  // namespace mailfort::common
