// smtp/server.cpp: listeners, accept loops and connection caps.
// SPDX-License-Identifier: MIT
#include "smtp/server.hpp"

#include "common/host_port.hpp"
#include "log/logger.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>

#include <stdexcept>

namespace mailfort::smtp {

namespace asio = boost::asio;
using asio::ip::tcp;

connection_tracker::verdict connection_tracker::acquire(const std::string& key, listener_kind kind, bool exempt) {
  std::lock_guard lk(mu_);
  const auto k = static_cast<std::size_t>(kind);
  // Slots the other listeners may still claim from their reserve.
  std::size_t held_back = 0;
  for (std::size_t i = 0; i < per_listener_.size(); ++i)
    if (i != k && listeners_[i] && per_listener_[i] < reserve_) held_back += reserve_ - per_listener_[i];
  if (total_.load() + 1 + held_back > max_total_) return verdict::too_many_total;
  if (!exempt) {
    auto& n = per_ip_[key];
    if (n >= max_per_ip_) {
      if (n == 0) per_ip_.erase(key);
      return verdict::too_many_per_ip;
    }
    ++n;
  }
  ++per_listener_[k];
  ++total_;
  return verdict::ok;
}

void connection_tracker::release(const std::string& key, listener_kind kind, bool exempt) {
  std::lock_guard lk(mu_);
  if (!exempt) {
    auto it = per_ip_.find(key);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  }
  auto& l = per_listener_[static_cast<std::size_t>(kind)];
  if (l > 0) --l;
  --total_;
}

tcp::endpoint parse_endpoint(const std::string& text) {
  auto hp = common::parse_host_port(text);
  if (!hp || !hp->port) throw std::invalid_argument("bad address '" + text + "' (want IPv4:port or [IPv6]:port)");
  boost::system::error_code ec;
  auto a = asio::ip::make_address(hp->host, ec);
  if (ec) throw std::invalid_argument("bad IP address '" + hp->host + "' in '" + text + "'");
  return tcp::endpoint(a, *hp->port);
}

server::server(server_deps deps)
    : deps_(std::move(deps)),
      tracker_(deps_.cfg->limits.max_connections, deps_.cfg->limits.max_connections_per_ip,
               deps_.cfg->limits.listener_reserve,
               {!deps_.cfg->listeners.mx.empty(), !deps_.cfg->listeners.submission.empty(),
                !deps_.cfg->listeners.submissions.empty()}) {}

namespace {

asio::awaitable<void> accept_loop(server& srv, std::shared_ptr<tcp::acceptor> acc, listener_kind kind) {
  for (;;) {
    auto [ec, sock] = co_await acc->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc->is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      log::error("accept_error", {{"listener", listener_name(kind)}, {"error", ec.message()}});
      asio::steady_timer t(acc->get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    spawn_connection(srv, std::move(sock), kind);
  }
}

}  // namespace

void server::start(const std::vector<asio::io_context*>& loops) {
  struct spec {
    const std::string* addr;
    listener_kind kind;
  };
  const auto& l = deps_.cfg->listeners;
  spec specs[] = {{&l.mx, listener_kind::mx},
                  {&l.submission, listener_kind::submission},
                  {&l.submissions, listener_kind::submissions}};
  for (const auto& sp : specs) {
    if (sp.addr->empty()) continue;
    tcp::endpoint ep;
    try {
      ep = parse_endpoint(*sp.addr);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("cannot listen on ") + listener_name(sp.kind) + ": " + e.what());
    }
    for (auto* ioc : loops) {
      auto acc = std::make_shared<tcp::acceptor>(*ioc);
      boost::system::error_code ec;
      acc->open(ep.protocol(), ec);
      if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) {
        int one = 1;
        if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
          ec = boost::system::error_code(errno, boost::system::system_category());
      }
      if (!ec) acc->bind(ep, ec);
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec)
        throw std::runtime_error(std::string("cannot listen on ") + listener_name(sp.kind) + " " + *sp.addr + ": " +
                                 ec.message());
      acceptors_.push_back(acc);
      asio::co_spawn(*ioc, accept_loop(*this, acc, sp.kind), asio::detached);
    }
    log::info("listen", {{"listener", listener_name(sp.kind)}, {"address", *sp.addr}});
  }
}

void server::stop() {
  for (auto& a : acceptors_) {
    boost::system::error_code ec;
    asio::post(a->get_executor(), [a] {
      boost::system::error_code ec2;
      a->close(ec2);
    });
    (void)ec;
  }
}

}  // namespace mailfort::smtp
