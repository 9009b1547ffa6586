// common/cidr.hpp: [pure] the one IPv4/IPv6 network type ("a.b.c.d/len", "x:y::/len", or a bare address, which is
// a host network): relay.trusted_networks (smtp::server), ban.allowlist and the rate-limit exemptions
// (policy::guard), and the config checks (open relay, loopback-only listeners).
// SPDX-License-Identifier: MIT
// Untrusted-ish input (the configuration file, `mailfort ban` arguments): the parser is strict and never
// throws: the address as inet_pton(3) reads it (no IPv4 short forms, no IPv6 zone), then optionally "/" and 1 to
// 3 decimal digits no greater than 32 (IPv4) or 128 (IPv6). Nothing else is accepted (no spaces, no sign).
// Matching: a client address that is IPv4-mapped IPv6 (::ffff:a.b.c.d, as a dual-stack socket reports an IPv4
// client) is compared as IPv4 against an IPv4 network; effective() turns a network written as
// ::ffff:a.b.c.d/96+n into the IPv4 network a.b.c.d/n, for judging how much a network lets in.
#pragma once
#include <boost/asio/ip/address.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::common {

struct cidr {
  bool v6 = false;
  unsigned prefix = 0;                   // 0..32 (IPv4) or 0..128 (IPv6)
  std::array<unsigned char, 16> addr{};  // the address as written, network byte order (IPv4: the first 4 bytes)

  // nullopt for anything that is not exactly such a network.
  static std::optional<cidr> parse(std::string_view text);
  // Whether a lies inside (the bits past the prefix are ignored on both sides).
  bool contains(const boost::asio::ip::address& a) const;
  // ::ffff:a.b.c.d/96+n as the IPv4 network a.b.c.d/n; any other network unchanged.
  cidr effective() const;
  // "a.b.c.d/len" or "x:y::/len" (the address as written, canonical text).
  std::string to_string() const;
};

}  // namespace mailfort::common
