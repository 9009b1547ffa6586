// outbound/sts_fetch.hpp: fetch an MTA-STS policy over HTTPS (Boost.Beast), certificate verified, bounded, no
// redirects. SPDX-License-Identifier: MIT RFC 8461 3.3: GET https://mta-sts.<domain>/.well-known/mta-sts.txt; the
// certificate must be valid for the host name (PKIX against the trust store); redirects are not followed (a 3xx is just
// a non-200 status); the body is read up to sts_max_policy_size + 1 bytes and then cut (body_truncated). The whole
// fetch (DNS, connect, handshake, request, response) has one deadline. The host's addresses come from our own resolver
// and go through the same address check as MX hosts (no private addresses unless allowed). The outcome is handed to
// sts_discover() (outbound/mta_sts.hpp), which makes every decision.
#pragma once
#include "dns/source.hpp"
#include "outbound/mta_sts.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace mailfort::outbound {

struct sts_fetch_options {
  std::uint16_t port = 443;    // tests override it
  std::string ca_file;         // PEM trust anchors; empty: the system store
  bool allow_private = false;  // as outbound.allow_private
  std::chrono::milliseconds timeout{20'000};
};

boost::asio::awaitable<sts_https_response> fetch_sts_policy(boost::asio::any_io_executor ex, dns::source& dns,
                                                            std::string host, sts_fetch_options opts);

}  // namespace mailfort::outbound
