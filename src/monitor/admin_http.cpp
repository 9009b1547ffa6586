// monitor/admin_http.cpp: the admin listener's accept loop, connection coroutine and routes (Boost.Beast).
// SPDX-License-Identifier: MIT
#include "monitor/admin_http.hpp"

#include "log/logger.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>

namespace mailfort::monitor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

bool constant_time_equal(std::string_view given, std::string_view expected) {
  // Every byte of `expected` is visited whatever `given` holds, and differences are OR-ed, not branched on.
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = given.empty() ? 0 : static_cast<unsigned char>(given[i % given.size()]);
    diff |= static_cast<unsigned>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0 && !expected.empty();
}

bool host_allowed(std::string_view host, const std::vector<std::string>& names) {
  while (!host.empty() && (host.front() == ' ' || host.front() == '\t')) host.remove_prefix(1);
  while (!host.empty() && (host.back() == ' ' || host.back() == '\t')) host.remove_suffix(1);
  std::string_view name, port;
  if (!host.empty() && host.front() == '[') {  // an IPv6 literal: "[::1]" or "[::1]:9025"
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(1, close - 1);
    auto rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
    boost::system::error_code ec;
    auto a = asio::ip::make_address_v6(std::string(name), ec);
    if (ec) return false;
    if (!port.empty() && (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos))
      return false;
    return is_loopback(a);
  }
  auto colon = host.find(':');
  name = host.substr(0, colon);
  if (colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // "localhost." is the same name
  if (name.empty()) return false;
  auto iequal = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
             return lower(x) == lower(y);
           });
  };
  if (iequal(name, "localhost")) return true;
  // Only a dotted-quad literal counts as an address ("127.1" or "2130706433" are names a resolver may turn into
  // anything, so they must match a configured name instead).
  if (name.find_first_not_of("0123456789.") == std::string_view::npos &&
      std::count(name.begin(), name.end(), '.') == 3) {
    boost::system::error_code ec;
    auto a = asio::ip::make_address_v4(std::string(name), ec);
    return !ec && is_loopback(a);
  }
  for (const auto& n : names) {
    std::string_view want = n;
    if (!want.empty() && want.back() == '.') want.remove_suffix(1);
    if (!want.empty() && iequal(name, want)) return true;
  }
  return false;
}

std::string_view bearer_token_of(std::string_view v) {
  // RFC 6750 section 2.1: "Bearer" (case-insensitive), one or more spaces, the token.
  constexpr std::string_view scheme = "bearer";
  if (v.size() <= scheme.size()) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = v[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i]) return {};
  }
  v.remove_prefix(scheme.size());
  if (v.front() != ' ') return {};
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

struct admin_server::impl {
  impl(asio::any_io_executor e, admin_options o, admin_handlers h)
      : ex(std::move(e)), opts(std::move(o)), handlers(std::move(h)), acceptor(ex) {}
  asio::any_io_executor ex;
  admin_options opts;
  admin_handlers handlers;
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  std::set<beast::tcp_stream*> conns;  // open connections, for stop(); touched only on ex
  bool stopped = false;
};

