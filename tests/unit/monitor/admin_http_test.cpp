// tests/unit/monitor/admin_http_test.cpp: the admin listener on a loopback port, driven by a raw-socket client.
// SPDX-License-Identifier: MIT
#include "monitor/admin_http.hpp"
#include "monitor/alerts.hpp"
#include "monitor/metrics.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <thread>

using namespace mailfort;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// The server on its own io_context and thread, as the daemon will run it.
struct running_server {
  asio::io_context ioc;
  monitor::admin_server srv;
  std::thread thread;
  running_server(monitor::admin_options o, monitor::admin_handlers h)
      : srv(ioc.get_executor(), std::move(o), std::move(h)) {
    srv.start();
    thread = std::thread([this] { ioc.run(); });
  }
  ~running_server() {
    srv.stop();
    thread.join();  // returns once the acceptor and every connection are closed
  }
  unsigned short port() const { return srv.local_endpoint().port(); }
};

monitor::admin_options loopback_options() {
  monitor::admin_options o;
  o.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  return o;
}

// Connects, sends raw bytes, reads until the server closes (or 5 s pass). Returns everything received; `closed`
// tells whether the server ended the connection.
std::string roundtrip(unsigned short port, const std::string& bytes, bool* closed = nullptr) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{5, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  boost::system::error_code ec;
  if (!bytes.empty()) asio::write(s, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  bool eof = false;
  for (;;) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) {
      // EOF or reset: closed by the server. A receive timeout surfaces as would_block/try_again.
      eof = ec != asio::error::would_block && ec != asio::error::try_again;
      break;
    }
  }
  if (closed) *closed = eof;
  return out;
}

