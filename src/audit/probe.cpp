// audit/probe.cpp: the auditing SMTP connection over outbound::client_connection (see probe.hpp).
// SPDX-License-Identifier: MIT
#include "audit/probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/x509.h>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224, as in outbound/).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::audit {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

outbound::client_options probe::options_for(std::chrono::milliseconds timeout) {
  outbound::client_options o;
  o.timeouts.connect = o.timeouts.greeting = o.timeouts.command = o.timeouts.data_init = o.timeouts.data_block =
      o.timeouts.data_end = o.timeouts.tls_handshake = timeout;
  return o;
}

probe::probe(asio::any_io_executor ex, std::chrono::milliseconds timeout) : ex_(ex), timeout_(timeout) {
  conn_.emplace(ex_, options_for(timeout_));
}

asio::awaitable<std::string> probe::connect(std::string host, std::uint16_t port) {
  tcp::resolver res(ex_);
  asio::steady_timer timer(ex_);
  timer.expires_after(timeout_);
  const std::string service = std::to_string(port);
  auto r = co_await (res.async_resolve(host, service, asio::as_tuple(asio::use_awaitable)) ||
                     timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 1) co_return "timeout resolving " + host;
  auto [rec, eps] = std::get<0>(r);
  if (rec) co_return "cannot resolve " + host + ": " + rec.message();
  if (eps.empty()) co_return "cannot resolve " + host;
  std::string why;
  for (const auto& entry : eps) {
    // A failed connect leaves a client_connection unusable: a fresh one for each address.
    conn_.emplace(ex_, options_for(timeout_));
    const tcp::endpoint ep = entry.endpoint();
    bool ok = co_await conn_->connect(ep);
    if (ok) {
      connected_ = true;
      co_return std::string();
    }
    why = conn_->error_text();
  }
  co_return why;
}

asio::awaitable<bool> probe::send(std::string bytes) {
  if (is_closed()) co_return false;
  bool ok = co_await conn_->send(bytes, timeout_);
  co_return ok;
}

asio::awaitable<std::optional<outbound::server_reply>> probe::reply(std::optional<std::chrono::milliseconds> wait) {
  if (is_closed()) co_return std::nullopt;
  const auto w = wait.value_or(timeout_);
  auto r = co_await conn_->wait_reply(w);
  co_return r;
}

asio::awaitable<std::optional<outbound::server_reply>> probe::command(std::string line) {
  if (is_closed()) co_return std::nullopt;
  auto r = co_await conn_->command(line, timeout_);
  co_return r;
}

asio::awaitable<std::string> probe::handshake(const probe_tls& t, std::string sni) {
  if (is_closed()) co_return "not connected";
  outbound::tls_params p;
  p.sni = sni;         // client_connection sends no IP literal as SNI
  p.verify_name = "";  // chain only: the auditor checks the name itself (cert_info), to report it apart
  p.ca_file = t.ca_file;
  if (!t.version.empty()) {
    p.audit_legacy = true;
    p.min_version = t.version;
    p.audit_ciphers = t.ciphers;
  } else {
    p.audit_ciphers = t.ciphers.empty() ? "DEFAULT" : t.ciphers;
  }
  bool ok = co_await conn_->handshake(p);
  if (!ok) {
    const std::string why = conn_->error_text();
    co_return why.rfind("TLS handshake:", 0) == 0 ? "TLS handshake failed:" + why.substr(14) : why;
  }
  co_return std::string();
}

std::vector<std::string> probe::peer_chain_der() const {
  std::vector<std::string> out;
  for (X509* c : conn_->peer_chain()) {
    if (out.size() >= 16) break;
    unsigned char* der = nullptr;
    int len = i2d_X509(c, &der);
    if (len > 0) out.emplace_back(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
  }
  return out;
}

}  // namespace mailfort::audit
