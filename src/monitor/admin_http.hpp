// monitor/admin_http.hpp: the admin HTTP listener: /metrics, /healthz, /readyz and a read-only JSON API.
// SPDX-License-Identifier: MIT
// SECURITY: this listener exposes operational data (queue, bans, per-user volumes), so it binds loopback only:
// start() refuses any other address unless admin_options::allow_public is set. There is NO TLS in this step:
// allow_public must stay off until TLS exists (the issue: "never on a public address unless configured with
// TLS"); the daemon maps config to it. Requests are parsed by Boost.Beast with bounded header size (8 KiB), no
// body, a per-connection deadline, a per-connection request cap and a cap on concurrent connections. With a
// bearer token configured, every route but /healthz needs `Authorization: Bearer <token>`, compared in
// constant time. A Host: that is not localhost, a loopback literal or the hostname is answered 421 (DNS
// rebinding from a browser on this machine). GET only; the API is read-only by design (changes go through the CLI).
//
// Routes: /metrics (text/plain; version=0.0.4), /healthz ("ok"), /readyz (ready() ? 200 : 503),
// /api/status /api/queue /api/bans /api/alerts (application/json from the callbacks). A route whose callback
// is empty answers 404. A throwing callback answers 500 and is logged.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::monitor {

struct admin_options {
  boost::asio::ip::tcp::endpoint endpoint{boost::asio::ip::make_address("127.0.0.1"), 9025};
  bool allow_public = false;                 // bind a non-loopback address (only once TLS exists)
  std::string bearer_token;                  // empty: no authentication (loopback only)
  std::vector<std::string> host_names;       // accepted in Host: besides localhost and loopback literals
  std::chrono::milliseconds timeout{10000};  // per request: reading it and writing the answer
  std::size_t max_header_bytes = 8192;
  unsigned max_requests_per_connection = 100;
  std::size_t max_connections = 32;  // concurrent; beyond, new connections are closed at accept
};

struct admin_handlers {
  std::function<std::string()> metrics;  // usually [&reg] { return reg.expose(); }
  std::function<bool()> ready;           // empty: always ready
  std::function<nlohmann::json()> status, queue, bans, alerts;
};

class admin_server {
 public:
  // ex must be single-threaded (one io_context run by one thread, or a strand): connection bookkeeping is not
  // locked. Handlers run on it, so they must not block for long.
  admin_server(boost::asio::any_io_executor ex, admin_options opts, admin_handlers handlers);
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  // Bind, listen and start accepting. Throws std::runtime_error("admin listener: refusing non-loopback address
  // 0.0.0.0:9025 without TLS ...") or ("admin listener 127.0.0.1:9025: Address already in use").
  void start();
  // Close the acceptor and every open connection (posted to the executor; returns at once).
  void stop();
  // The bound address (port 0 in options -> the real port), valid after start().
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;  // shared with the coroutines, so they may outlive this object safely
};

// Loopback: 127.0.0.0/8, ::1, and IPv4-mapped 127.0.0.0/8.
bool is_loopback(const boost::asio::ip::address& a);
// Equal without an early exit on the first differing byte: the time depends only on the expected length.
bool constant_time_equal(std::string_view given, std::string_view expected);
// Whether a request's Host: value may be answered (DNS rebinding): localhost, a loopback address literal
// (127.0.0.1, [::1]) or one of `names` (the hostname), each with or without a port; anything else is 421.
bool host_allowed(std::string_view host, const std::vector<std::string>& names);
// The token of an "Authorization: Bearer <token>" value (scheme case-insensitive); "" if it is not one.
std::string_view bearer_token_of(std::string_view authorization);

}  // namespace mailfort::monitor
