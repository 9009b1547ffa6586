// monitor/blocklist.hpp: [pure] DNS blocklist (DNSBL, RFC 5782) queries for our own sending address.
// SPDX-License-Identifier: MIT
// The query name is the address's octets (IPv4) or nibbles (IPv6) reversed under the zone; an A answer in
// 127.0.0.0/8 means listed. Spamhaus answers 127.255.255.x when it refuses the query (public or unregistered
// resolvers, over quota): that is "unknown", never "listed", or every server behind 8.8.8.8 would alarm.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::monitor {

// "192.0.2.1" + "zen.spamhaus.org" -> "1.2.0.192.zen.spamhaus.org"; IPv6 -> 32 nibbles. nullopt if ip is not
// an address or zone is empty.
std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view zone);

enum class dnsbl_verdict { not_listed, listed, unknown };
const char* to_string(dnsbl_verdict v);
// From the lookup's outcome: nxdomain -> not listed; A records (raw 4-byte RDATA) -> listed if any is in
// 127.0.0.0/8 outside 127.255.255.0/24; anything else (timeouts, servfail, refusal codes) -> unknown.
dnsbl_verdict dnsbl_classify(bool nxdomain, bool ok, const std::vector<std::string>& a_rdata);

}  // namespace mailfort::monitor
