// dns/upstream.cpp: [pure] strict parsing of DNS server addresses.
// SPDX-License-Identifier: MIT
#include "dns/upstream.hpp"

#include "common/ascii.hpp"
#include "common/host_port.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace mailfort::dns {

std::optional<upstream> parse_upstream(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  auto hp = common::parse_host_port(text);
  if (!hp) return std::nullopt;
  std::string host = std::move(hp->host);
  // inet_pton reads a C string: parse_host_port already refused NUL and other control bytes; only the
  // characters of numeric addresses go on.
  for (char c : host)
    if (!common::is_digit(c) && c != '.' && c != ':' && !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return std::nullopt;
  upstream u;
  if (hp->port) u.port = *hp->port;
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
