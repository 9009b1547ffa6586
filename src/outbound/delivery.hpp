// outbound/delivery.hpp: deliver one message to the recipients of one domain: routing (MX or smart host), TLS
// policy (DANE > MTA-STS > opportunistic STARTTLS), host and address fallback, one result per recipient.
// SPDX-License-Identifier: MIT
// Runs on one event loop (its dns::source belongs to that loop). No queue I/O: queue::runner hands in a
// request and applies the results to the queue file.
// Routing: MX records by preference, equal preferences shuffled, implicit MX, null MX -> permanent 5.1.10,
// NXDOMAIN -> permanent 5.1.2, DNS failure -> temporary. At most max_hosts hosts and max_addresses per
// host are tried. Addresses in loopback/private/link-local space are skipped unless allow_private (a hostile
// MX record must not make us connect into our own network); the smart host, set by the admin, is exempt.
// TLS policy per MX host (RFC 7672, RFC 8461), strongest wins:
//   DANE   when dane is on (the resolver validates DNSSEC), the MX RRset (or, for an implicit MX, the empty
//          answer) was DNSSEC-secure and the TLSA RRset at _<port>._tcp.<host> is secure and non-empty:
//          STARTTLS required and the chain must match; a bogus/failed TLSA lookup defers the host.
//   MTA-STS enforce: the host must match the policy's mx patterns and present a certificate valid for its
//          name; testing: delivered as opportunistic, a failure is logged (mta_sts_testing_failure).
//   else   opportunistic STARTTLS; plaintext only when STARTTLS is not offered (logged outbound_plaintext).
// The MTA-STS policy cache is kept in memory (per process; a restart fetches again).
// Not done: TLS-RPT reports (RFC 8460), per-destination TLS policy overrides in the config, IPv6 preference
// settings, DANE for the smart host.
#pragma once
#include "dns/source.hpp"
#include "outbound/client_connection.hpp"
#include "outbound/mta_sts.hpp"
#include "outbound/smtp_client.hpp"
#include "report/tlsrpt.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace mailfort::outbound {

using report::tlsrpt_session;  // what a delivery attempt reports (RFC 8460), counted by report::tlsrpt_store

struct engine_settings {
  std::string helo = "localhost";                     // EHLO name
  std::optional<boost::asio::ip::address> source_v4;  // outbound source addresses
  std::optional<boost::asio::ip::address> source_v6;
  bool allow_private = false;                 // deliver to loopback/private addresses (tests, LANs)
  std::uint16_t port = 25;                    // destination port for MX hosts (tests override)
  std::string smarthost;                      // "host:port" / "[v6]:port"; empty: MX routing
  std::optional<credentials> smarthost_auth;  // AUTH PLAIN at the smart host (requires verified TLS)
  std::string ca_file;                        // extra trust anchors (PEM); empty: system store
  bool dane = true;                           // already false when the resolver does not validate
  bool mta_sts = true;
  std::uint16_t mta_sts_port = 443;  // HTTPS port for policy fetches (tests override)
  client_timeouts timeouts;
  std::size_t max_hosts = 5;      // Postfix smtp_mx_address_limit
  std::size_t max_addresses = 2;  // per host
  // TLS-RPT (RFC 8460): called on the transport thread for every counted TLS session outcome (MX routing
  // only; a smart host is no policy domain). Empty: nothing is counted.
  std::function<void(const tlsrpt_session&)> tlsrpt;
  // Durable MTA-STS policy cache (state.db): read once per domain when it is first seen, written after every
  // fetch. Empty: the cache lives in memory only.
  std::function<std::optional<sts_cached_policy>(const std::string& domain)> sts_load;
  std::function<void(const std::string& domain, const sts_cached_policy&)> sts_save;
};

struct delivery_request {
  std::string queue_id;
  std::string sender;
  std::string domain;  // the recipients' domain (routing key)
  std::vector<std::string> recipients;
  std::string_view message;
  bool eight_bit = false;
  bool smtputf8 = false;
};

struct delivery_result {
  std::vector<rcpt_outcome> rcpts;  // one per request recipient
  std::string relay;                // "host[ip]:port" that gave the answer; empty if none did
  std::string tls;                  // "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" (plaintext / none)
  std::string policy;               // "dane", "mta-sts", "mta-sts-testing", "none", "smarthost"
};

class engine {
 public:
  engine(boost::asio::any_io_executor ex, dns::source& dns, engine_settings s);
  boost::asio::awaitable<delivery_result> deliver(const delivery_request& rq);
  const engine_settings& settings() const { return s_; }

 private:
  struct target {
    std::string host;  // name (for SNI/verify/logs)
    std::vector<boost::asio::ip::address> addrs;
    std::uint16_t port = 25;
  };
  boost::asio::awaitable<std::optional<sts_policy>> mta_sts_policy(const std::string& domain, std::string& note,
                                                                   bool& fetch_failed);
  boost::asio::awaitable<std::vector<boost::asio::ip::address>> addresses(const std::string& host, bool check_private,
                                                                          std::string& why);
  boost::asio::awaitable<transaction_result> try_host(const delivery_request& rq, const target& t, transaction tx,
                                                      std::string& relay, const tlsrpt_session* report = nullptr);
  void report(const tlsrpt_session& s) const;

  boost::asio::any_io_executor ex_;
  dns::source& dns_;
  engine_settings s_;
  std::map<std::string, sts_cached_policy> sts_cache_;
  std::set<std::string> sts_loaded_;  // domains already looked up in the durable cache
  std::mt19937 rng_;
};

}  // namespace mailfort::outbound
