// dns/resolver.hpp: DNSSEC-validating asynchronous stub resolver over libunbound, awaited on an Asio executor.
// SPDX-License-Identifier: MIT
// Untrusted input: every answer (and the query names, which come from mail: HELO, MAIL FROM, DKIM d=).
// Names are checked before they reach libunbound (no NUL, <= 253 octets), every lookup is bounded by a
// per-query timeout (the query is cancelled with ub_cancel, so libunbound never calls back into a
// finished coroutine) and the cache is bounded in entries and TTL.
// DNSSEC: libunbound validates; a result is `secure` only when the chain from a configured trust anchor
// holds. A `bogus` answer is never handed on: its records are dropped and its status is servfail, so
// a caller cannot act on tampered data by mistake (SPF/DMARC turn it into temperror).
// Threading: a resolver belongs to ONE thread (the thread running its executor). Use one resolver per
// event loop. lookup_sync() and validates_dnssec() block and are for the CLI and startup checks only;
// never call them from a thread that has lookups in flight.
// Not done: DNS over TLS, hosts-file answers, per-query DNSSEC opt-out, sharing the cache across loops.
#pragma once
#include "dns/source.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct ub_ctx;
struct ub_result;

namespace mailfort::dns {

struct resolver_options {
  // "127.0.0.1:5353", "[::1]:53"; empty = the system resolver (/etc/resolv.conf). Queries are
  // forwarded to them (RD set): a recursive resolver, or an authoritative server for its own zones.
  std::vector<std::string> servers;
  // The root zone's trust anchor (DS/DNSKEY in zone-file format, Debian's dns-root-data); empty = no
  // validation from the root (test setups whose only upstream is an authoritative server for test zones).
  std::string root_anchor_file;
  // A file of DS or DNSKEY records in zone-file format (ub_ctx_add_ta_file); empty = none.
  std::string trust_anchor_file;
  // Special-use zones libunbound answers locally with NXDOMAIN by default (RFC 6761/7686: "test",
  // "invalid", "onion", "localhost", private reverse zones) that should be resolved upstream instead;
  // test setups serving "*.test" zones list "test" here. Empty (the default) keeps them blocked.
  std::vector<std::string> resolve_special_zones;
  std::chrono::milliseconds timeout{5000};
  std::size_t cache_entries = 1024;  // 0 disables our cache (libunbound keeps its own)
  std::chrono::seconds max_cache_ttl{3600};
};

class resolver final : public source {
 public:
  // Throws std::runtime_error when the options cannot be applied (bad server address, unreadable
  // trust anchor): configuration errors must stop startup, not degrade to an unvalidated resolver.
  resolver(boost::asio::any_io_executor ex, resolver_options opts);
  ~resolver() override;
  resolver(const resolver&) = delete;
  resolver& operator=(const resolver&) = delete;

  // One lookup of (name, rrtype) in class IN. Never throws for DNS failures: they are statuses.
  boost::asio::awaitable<lookup_result> lookup(std::string name, int rrtype) override;

  // Blocking version for the CLI; same timeout, same cache. See the threading note above.
  lookup_result lookup_sync(std::string name, int rrtype);

  // Startup self-check: looks up the DNSKEY of the first trust anchor's owner and reports whether it
  // came back secure. False without a trust anchor.
  bool validates_dnssec();

  std::size_t cache_size() const { return cache_.size(); }

 private:
  struct query_state;
  struct cache_entry {
    lookup_result result;
    std::chrono::steady_clock::time_point expires;
  };

  static void on_result(void* data, int err, ub_result* res);
  static bool valid_query_name(const std::string& name);
  const lookup_result* cache_get(const std::string& key);
  void cache_put(const std::string& key, const lookup_result& r);
  boost::asio::awaitable<void> pump();
  void cancel_query(query_state& q);

  boost::asio::any_io_executor ex_;
  resolver_options opts_;
  ub_ctx* ctx_ = nullptr;
  std::unique_ptr<boost::asio::posix::stream_descriptor> fd_;
  std::string anchor_owner_;
  std::size_t in_flight_ = 0;
  bool pumping_ = false;
  std::unordered_map<std::string, cache_entry> cache_;
  std::unordered_set<query_state*> live_;  // lookups in flight, orphaned by the destructor
  std::shared_ptr<bool> alive_;
};

// Sender authentication (SPF, DKIM, DMARC) must never be switched off by DNSSEC trouble (issue 15 item 0).
// With a trust anchor configured and an upstream that strips DNSSEC (many forwarders, cloud and ISP
// resolvers), every answer of a signed zone would be bogus, so every check would end in temperror. This
// startup check (blocking: one validates_dnssec() round, at most opts.timeout) decides which resolver to use:
// the validating one when the upstream delivers DNSSEC, else the same upstream without trust anchors, whose
// answers SPF, DKIM and DMARC use unvalidated (they do not require DNSSEC), while nothing is ever `secure`,
// so DANE stays off. The caller logs and alerts which (dnssec_unavailable).
struct dnssec_probe {
  resolver_options opts;    // what to use
  bool anchors = false;     // a trust anchor is configured
  bool validating = false;  // the self-check came back secure (opts are the ones given)
  bool unvalidated() const { return anchors && !validating; }  // anchors dropped: answers used unvalidated
};
dnssec_probe probe_dnssec(resolver_options opts);

}  // namespace mailfort::dns
