// outbound/mx.cpp: [pure] MX ordering, null/implicit MX and the address classifier.
// SPDX-License-Identifier: MIT
#include "outbound/mx.hpp"

#include <algorithm>

namespace mailfort::outbound {

namespace {

std::string normalize_host(std::string_view h) {
  if (h.size() > 1 && h.back() == '.') h.remove_suffix(1);
  std::string out(h);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

const char* to_string(mx_status s) {
  switch (s) {
    case mx_status::ok:
      return "ok";
    case mx_status::null_mx:
      return "null_mx";
    case mx_status::no_domain:
      return "no_domain";
    case mx_status::temp_error:
      return "temp_error";
    case mx_status::bad_records:
      return "bad_records";
  }
  return "temp_error";
}

mx_plan order_mx(std::string_view domain, std::vector<dns::mx_record> records, const random_below& rng) {
  mx_plan plan;
  if (records.empty()) {
    plan.status = mx_status::ok;
    plan.hosts.push_back(mx_host{normalize_host(domain), 0, true});
    return plan;
  }
  auto is_null = [](const dns::mx_record& r) { return r.exchange == "." || r.exchange.empty(); };
  if (records.size() == 1 && is_null(records.front())) {
    plan.status = mx_status::null_mx;
    return plan;
  }
  records.erase(std::remove_if(records.begin(), records.end(), is_null), records.end());

  // Best preference per host first, then deduplicate (a host listed twice is tried once, at its best rank).
  std::vector<mx_host> hosts;
  hosts.reserve(records.size());
  for (const auto& r : records) hosts.push_back(mx_host{normalize_host(r.exchange), r.preference, false});
  std::stable_sort(hosts.begin(), hosts.end(), [](const mx_host& a, const mx_host& b) {
    return a.host != b.host ? a.host < b.host : a.preference < b.preference;
  });
  hosts.erase(
      std::unique(hosts.begin(), hosts.end(), [](const mx_host& a, const mx_host& b) { return a.host == b.host; }),
      hosts.end());
  std::sort(hosts.begin(), hosts.end(), [](const mx_host& a, const mx_host& b) {
    return a.preference != b.preference ? a.preference < b.preference : a.host < b.host;
  });
  // Fisher-Yates within each run of equal preference (RFC 5321 5.1: spread load across equal hosts).
  for (std::size_t start = 0; start < hosts.size();) {
    std::size_t end = start;
    while (end < hosts.size() && hosts[end].preference == hosts[start].preference) ++end;
    for (std::size_t i = end - start; i > 1; --i) {
      std::uint32_t j = rng ? rng(static_cast<std::uint32_t>(i)) : 0;
      if (j >= i) j = static_cast<std::uint32_t>(i - 1);  // a misbehaving RNG must not index out of range
      std::swap(hosts[start + i - 1], hosts[start + j]);
    }
    start = end;
  }
  if (hosts.size() > max_mx_hosts) hosts.resize(max_mx_hosts);
  plan.status = mx_status::ok;
  plan.hosts = std::move(hosts);
  return plan;
}

mx_plan plan_mx(std::string_view domain, const dns::lookup_result& r, const random_below& rng) {
  mx_plan plan;
  if (r.sec == dns::dnssec::bogus) {
    plan.status = mx_status::temp_error;
    return plan;
  }
  switch (r.st) {
    case dns::status::nxdomain:
      plan.status = mx_status::no_domain;
      return plan;
    case dns::status::nodata:
      return order_mx(domain, {}, rng);
    case dns::status::servfail:
    case dns::status::timeout:
      plan.status = mx_status::temp_error;
      return plan;
    case dns::status::ok:
      break;
  }
  std::vector<dns::mx_record> recs;
  for (const auto& rd : r.records)
    if (auto m = dns::parse_mx(rd)) recs.push_back(std::move(*m));
  if (r.records.empty()) return order_mx(domain, {}, rng);  // an ok answer without records is NODATA
  if (recs.empty()) {
    // An answer whose records all fail to decode is not "no MX": falling back to the implicit MX would let a
    // broken zone redirect mail to the bare domain's address.
    plan.status = mx_status::bad_records;
    return plan;
  }
  return order_mx(domain, std::move(recs), rng);
}

const char* to_string(address_class c) {
  switch (c) {
    case address_class::global:
      return "global";
    case address_class::loopback:
      return "loopback";
    case address_class::private_net:
      return "private";
    case address_class::link_local:
      return "link_local";
    case address_class::unspecified:
      return "unspecified";
    case address_class::multicast:
      return "multicast";
    case address_class::reserved:
      return "reserved";
  }
  return "reserved";
}

address_class classify(const std::array<std::uint8_t, 4>& a) {
  const unsigned b0 = a[0], b1 = a[1], b2 = a[2];
  if (b0 == 0) return address_class::unspecified;
  if (b0 == 127) return address_class::loopback;
  if (b0 == 10) return address_class::private_net;
  if (b0 == 172 && (b1 & 0xf0) == 16) return address_class::private_net;
  if (b0 == 192 && b1 == 168) return address_class::private_net;
  if (b0 == 100 && (b1 & 0xc0) == 64) return address_class::private_net;  // 100.64/10 carrier-grade NAT
  if (b0 == 169 && b1 == 254) return address_class::link_local;
  if (b0 >= 224 && b0 <= 239) return address_class::multicast;
  if (b0 >= 240) return address_class::reserved;                                     // incl. 255.255.255.255
  if (b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2)) return address_class::reserved;  // IETF protocol, TEST-NET-1
  if (b0 == 198 && (b1 & 0xfe) == 18) return address_class::reserved;                // 198.18/15 benchmarking
  if (b0 == 198 && b1 == 51 && b2 == 100) return address_class::reserved;            // TEST-NET-2
  if (b0 == 203 && b1 == 0 && b2 == 113) return address_class::reserved;             // TEST-NET-3
  return address_class::global;
}

address_class classify(const std::array<std::uint8_t, 16>& a) {
  auto zero_until = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      if (a[i] != 0) return false;
    return true;
  };
  auto v4_at_end = [&] { return std::array<std::uint8_t, 4>{a[12], a[13], a[14], a[15]}; };
  if (zero_until(16)) return address_class::unspecified;
  if (zero_until(15) && a[15] == 1) return address_class::loopback;
  if (zero_until(10) && a[10] == 0xff && a[11] == 0xff) return classify(v4_at_end());  // ::ffff:0:0/96
  if (zero_until(12)) return classify(v4_at_end());                                    // ::a.b.c.d (deprecated)
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b &&
      std::all_of(a.begin() + 4, a.begin() + 12, [](std::uint8_t b) { return b == 0; }))
    return classify(v4_at_end());  // 64:ff9b::/96 NAT64
  if (a[0] == 0xff) return address_class::multicast;
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return address_class::link_local;
  if ((a[0] & 0xfe) == 0xfc) return address_class::private_net;                  // fc00::/7 ULA
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return address_class::private_net;  // fec0::/10 site-local
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return address_class::reserved;  // 2001:db8::/32
  if (a[0] == 0x01 && a[1] == 0x00 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0)
    return address_class::reserved;  // 100::/64 discard
  // Only 2000::/3 is allocated global unicast; anything else outside the ranges above is reserved.
  if ((a[0] & 0xe0) != 0x20) return address_class::reserved;
  return address_class::global;
}

bool deliverable(address_class c, bool allow_private) {
  switch (c) {
    case address_class::global:
      return true;
    case address_class::loopback:
    case address_class::private_net:
    case address_class::link_local:
      return allow_private;
    case address_class::unspecified:
    case address_class::multicast:
    case address_class::reserved:
      return false;
  }
  return false;
}

}  // namespace mailfort::outbound
