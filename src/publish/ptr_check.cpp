// publish/ptr_check.cpp: PTR of our address, then the forward lookup of the HELO name.
// SPDX-License-Identifier: MIT
#include "publish/ptr_check.hpp"

#include "dns/records.hpp"
#include "publish/dns_records.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace mailfort::publish {
namespace {

std::string ptr_norm(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool failed(const dns::lookup_result& r) { return r.st == dns::status::servfail || r.st == dns::status::timeout; }

}  // namespace

const char* to_string(ptr_verdict v) {
  switch (v) {
    case ptr_verdict::ok:
      return "ok";
    case ptr_verdict::missing:
      return "missing";
    case ptr_verdict::mismatch:
      return "mismatch";
    case ptr_verdict::unknown:
      return "unknown";
  }
  return "unknown";
}

boost::asio::awaitable<ptr_check_result> check_own_ptr(dns::source& dns, std::string ip, std::string hostname) {
  ptr_check_result out;
  const auto rev = reverse_name(ip);
  unsigned char want[16];
  const bool v6 = ip.find(':') != std::string::npos;
  if (!rev || ::inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), want) != 1) {
    out.problem = "'" + ip + "' is not an IP address";
    co_return out;
  }
  const std::string host = ptr_norm(hostname);
  auto r = co_await dns.lookup(*rev, dns::rr_type::ptr);
  if (failed(r)) co_return out;
  for (const auto& rd : r.records)
    if (auto n = dns::parse_name_rdata(rd)) out.names.push_back(ptr_norm(*n));
  if (out.names.empty()) {
    out.verdict = ptr_verdict::missing;
    out.problem = "no PTR record for " + ip + ": ask the hosting provider to set " + *rev + " PTR " + host + ".";
    co_return out;
  }
  bool named = false;
  for (const auto& n : out.names) named |= n == host;
  if (!named) {
    out.verdict = ptr_verdict::mismatch;
    out.problem = "the PTR of " + ip + " names " + out.names.front() + ", not the HELO name " + host +
                  ": ask the hosting provider to set " + *rev + " PTR " + host + ".";
    co_return out;
  }
  auto f = co_await dns.lookup(host, v6 ? dns::rr_type::aaaa : dns::rr_type::a);
  if (failed(f)) co_return out;
  bool back = false;
  for (const auto& rd : f.records) {
    if (v6) {
      if (auto a = dns::parse_aaaa(rd)) back |= std::memcmp(a->data(), want, 16) == 0;
    } else if (auto a = dns::parse_a(rd)) {
      back |= std::memcmp(a->data(), want, 4) == 0;
    }
  }
  if (!back) {
    out.verdict = ptr_verdict::mismatch;
    out.problem = host + " does not resolve back to " + ip + " (publish " + host + (v6 ? " AAAA " : " A ") + ip + ")";
    co_return out;
  }
  out.verdict = ptr_verdict::ok;
  co_return out;
}

}  // namespace mailfort::publish
