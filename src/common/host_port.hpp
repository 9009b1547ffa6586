// common/host_port.hpp: [pure] the one reader of "host[:port]" text: listener and admin addresses, DNS
// servers, the smart host, Redis and webhook URLs, `mailfort audit smtp` targets.
// SPDX-License-Identifier: MIT
// Accepted forms, and only these:
//   host            name or IPv4 address, no port
//   host:port       exactly one colon
//   [v6]  [v6]:port brackets around an IPv6 address (RFC 3986 3.2.2)
//   2001:db8::1     two or more colons and no brackets: a bare IPv6 address, never "address:port" (RFC 5952 6)
// The port is 1..65535 in decimal, at most 5 digits. Control bytes, spaces, NUL and the delimiters "[]/@"
// are refused anywhere in the host, so "127.0.0.1\0junk" cannot reach inet_pton as 127.0.0.1. What the host
// must be (an IP literal, a domain name) is the caller's rule.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::common {

struct host_port {
  std::string host;                   // brackets removed
  std::optional<std::uint16_t> port;  // absent when the text gives none
  bool bracketed = false;             // written as [v6]
};

std::optional<host_port> parse_host_port(std::string_view text);

// "1".."65535", digits only.
std::optional<std::uint16_t> parse_port(std::string_view digits);

}  // namespace mailfort::common