std::string get(unsigned short port, const std::string& path, const std::string& extra_headers = "") {
  return roundtrip(port,
                   "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + extra_headers + "\r\n");
}

int status_of(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

bool has_header(const std::string& response, const std::string& line) {
  auto head = response.substr(0, response.find("\r\n\r\n"));
  return head.find("\r\n" + line + "\r\n") != std::string::npos || head.ends_with("\r\n" + line);
}

}  // namespace

TEST(admin_http, helpers) {
  EXPECT_TRUE(monitor::is_loopback(asio::ip::make_address("127.0.0.1")));
  EXPECT_TRUE(monitor::is_loopback(asio::ip::make_address("127.9.8.7")));
  EXPECT_TRUE(monitor::is_loopback(asio::ip::make_address("::1")));
  EXPECT_TRUE(monitor::is_loopback(asio::ip::make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(monitor::is_loopback(asio::ip::make_address("0.0.0.0")));
  EXPECT_FALSE(monitor::is_loopback(asio::ip::make_address("::")));
  EXPECT_FALSE(monitor::is_loopback(asio::ip::make_address("192.0.2.1")));
  EXPECT_FALSE(monitor::is_loopback(asio::ip::make_address("::ffff:192.0.2.1")));

  EXPECT_TRUE(monitor::constant_time_equal("s3cret", "s3cret"));
  EXPECT_FALSE(monitor::constant_time_equal("s3creT", "s3cret"));
  EXPECT_FALSE(monitor::constant_time_equal("s3cre", "s3cret"));
  EXPECT_FALSE(monitor::constant_time_equal("s3crets3cret", "s3cret"));
  EXPECT_FALSE(monitor::constant_time_equal("", "s3cret"));
  EXPECT_FALSE(monitor::constant_time_equal("", ""));  // an empty token never authenticates

  EXPECT_EQ(monitor::bearer_token_of("Bearer abc"), "abc");
  EXPECT_EQ(monitor::bearer_token_of("bEaReR   abc "), "abc");
  EXPECT_EQ(monitor::bearer_token_of("Basic abc"), "");
  EXPECT_EQ(monitor::bearer_token_of("Bearerabc"), "");
  EXPECT_EQ(monitor::bearer_token_of("Bearer"), "");
}

TEST(admin_http, host_allowed) {
  const std::vector<std::string> names = {"mx.example.org"};
  for (const char* ok :
       {"localhost", "LocalHost:9025", "localhost.", "127.0.0.1", "127.0.0.1:9025", "127.1.2.3", "[::1]", "[::1]:9025",
        "[::ffff:127.0.0.1]", "mx.example.org", "MX.Example.org.:9025", " localhost "})
    EXPECT_TRUE(monitor::host_allowed(ok, names)) << ok;
  for (const char* bad : {"evil.example",
                          "evil.example:9025",
                          "localhost.evil.example",
                          "127.0.0.1.evil.example",
                          "192.0.2.1",
                          "0.0.0.0",
                          "[::]",
                          "[2001:db8::1]:9025",
                          "::1",
                          "127.1",
                          "2130706433",
                          "localhost:",
                          "localhost:abc",
                          "localhost:123456",
                          "[::1",
                          "[::1]x",
                          "",
                          ":9025",
                          "example.org",
                          "mx.example.org.evil"})
    EXPECT_FALSE(monitor::host_allowed(bad, names)) << bad;
  EXPECT_FALSE(monitor::host_allowed("mx.example.org", {}));
}

TEST(admin_http, foreign_host_is_refused) {
  monitor::admin_handlers h;
  h.metrics = [] { return std::string("m 1\n"); };
  auto o = loopback_options();
  o.host_names = {"mx.example.org"};
  running_server s(o, h);
  auto req = [&](const std::string& host_line, const char* version = "HTTP/1.1") {
    return status_of(
        roundtrip(s.port(), std::string("GET /metrics ") + version + "\r\n" + host_line + "Connection: close\r\n\r\n"));
  };
  EXPECT_EQ(req("Host: localhost:9025\r\n"), 200);
  EXPECT_EQ(req("Host: mx.example.org\r\n"), 200);
  EXPECT_EQ(req("Host: [::1]:9025\r\n"), 200);
  EXPECT_EQ(req("Host: rebind.evil.example:9025\r\n"), 421);
  EXPECT_EQ(req(""), 421);  // HTTP/1.1 without Host (RFC 9112 3.2)
  auto r = roundtrip(s.port(), "GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(r), 421);  // every path, /healthz included
  EXPECT_EQ(body_of(r).find("ok"), std::string::npos);
  // HTTP/1.0 may omit Host (the status line then says 1.1 anyway: Beast answers with its version)
  auto r10 = roundtrip(s.port(), "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_NE(r10.find(" 200 "), std::string::npos) << r10;
}

TEST(admin_http, routes) {
  monitor::registry reg;
  reg.add_counter("mailfort_test_total", "t").with({}).inc(5);
  common::manual_clock clk;
  monitor::alert_manager alerts;
  alerts.update("cert_expired", "/etc/x.pem", true, monitor::severity::critical, "expired", clk.now());
  bool ready = false;
  monitor::admin_handlers h;
  h.metrics = [&] { return reg.expose(); };
  h.ready = [&] { return ready; };
  h.alerts = [&] { return monitor::to_json(alerts.active()); };
  h.status = [] { return nlohmann::json{{"version", "0.1.0"}, {"odd", "bad\xFFutf8"}}; };
  h.bans = []() -> nlohmann::json { throw std::runtime_error("db gone"); };
  running_server s(loopback_options(), h);

  auto r = get(s.port(), "/metrics");
  EXPECT_EQ(status_of(r), 200);
  EXPECT_TRUE(has_header(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8")) << r;
  EXPECT_EQ(body_of(r), reg.expose());

  r = get(s.port(), "/healthz");
  EXPECT_EQ(status_of(r), 200);
  EXPECT_EQ(body_of(r), "ok\n");

  EXPECT_EQ(status_of(get(s.port(), "/readyz")), 503);
  ready = true;
  EXPECT_EQ(status_of(get(s.port(), "/readyz")), 200);

  r = get(s.port(), "/api/alerts");
  EXPECT_EQ(status_of(r), 200);
  EXPECT_TRUE(has_header(r, "Content-Type: application/json")) << r;
  auto j = nlohmann::json::parse(body_of(r));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "cert_expired");
  EXPECT_EQ(j[0]["severity"], "critical");

  r = get(s.port(), "/api/status?pretty=1");  // a query string does not change the route
  EXPECT_EQ(status_of(r), 200);
  EXPECT_EQ(nlohmann::json::parse(body_of(r))["odd"], "bad\xEF\xBF\xBDutf8");  // invalid UTF-8 replaced

  EXPECT_EQ(status_of(get(s.port(), "/api/bans")), 500);
  EXPECT_EQ(status_of(get(s.port(), "/api/queue")), 404);  // no handler given
  EXPECT_EQ(status_of(get(s.port(), "/nope")), 404);
  EXPECT_EQ(status_of(get(s.port(), "/metrics/../healthz")), 404);

  r = roundtrip(s.port(),
                "POST /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_of(r), 405);
  EXPECT_TRUE(has_header(r, "Allow: GET")) << r;
  EXPECT_EQ(status_of(roundtrip(s.port(), "DELETE /api/bans HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")),
            405);
}

TEST(admin_http, bearer_token) {
  monitor::admin_options o = loopback_options();
  o.bearer_token = "s3cret-token";
  monitor::admin_handlers h;
  h.metrics = [] { return std::string("m 1\n"); };
  running_server s(o, h);

  auto r = get(s.port(), "/metrics");
  EXPECT_EQ(status_of(r), 401);
  EXPECT_TRUE(has_header(r, "WWW-Authenticate: Bearer realm=\"mailfort\"")) << r;
  EXPECT_EQ(body_of(r).find("m 1"), std::string::npos);
  EXPECT_EQ(status_of(get(s.port(), "/metrics", "Authorization: Bearer wrong\r\n")), 401);
  EXPECT_EQ(status_of(get(s.port(), "/metrics", "Authorization: Basic czNjcmV0LXRva2Vu\r\n")), 401);
  EXPECT_EQ(status_of(get(s.port(), "/metrics", "Authorization: Bearer s3cret-token\r\n")), 200);
  EXPECT_EQ(status_of(get(s.port(), "/metrics", "Authorization: bearer s3cret-token\r\n")), 200);
  EXPECT_EQ(status_of(get(s.port(), "/healthz")), 200);  // open for health checkers
  EXPECT_EQ(status_of(get(s.port(), "/nope")), 401);     // no route probing without the token
  // Without the token, other methods are 401 too: the method is checked only for authenticated requests.
  EXPECT_EQ(status_of(roundtrip(s.port(), "PUT /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")),
            401);
  EXPECT_EQ(status_of(roundtrip(s.port(),
                                "PUT /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                "Authorization: Bearer s3cret-token\r\n\r\n")),
            405);
}

TEST(admin_http, oversized_request_is_refused_and_closed) {
  monitor::admin_handlers h;
  h.metrics = [] { return std::string("m 1\n"); };
  running_server s(loopback_options(), h);
  bool closed = false;
  std::string big = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n";
  auto r = roundtrip(s.port(), big, &closed);
  EXPECT_TRUE(closed);
  // The server may reset before its 431 reaches us (the rest of the request is unread); never a 200.
  EXPECT_TRUE(r.empty() || status_of(r) == 431) << r.substr(0, 200);
  // A header just under the limit is fine.
  EXPECT_EQ(status_of(get(s.port(), "/metrics", "X-Pad: " + std::string(7000, 'a') + "\r\n")), 200);
  // A request body is refused before it is read.
  r = roundtrip(s.port(), "GET /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello", &closed);
  EXPECT_EQ(status_of(r), 413);
  EXPECT_TRUE(closed);
  // Garbage is a 400 and a close.
  r = roundtrip(s.port(), "HELO example.org\r\n\r\n", &closed);
  EXPECT_EQ(status_of(r), 400);
  EXPECT_TRUE(closed);
}

TEST(admin_http, keep_alive_is_limited) {
  monitor::admin_options o = loopback_options();
  o.max_requests_per_connection = 2;
  monitor::admin_handlers h;
  running_server s(o, h);
  std::string one = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";  // keep-alive by default in HTTP/1.1
  bool closed = false;
  auto r = roundtrip(s.port(), one + one + one, &closed);
  EXPECT_TRUE(closed);
  std::size_t responses = 0;
  for (auto p = r.find("HTTP/1.1 200"); p != std::string::npos; p = r.find("HTTP/1.1 200", p + 1)) ++responses;
  EXPECT_EQ(responses, 2u) << r;
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos) << r;  // the second answer says so
}

TEST(admin_http, idle_connection_times_out) {
  monitor::admin_options o = loopback_options();
  o.timeout = std::chrono::milliseconds(300);
  running_server s(o, {});
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  auto r = roundtrip(s.port(), "GET /healthz HTTP/1.1\r\n", &closed);  // never finishes the header
  EXPECT_TRUE(closed);
  EXPECT_TRUE(r.empty()) << r;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST(admin_http, refuses_public_address_unless_allowed) {
  asio::io_context ioc;
  monitor::admin_options o;
  o.endpoint = tcp::endpoint(asio::ip::make_address("0.0.0.0"), 0);
  monitor::admin_server refused(ioc.get_executor(), o, {});
  try {
    refused.start();
    FAIL() << "bound a public address";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing non-loopback address 0.0.0.0:0"), std::string::npos) << e.what();
  }
  o.allow_public = true;
  monitor::admin_server allowed(ioc.get_executor(), o, {});
  EXPECT_NO_THROW(allowed.start());
  EXPECT_NE(allowed.local_endpoint().port(), 0);
  allowed.stop();
  ioc.run();
}

TEST(admin_http, busy_port_is_a_clear_error_and_stop_closes) {
  monitor::admin_handlers h;
  auto s = std::make_unique<running_server>(loopback_options(), h);
  unsigned short port = s->port();
  asio::io_context ioc;
  monitor::admin_options o = loopback_options();
  o.endpoint.port(port);
  monitor::admin_server second(ioc.get_executor(), o, {});
  try {
    second.start();
    FAIL() << "two listeners on one port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
  s.reset();  // stop() and join
  asio::io_context cio;
  tcp::socket c(cio);
  boost::system::error_code ec;
  c.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_TRUE(ec) << "still accepting after stop()";
}
