// outbound/host_addresses.cpp: A/AAAA lookup of a host (see host_addresses.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/host_addresses.hpp"

#include "dns/records.hpp"
#include "outbound/mx.hpp"

// GCC 12 reports -Wmismatched-new-delete on coroutine frames (GCC bug 109224, as in client_connection.cpp).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::outbound {

namespace asio = boost::asio;

namespace {
bool failed(const dns::lookup_result& r) { return r.st == dns::status::servfail || r.st == dns::status::timeout; }
}  // namespace

asio::awaitable<host_address_lookup> lookup_host_addresses(dns::source& dns, std::string host, bool check_private,
                                                           bool allow_private) {
  host_address_lookup out;
  auto a = co_await dns.lookup(host, dns::rr_type::a);
  out.a_failed = failed(a);
  if (a.st == dns::status::ok)
    for (const auto& rd : a.records)
      if (auto v4 = dns::parse_a(rd)) {
        if (check_private && !deliverable(classify(*v4), allow_private)) {
          out.private_skipped = true;
          continue;
        }
        out.addresses.push_back(asio::ip::address_v4(*v4));
      }
  auto aaaa = co_await dns.lookup(host, dns::rr_type::aaaa);
  out.aaaa_failed = failed(aaaa);
  if (aaaa.st == dns::status::ok)
    for (const auto& rd : aaaa.records)
      if (auto v6 = dns::parse_aaaa(rd)) {
        if (check_private && !deliverable(classify(*v6), allow_private)) {
          out.private_skipped = true;
          continue;
        }
        out.addresses.push_back(asio::ip::address_v6(*v6));
      }
  co_return out;
}

}  // namespace mailfort::outbound
