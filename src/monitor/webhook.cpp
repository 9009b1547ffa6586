// monitor/webhook.cpp: a bounded, ordered JSON POSTer (Boost.Beast).
// SPDX-License-Identifier: MIT
#include "monitor/webhook.hpp"

#include "common/host_port.hpp"
#include "log/logger.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>

namespace mailfort::monitor {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<webhook_url> parse_webhook_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.size() > 2048 || url.substr(0, scheme.size()) != scheme) return std::nullopt;
  url.remove_prefix(scheme.size());
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return std::nullopt;
  webhook_url u;
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) u.target = std::string(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  auto hp = common::parse_host_port(authority);
  if (!hp) return std::nullopt;
  if (hp->port) u.port = std::to_string(*hp->port);
  u.host = std::move(hp->host);
  return u;
}

struct webhook::state : std::enable_shared_from_this<webhook::state> {
  asio::any_io_executor ex;
  webhook_url url;
  std::chrono::milliseconds timeout;
  std::mutex mu;
  std::deque<std::string> pending;
  bool running = false;
  bool stopped = false;
  std::atomic<std::uint64_t> sent{0}, failed{0}, dropped{0};
  static constexpr std::size_t max_pending = 100;

  asio::awaitable<void> send_one(std::string body) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(timeout);
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    auto eps = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
    co_await stream.async_connect(eps, asio::use_awaitable);
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, "mailfort");
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    co_await http::async_read(stream, buf, parser, asio::use_awaitable);
    auto status = parser.get().result_int();
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    if (status < 200 || status > 299) throw std::runtime_error("HTTP status " + std::to_string(status));
  }

  asio::awaitable<void> drain() {
    auto self = shared_from_this();
    for (;;) {
      std::string body;
      {
        std::lock_guard lk(mu);
        if (stopped || pending.empty()) {
          running = false;
          co_return;
        }
        body = std::move(pending.front());
        pending.pop_front();
      }
      try {
        co_await send_one(std::move(body));
        ++sent;
      } catch (const std::exception& e) {
        ++failed;
        log::warning("webhook_failed", {{"host", url.host}, {"port", url.port}, {"error", e.what()}});
      }
    }
  }
};

webhook::webhook(asio::any_io_executor ex, std::string_view url, std::chrono::milliseconds timeout)
    : s_(std::make_shared<state>()) {
  auto u = parse_webhook_url(url);
  if (!u) throw std::invalid_argument("monitor.webhook: not an http://host[:port]/path URL");
  s_->ex = std::move(ex);
  s_->url = std::move(*u);
  s_->timeout = timeout;
}

webhook::~webhook() { stop(); }

void webhook::post(nlohmann::json body) {
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lk(s_->mu);
  if (s_->stopped) return;
  if (s_->pending.size() >= state::max_pending) {
    ++s_->dropped;
    return;
  }
  s_->pending.push_back(std::move(text));
  if (s_->running) return;
  s_->running = true;
  // Posted, never run inline: post() is called from inside alert callbacks that hold other locks, possibly on
  // the very thread that runs ex (co_spawn would dispatch into drain() here and take mu_ again).
  asio::post(s_->ex, [st = s_] { asio::co_spawn(st->ex, st->drain(), asio::detached); });
}

void webhook::stop() {
  std::lock_guard lk(s_->mu);
  s_->stopped = true;
  s_->pending.clear();
}

std::uint64_t webhook::sent() const { return s_->sent.load(); }
std::uint64_t webhook::failed() const { return s_->failed.load(); }
std::uint64_t webhook::dropped() const { return s_->dropped.load(); }

}  // namespace mailfort::monitor
