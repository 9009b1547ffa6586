// outbound/host_addresses.hpp: a host name's A and AAAA addresses through dns::source, with the private-address check.
// SPDX-License-Identifier: MIT
// One lookup for every place that connects to a named host: delivery (MX hosts, the smart host), the MTA-STS
// policy fetch, and the auditor (MX hosts, PTR forward confirmation). A then AAAA, each in answer order;
// undecodable RDATA is skipped. With check_private, addresses that outbound::deliverable() refuses are left
// out (private_skipped says so), exactly as for MX hosts.
#pragma once
#include "dns/source.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <string>
#include <vector>

namespace mailfort::outbound {

struct host_address_lookup {
  std::vector<boost::asio::ip::address> addresses;
  bool a_failed = false;         // the A lookup timed out or failed (servfail)
  bool aaaa_failed = false;      // likewise for AAAA
  bool private_skipped = false;  // some address was left out by the private-address check
};

boost::asio::awaitable<host_address_lookup> lookup_host_addresses(dns::source& dns, std::string host,
                                                                  bool check_private, bool allow_private);

}  // namespace mailfort::outbound
