// monitor/blocklist.cpp: DNSBL query names and answers.
// SPDX-License-Identifier: MIT
#include "monitor/blocklist.hpp"

#include <arpa/inet.h>

#include <array>

namespace mailfort::monitor {

std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view zone) {
  while (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
  if (zone.empty() || ip.size() > 45) return std::nullopt;
  std::string addr(ip);
  std::array<unsigned char, 16> b{};
  std::string out;
  if (inet_pton(AF_INET, addr.c_str(), b.data()) == 1) {
    for (int i = 3; i >= 0; --i) out += std::to_string(b[static_cast<std::size_t>(i)]) + ".";
  } else if (inet_pton(AF_INET6, addr.c_str(), b.data()) == 1) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      unsigned char c = b[static_cast<std::size_t>(i)];
      out += hex[c & 0xf];
      out += '.';
      out += hex[c >> 4];
      out += '.';
    }
  } else {
    return std::nullopt;
  }
  return out + std::string(zone);
}

const char* to_string(dnsbl_verdict v) {
  switch (v) {
    case dnsbl_verdict::not_listed:
      return "not_listed";
    case dnsbl_verdict::listed:
      return "listed";
    case dnsbl_verdict::unknown:
      return "unknown";
  }
  return "unknown";
}

dnsbl_verdict dnsbl_classify(bool nxdomain, bool ok, const std::vector<std::string>& a_rdata) {
  if (nxdomain) return dnsbl_verdict::not_listed;
  if (!ok) return dnsbl_verdict::unknown;
  bool listed = false;
  for (const auto& r : a_rdata) {
    if (r.size() != 4) continue;
    auto o = [&](std::size_t i) { return static_cast<unsigned char>(r[i]); };
    if (o(0) != 127) continue;  // not a DNSBL answer (a wildcard or a hijacking resolver)
    if (o(1) == 255 && o(2) == 255) return dnsbl_verdict::unknown;  // "query refused" codes
    listed = true;
  }
  return listed ? dnsbl_verdict::listed : (a_rdata.empty() ? dnsbl_verdict::not_listed : dnsbl_verdict::unknown);
}

}  // namespace mailfort::monitor
