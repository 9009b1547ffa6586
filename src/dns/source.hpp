// dns/source.hpp: [pure] what the sender-authentication and delivery code needs from DNS: one async lookup.
// SPDX-License-Identifier: MIT
// dns::resolver (libunbound, DNSSEC-validating) is the real source; dns::static_source answers from a map,
// for unit tests and fuzzers of the evaluators (SPF, DKIM key fetch, DMARC discovery, MTA-STS, DANE).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mailfort::dns {

enum class status { ok, nxdomain, nodata, servfail, timeout };
enum class dnssec { insecure, secure, bogus };

const char* to_string(status s);
const char* to_string(dnssec d);

struct lookup_result {
  status st = status::servfail;
  dnssec sec = dnssec::insecure;
  int rcode = 0;                     // DNS rcode of the answer (0 when no answer came back)
  std::vector<std::string> records;  // raw RDATA of each record (decode with dns/records.hpp)
  std::uint32_t ttl = 0;             // seconds, as libunbound reports it (0 for errors)
  std::string why_bogus;             // libunbound's reason when sec == bogus
  std::string error;                 // why a servfail/timeout happened, for logs
  bool from_cache = false;
};

// The lookup interface. Implementations never throw for DNS failures: they are statuses.
class source {
 public:
  virtual ~source() = default;
  virtual boost::asio::awaitable<lookup_result> lookup(std::string name, int rrtype) = 0;
};

// Answers from a fixed table keyed by (lower-case name without trailing dot, rrtype); a missing name is
// nxdomain, a known name without that type is nodata. Counts lookups (tests assert DNS-term limits).
class static_source final : public source {
 public:
  void add(std::string name, int rrtype, lookup_result r);
  // Convenience: one ok answer with these raw RDATA records, dnssec insecure.
  void add_records(std::string name, int rrtype, std::vector<std::string> rdata, dnssec sec = dnssec::insecure);
  boost::asio::awaitable<lookup_result> lookup(std::string name, int rrtype) override;
  int lookups() const { return lookups_; }

 private:
  static std::string key(std::string name);
  std::map<std::pair<std::string, int>, lookup_result> table_;
  int lookups_ = 0;
};

}  // namespace mailfort::dns
