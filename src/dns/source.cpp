// dns/source.cpp: [pure] status names and the table-driven dns::static_source.
// SPDX-License-Identifier: MIT
#include "dns/source.hpp"

#include <algorithm>
#include <cctype>

namespace mailfort::dns {

const char* to_string(status s) {
  switch (s) {
    case status::ok:
      return "ok";
    case status::nxdomain:
      return "nxdomain";
    case status::nodata:
      return "nodata";
    case status::servfail:
      return "servfail";
    case status::timeout:
      return "timeout";
  }
  return "servfail";
}

const char* to_string(dnssec d) {
  switch (d) {
    case dnssec::secure:
      return "secure";
    case dnssec::insecure:
      return "insecure";
    case dnssec::bogus:
      return "bogus";
  }
  return "insecure";
}

std::string static_source::key(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

void static_source::add(std::string name, int rrtype, lookup_result r) {
  table_[{key(std::move(name)), rrtype}] = std::move(r);
}

void static_source::add_records(std::string name, int rrtype, std::vector<std::string> rdata, dnssec sec) {
  lookup_result r;
  r.st = rdata.empty() ? status::nodata : status::ok;
  r.sec = sec;
  r.records = std::move(rdata);
  r.ttl = 300;
  add(std::move(name), rrtype, std::move(r));
}

boost::asio::awaitable<lookup_result> static_source::lookup(std::string name, int rrtype) {
  ++lookups_;
  const std::string k = key(std::move(name));
  if (auto it = table_.find({k, rrtype}); it != table_.end()) co_return it->second;
  lookup_result r;
  const bool name_exists = std::any_of(table_.begin(), table_.end(), [&](const auto& e) { return e.first.first == k; });
  r.st = name_exists ? status::nodata : status::nxdomain;
  co_return r;
}

}  // namespace mailfort::dns
