// dns/upstream.cpp: [pure] strict parsing of DNS server addresses.
// SPDX-License-Identifier: MIT
#include "dns/upstream.hpp"

#include "common/ascii.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace mailfort::dns {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (!common::is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

}  // namespace

std::optional<upstream> parse_upstream(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string host;
  std::string_view port_text;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host.assign(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else if (text.find(':') != text.rfind(':')) {
    host.assign(text);  // two or more colons and no brackets: a bare IPv6 address
  } else if (auto colon = text.find(':'); colon != std::string_view::npos) {
    host.assign(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (port_text.empty()) return std::nullopt;
  } else {
    host.assign(text);
  }
  // inet_pton reads a C string: an embedded NUL would make "127.0.0.1\0junk" pass as 127.0.0.1, so
  // only the characters of numeric addresses are allowed through.
  if (host.empty()) return std::nullopt;
  for (char c : host)
    if (!common::is_digit(c) && c != '.' && c != ':' && !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return std::nullopt;
  upstream u;
  if (!port_text.empty()) {
    auto p = parse_port(port_text);
    if (!p) return std::nullopt;
    u.port = *p;
  }
  // inet_pton is pure text conversion; it rejects "1.2.3", leading garbage and zone ids.
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
    u.is_loopback = buf[0] == 127;
  } else if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    static constexpr unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    u.is_loopback = std::equal(buf, buf + 16, loop6);
  } else {
    return std::nullopt;
  }
  u.address = std::move(host);
  return u;
}

}  // namespace mailfort::dns
