// publish/sts_server.cpp: accept, TLS handshake, one bounded request, the answer, close.
// SPDX-License-Identifier: MIT
#include "publish/sts_server.hpp"

#include "common/host_port.hpp"
#include "log/logger.hpp"
#include "publish/http_request.hpp"
#include "publish/sts_config.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <set>

namespace mailfort::publish {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct sts_server::impl {
  impl(asio::any_io_executor e, tls::context_holder& t, sts_server_options o)
      : ex(std::move(e)), tls(t), opts(std::move(o)), acceptor(ex) {}
  asio::any_io_executor ex;
  tls::context_holder& tls;
  sts_server_options opts;
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  std::set<tcp::socket*> conns;  // touched only on ex
  bool stopped = false;
};

namespace {

std::string endpoint_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

struct conn_registration {
  sts_server::impl& s;
  tcp::socket* sock;
  ~conn_registration() { s.conns.erase(sock); }
};

// The printable first bytes of untrusted text, for the log.
std::string printable(std::string_view s, std::size_t max = 128) {
  std::string o;
  for (char c : s.substr(0, max)) o += (c >= 0x20 && c < 0x7f) ? c : '?';
  return o;
}

asio::awaitable<void> serve_connection(std::shared_ptr<sts_server::impl> self, tcp::socket sock) {
  boost::system::error_code ec;
  auto peer = sock.remote_endpoint(ec);
  const std::string client = ec ? std::string("?") : peer.address().to_string();
  auto ctx = self->tls.get();
  asio::ssl::stream<tcp::socket> stream(std::move(sock), *ctx);
  tcp::socket* raw = &stream.next_layer();
  self->conns.insert(raw);
  conn_registration reg{*self, raw};
  // One deadline for the whole exchange: when it fires the socket is closed and every pending operation ends.
  asio::steady_timer deadline(self->ex);
  deadline.expires_after(self->opts.timeout);
  deadline.async_wait([raw](const boost::system::error_code& e) {
    if (!e) {
      boost::system::error_code ignored;
      raw->close(ignored);
    }
  });
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  if (!hec) {
    std::string buf;
    std::array<char, 2048> chunk{};
    http_parse_result parsed;
    for (;;) {
      parsed = parse_http_request(buf);
      if (parsed.status != http_parse_status::incomplete) break;
      const std::size_t room = http_max_head - buf.size();
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(chunk.data(), std::min(room, chunk.size())),
                                                      asio::as_tuple(asio::use_awaitable));
      if (rec) break;
      buf.append(chunk.data(), n);
    }
    if (parsed.status != http_parse_status::incomplete) {
      http_response resp = parsed.status == http_parse_status::ok
                               ? respond(parsed.request, self->opts.domains, self->opts.policy)
                               : respond_error(parsed.status);
      log::info("mta_sts_served", {{"client", client},
                                   {"host", printable(parsed.request.host)},
                                   {"target", printable(parsed.request.target)},
                                   {"status", resp.status},
                                   {"error", parsed.error}});
      const std::string wire = serialize(resp);
      auto [wec, nw] = co_await asio::async_write(stream, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
      (void)nw;
      if (!wec) co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    }
  }
  deadline.cancel();
  raw->close(ec);
}

asio::awaitable<void> accept_loop(std::shared_ptr<sts_server::impl> self) {
  for (;;) {
    auto [ec, sock] = co_await self->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open() || self->stopped) co_return;
      log::error("accept_error", {{"listener", "mta_sts"}, {"error", ec.message()}});
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

sts_server::sts_server(asio::any_io_executor ex, tls::context_holder& tls, sts_server_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), tls, std::move(opts))) {}

sts_server::~sts_server() = default;

void sts_server::start() {
  const auto& ep = impl_->opts.endpoint;
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
    throw std::runtime_error("mta_sts listener " + endpoint_text(ep) + ": " + ec.message());
  }
  log::info("listen", {{"listener", "mta_sts"}, {"address", endpoint_text(impl_->bound)}});
  log::info("mta_sts_hosting",
            {{"domains", impl_->opts.domains}, {"id", impl_->opts.policy_id}, {"policy", impl_->opts.policy}});
  asio::co_spawn(impl_->ex, accept_loop(impl_), asio::detached);
}

void sts_server::stop() {
  asio::post(impl_->ex, [s = impl_] {
    s->stopped = true;
    boost::system::error_code ec;
    s->acceptor.close(ec);
    for (auto* c : s->conns) c->close(ec);
  });
}

asio::ip::tcp::endpoint sts_server::local_endpoint() const { return impl_->bound; }

std::unique_ptr<sts_server> start_sts_server(const config::config& cfg, tls::context_holder& tls,
                                             asio::any_io_executor ex) {
  if (cfg.mta_sts.listen.empty()) return nullptr;
  auto hp = common::parse_host_port(cfg.mta_sts.listen);
  boost::system::error_code ec;
  auto addr = hp ? asio::ip::make_address(hp->host, ec) : asio::ip::address();
  if (!hp || !hp->port || ec) throw std::runtime_error("mta_sts.listen '" + cfg.mta_sts.listen + "' is not ADDR:PORT");
  sts_server_options o;
  o.endpoint = tcp::endpoint(addr, *hp->port);
  o.domains = cfg.domains;
  o.policy = sts_policy_body(sts_input_of(cfg));
  o.policy_id = sts_policy_id(o.policy);
  auto s = std::make_unique<sts_server>(std::move(ex), tls, std::move(o));
  s->start();
  return s;
}

}  // namespace mailfort::publish
