// audit/domain_audit.hpp: `mailfort audit domain DOMAIN`: the domain's mail DNS and each MX host.
// SPDX-License-Identifier: MIT
// DNS goes through dns::source (the validating resolver in the CLI, dns::static_source in tests), so DNSSEC
// state comes with every answer. MX hosts are audited concurrently (parallel_hosts at a time); every lookup
// has the resolver's timeout and every connection the probe's. Each MX host gets the `audit smtp` STARTTLS,
// certificate and TLS version sweep (1.0 to 1.3, weak ciphers) on its first address. Bounded: at most
// max_hosts MX hosts, 4 addresses per host, SPF walks of at most 30 DNS terms and include depth 10.
// DMARC: _dmarc.<domain>, else the organisational domain's record (Public Suffix List, auth/dmarc).
#pragma once
#include "audit/domain_observations.hpp"
#include "audit/mailbox_audit.hpp"
#include "audit/report.hpp"
#include "dns/resolver.hpp"
#include "dns/source.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mailfort::audit {

struct domain_audit_options {
  std::string domain;
  std::vector<std::string> dkim_selectors;
  std::vector<std::string> dnsbl_zones = {"zen.spamhaus.org", "b.barracudacentral.org"};
  std::uint16_t mx_port = 25;      // where to probe each MX (tests use a high port)
  std::uint16_t https_port = 443;  // MTA-STS policy host port (tests)
  std::string ca_file;             // extra roots for the MX certificates and the MTA-STS host
  std::chrono::milliseconds timeout{10000};
  std::size_t max_hosts = 10;
  std::size_t parallel_hosts = 4;  // MX hosts probed at the same time
  bool smtp_probe = true;          // connect to each MX
  bool tls_versions = true;        // per MX: TLS 1.0/1.1/1.2/1.3 and weak-cipher handshakes
  // Per MX (first address, with smtp_probe): its IMAP/POP3 ports, as `audit smtp` does (audit/mailbox_audit.hpp).
  bool mailbox_probe = true;
  mailbox_ports mailbox;
};

// The SPF walk: record selection, syntax, DNS-term and void-lookup counts, the effective "all".
boost::asio::awaitable<spf_obs> walk_spf(dns::source& dns, std::string domain);

boost::asio::awaitable<domain_observations> probe_domain(boost::asio::any_io_executor ex, dns::source& dns,
                                                         domain_audit_options opt, report& rep);

// Runs the whole audit on its own io_context with a resolver built from ropts (CLI use).
report run_domain_audit(const domain_audit_options& opt, const dns::resolver_options& ropts);

}  // namespace mailfort::audit
