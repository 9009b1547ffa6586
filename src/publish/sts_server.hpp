// publish/sts_server.hpp: the MTA-STS policy listener ([mta_sts] listen): HTTPS serving only
// /.well-known/mta-sts.txt for Host mta-sts.<domain> (RFC 8461 3.3), with the server's TLS context.
// SPDX-License-Identifier: MIT
// Untrusted input: any client on the HTTPS port. Each connection gets one deadline for the handshake, the request and
// the answer (timeout); the request head is read into a bounded buffer and judged by the pure reader
// (publish/http_request.hpp); one request per connection; at most max_connections at once (more are closed at
// accept). The TLS context is fetched from the holder for every connection, so a reloaded certificate applies to the
// next handshake. Runs on one single-threaded executor (loop 0).
#pragma once
#include "config/config.hpp"
#include "tls/server_context.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace mailfort::publish {

struct sts_server_options {
  boost::asio::ip::tcp::endpoint endpoint;
  std::vector<std::string> domains;  // served as mta-sts.<domain>
  std::string policy;                // the body (sts_policy_body)
  std::string policy_id;             // for the log
  std::chrono::milliseconds timeout{10000};
  std::size_t max_connections = 64;
};

class sts_server {
 public:
  sts_server(boost::asio::any_io_executor ex, tls::context_holder& tls, sts_server_options opts);
  ~sts_server();
  sts_server(const sts_server&) = delete;
  sts_server& operator=(const sts_server&) = delete;
  // Bind and accept; throws std::runtime_error("mta_sts listener ADDR: reason").
  void start();
  // Close the acceptor and every connection (posted; returns at once).
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

// The listener of a configuration ([mta_sts] listen, every local domain, the policy of sts_input_of(cfg)), started;
// nullptr when mta_sts.listen is empty. Throws as start() does.
std::unique_ptr<sts_server> start_sts_server(const config::config& cfg, tls::context_holder& tls,
                                             boost::asio::any_io_executor ex);

}  // namespace mailfort::publish