namespace {

using request = http::request<http::empty_body>;
using response = http::response<http::string_body>;

std::string endpoint_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

response make(http::status st, unsigned version, std::string_view type, std::string body) {
  response res{st, version};
  res.set(http::field::content_type, type);
  // Operational data: never cached by a proxy or browser, never sniffed into something executable.
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(body);
  return res;
}

response text(http::status st, unsigned version, std::string body) {
  return make(st, version, "text/plain; charset=utf-8", std::move(body));
}

response route(admin_server::impl& s, const request& req, const std::string& client) {
  std::string_view target = req.target();
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  const unsigned v = req.version();

  // DNS rebinding: a web page can make a browser on this machine send requests to 127.0.0.1 under the page's own
  // name. Only loopback literals, localhost and our hostname are answered (HTTP/1.0 may omit Host; a browser
  // never does), so such a page never reads metrics or the API, whatever the path.
  auto host = req.find(http::field::host);
  if (host == req.end() ? v >= 11 : !host_allowed(host->value(), s.opts.host_names)) {
    std::string given = host == req.end() ? std::string() : std::string(std::string_view(host->value()).substr(0, 128));
    log::warning("admin_host_refused", {{"client", client}, {"host", given}});
    return text(http::status::misdirected_request, v, "misdirected request: unknown Host\n");
  }

  // /healthz stays open so a load balancer or systemd watchdog needs no secret.
  if (!s.opts.bearer_token.empty() && path != "/healthz") {
    auto it = req.find(http::field::authorization);
    std::string_view given = it == req.end() ? std::string_view{} : bearer_token_of(it->value());
    if (!constant_time_equal(given, s.opts.bearer_token)) {
      log::warning("admin_auth_failure", {{"client", client}, {"path", std::string(path.substr(0, 128))}});
      auto res = text(http::status::unauthorized, v, "unauthorized\n");
      res.set(http::field::www_authenticate, "Bearer realm=\"mailfort\"");
      return res;
    }
  }
  if (req.method() != http::verb::get) {
    auto res = text(http::status::method_not_allowed, v, "method not allowed\n");
    res.set(http::field::allow, "GET");
    return res;
  }
  try {
    if (path == "/healthz") return text(http::status::ok, v, "ok\n");
    if (path == "/readyz") {
      bool ok = !s.handlers.ready || s.handlers.ready();
      return text(ok ? http::status::ok : http::status::service_unavailable, v, ok ? "ready\n" : "not ready\n");
    }
    if (path == "/metrics" && s.handlers.metrics)
      return make(http::status::ok, v, "text/plain; version=0.0.4; charset=utf-8", s.handlers.metrics());
    const std::function<nlohmann::json()>* api = nullptr;
    if (path == "/api/status")
      api = &s.handlers.status;
    else if (path == "/api/queue")
      api = &s.handlers.queue;
    else if (path == "/api/bans")
      api = &s.handlers.bans;
    else if (path == "/api/alerts")
      api = &s.handlers.alerts;
    if (api && *api) {
      // replace: user names and subjects may hold invalid UTF-8; dump() would throw on them otherwise.
      auto body = (*api)().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
      body += '\n';
      return make(http::status::ok, v, "application/json", std::move(body));
    }
  } catch (const std::exception& e) {
    log::error("admin_handler_error", {{"path", std::string(path)}, {"error", e.what()}});
    return text(http::status::internal_server_error, v, "internal error\n");
  }
  return text(http::status::not_found, v, "not found\n");
}

// Removes the connection from the open set however the coroutine ends.
struct conn_registration {
  admin_server::impl& s;
  beast::tcp_stream* stream;
  ~conn_registration() { s.conns.erase(stream); }
};

asio::awaitable<void> serve_connection(std::shared_ptr<admin_server::impl> self, tcp::socket sock) {
  boost::system::error_code ec;
  auto peer = sock.remote_endpoint(ec);
  std::string client = ec ? std::string("?") : peer.address().to_string();
  beast::tcp_stream stream(std::move(sock));
  self->conns.insert(&stream);
  conn_registration reg{*self, &stream};
  // The buffer may hold the next pipelined request; the header limit below triggers before its cap.
  beast::flat_buffer buf(self->opts.max_header_bytes + 4096);

  for (unsigned n = 0; n < self->opts.max_requests_per_connection && !self->stopped; ++n) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(self->opts.max_header_bytes, UINT32_MAX)));
    parser.body_limit(0);  // GET has no body; anything else is refused before it is read
    stream.expires_after(self->opts.timeout);
    auto [rec, nread] = co_await http::async_read(stream, buf, parser, asio::as_tuple(asio::use_awaitable));
    (void)nread;
    if (rec) {
      // Say why when the request was merely too big or malformed, then close: the rest of the stream is
      // unframed. Timeouts, resets and a clean end of stream just close.
      std::optional<response> err;
      if (rec == http::error::header_limit || rec == http::error::buffer_overflow)
        err = text(http::status::request_header_fields_too_large, 11, "request header too large\n");
      else if (rec == http::error::body_limit || rec == http::error::unexpected_body)
        err = text(http::status::payload_too_large, 11, "no request body allowed\n");
      else if (rec.category() == boost::system::error_code(http::error::bad_method).category() &&
               rec != http::error::end_of_stream && rec != http::error::partial_message)
        err = text(http::status::bad_request, 11, "bad request\n");
      if (err) {
        err->keep_alive(false);
        err->prepare_payload();
        stream.expires_after(self->opts.timeout);
        co_await http::async_write(stream, *err, asio::as_tuple(asio::use_awaitable));
      }
      break;
    }
    const auto& req = parser.get();
    response res = route(*self, req, client);
    bool last = n + 1 >= self->opts.max_requests_per_connection || !req.keep_alive() || self->stopped;
    res.keep_alive(!last);
    res.prepare_payload();
    stream.expires_after(self->opts.timeout);
    auto [wec, nwritten] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    (void)nwritten;
    if (wec || last) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

asio::awaitable<void> accept_loop(std::shared_ptr<admin_server::impl> self) {
  for (;;) {
    auto [ec, sock] = co_await self->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open() || self->stopped) co_return;
      log::error("accept_error", {{"listener", "admin"}, {"error", ec.message()}});
      asio::steady_timer t(self->ex, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (self->conns.size() >= self->opts.max_connections) {
      boost::system::error_code ignored;
      sock.close(ignored);
      continue;
    }
    asio::co_spawn(self->ex, serve_connection(self, std::move(sock)), asio::detached);
  }
}

}  // namespace

admin_server::admin_server(asio::any_io_executor ex, admin_options opts, admin_handlers handlers)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts), std::move(handlers))) {}

admin_server::~admin_server() = default;

void admin_server::start() {
  const auto& ep = impl_->opts.endpoint;
  if (!impl_->opts.allow_public && !is_loopback(ep.address()))
    throw std::runtime_error("admin listener: refusing non-loopback address " + endpoint_text(ep) +
                             " (the admin listener has no TLS yet; keep it on 127.0.0.1 or ::1)");
  auto& acc = impl_->acceptor;
  boost::system::error_code ec;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) impl_->bound = acc.local_endpoint(ec);
  if (ec) {
    boost::system::error_code ignored;
    acc.close(ignored);
    throw std::runtime_error("admin listener " + endpoint_text(ep) + ": " + ec.message());
  }
  log::info("listen", {{"listener", "admin"},
                       {"address", endpoint_text(impl_->bound)},
                       {"auth", impl_->opts.bearer_token.empty() ? "none" : "bearer"}});
  asio::co_spawn(impl_->ex, accept_loop(impl_), asio::detached);
}

void admin_server::stop() {
  asio::post(impl_->ex, [s = impl_] {
    s->stopped = true;
    boost::system::error_code ec;
    s->acceptor.close(ec);
    for (auto* c : s->conns) c->socket().close(ec);
  });
}

tcp::endpoint admin_server::local_endpoint() const { return impl_->bound; }

}  // namespace mailfort::monitor
