// outbound/mx.hpp: [pure] where to deliver a domain's mail: MX ordering, null MX, implicit MX, address classes.
// SPDX-License-Identifier: MIT
// Input: the outcome of the MX lookup (DNS data from anyone's zone) and the A/AAAA addresses of each host.
// RFC 5321 5.1: hosts in increasing preference, equal preferences in random order (the RNG is injected so
// tests are deterministic); no MX records at all (NODATA) means the domain itself is the one host (implicit
// MX); NXDOMAIN means the domain does not exist. RFC 7505: a single MX "." means the domain accepts no
// mail. Decided: a "." record among real ones is dropped and the rest used (the zone is inconsistent;
// delivering to its real MX hosts is what the owner most likely wants), and a lone "." of any preference
// is a null MX (the RFC says preference 0, but no other reading of a lone "." makes sense).
// The address classifier keeps delivery off loopback, private, link-local, unspecified, multicast and
// reserved space (a hostile MX pointing at 127.0.0.1 or 10.0.0.0/8 would turn the server into a proxy
// into its own network) unless the configuration allows private destinations (test setups, smarthosts).
#pragma once
#include "dns/records.hpp"
#include "dns/source.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::outbound {

// Uniform random number in [0, n); n >= 1. Production passes a wrapper around a seeded std::mt19937.
using random_below = std::function<std::uint32_t(std::uint32_t n)>;

struct mx_host {
  std::string host;  // lower case, no trailing dot
  std::uint16_t preference = 0;
  bool implicit = false;  // the domain itself (RFC 5321 5.1), no MX record
  bool operator==(const mx_host&) const = default;
};

enum class mx_status : std::uint8_t {
  ok,           // hosts lists where to try, in order
  null_mx,      // RFC 7505: the domain accepts no mail -> permanent failure 5.1.10
  no_domain,    // NXDOMAIN -> permanent failure 5.1.2
  temp_error,   // SERVFAIL / timeout / bogus DNSSEC -> try again later
  bad_records,  // answer present but nothing usable (all RDATA malformed) -> temporary failure
};
const char* to_string(mx_status s);

struct mx_plan {
  mx_status status = mx_status::temp_error;
  std::vector<mx_host> hosts;
};

inline constexpr std::size_t max_mx_hosts = 32;  // beyond this, the rest are dropped (Postfix: 5 by default)

// From already-decoded MX records: null MX, ordering, duplicates removed (a host keeps its best preference),
// at most max_mx_hosts. domain is the recipient domain (used for the implicit MX when records is empty).
mx_plan order_mx(std::string_view domain, std::vector<dns::mx_record> records, const random_below& rng);
// From the raw lookup of the domain's MX RRset (decodes the RDATA with dns::parse_mx).
mx_plan plan_mx(std::string_view domain, const dns::lookup_result& mx_lookup, const random_below& rng);

// ---- addresses ----
enum class address_class : std::uint8_t {
  global,
  loopback,     // 127/8, ::1
  private_net,  // 10/8, 172.16/12, 192.168/16, 100.64/10 (CGN), fc00::/7
  link_local,   // 169.254/16, fe80::/10
  unspecified,  // 0.0.0.0/8, ::
  multicast,    // 224/4, ff00::/8
  reserved,     // 240/4 incl. broadcast, documentation nets, 192.0.0/24, benchmarking 198.18/15, 2001:db8::/32, ...
};
const char* to_string(address_class c);

address_class classify(const std::array<std::uint8_t, 4>& v4);
// IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible addresses are classified as their IPv4 address; 64:ff9b::/96
// (NAT64) as the embedded IPv4 address.
address_class classify(const std::array<std::uint8_t, 16>& v6);

// May we connect to an address of this class? Only global, unless allow_private (then also private_net,
// loopback and link_local; never unspecified, multicast or reserved).
bool deliverable(address_class c, bool allow_private);

}  // namespace mailfort::outbound
