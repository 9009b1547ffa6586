// dns/upstream.hpp: [pure] parse a configured DNS server ("127.0.0.1:5353", "[::1]:53", "::1") for libunbound.
// SPDX-License-Identifier: MIT
// Input comes from the config file or the command line (dns.servers, --dns-server), not from the
// network, but is still checked strictly so a typo fails at startup instead of silently resolving
// through the wrong server.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::dns {

struct upstream {
  std::string address;  // numeric IPv4 or IPv6 text, no brackets
  std::uint16_t port = 53;
  bool is_loopback = false;  // 127.0.0.0/8 or ::1 (libunbound refuses these unless told otherwise)
  // "addr@port", the form ub_ctx_set_fwd / ub_ctx_set_stub take.
  std::string unbound_form() const { return address + "@" + std::to_string(port); }
};

// Accepts "A.B.C.D", "A.B.C.D:PORT", "IPV6", "[IPV6]", "[IPV6]:PORT". Host names are refused: the
// resolver cannot be used to find itself.
std::optional<upstream> parse_upstream(std::string_view text);

}  // namespace mailfort::dns
