// outbound/client_connection.cpp: client-side SMTP connection (see client_connection.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/client_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// for a class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::outbound {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t k_read_chunk = 16 * 1024;

// The client's TLS 1.2 suites: forward secrecy and AEAD only (the same list the server offers).
constexpr const char* k_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

std::string openssl_error_text() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return {};
  std::array<char, 256> buf{};
  ERR_error_string_n(e, buf.data(), buf.size());
  return buf.data();
}
}  // namespace

const char* to_string(conn_error e) {
  switch (e) {
    case conn_error::none:
      return "none";
    case conn_error::connect_failed:
      return "connect_failed";
    case conn_error::timeout:
      return "timeout";
    case conn_error::closed:
      return "closed";
    case conn_error::protocol:
      return "protocol";
    case conn_error::tls:
      return "tls";
  }
  return "unknown";
}

client_connection::client_connection(asio::any_io_executor ex, client_options opts)
    : ex_(ex), opts_(std::move(opts)), sock_(ex), timer_(ex), parser_(opts_.limits) {}

client_connection::~client_connection() { close(); }

void client_connection::fail(conn_error e, std::string text) {
  if (error_ != conn_error::none) return;  // the first cause is the one worth reporting
  error_ = e;
  error_text_ = std::move(text);
}

void client_connection::close() {
  boost::system::error_code ec;
  tls_.reset();
  tls_up_ = false;
  if (sock_.is_open()) {
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }
  timer_.cancel();
}

asio::awaitable<bool> client_connection::connect(const tcp::endpoint& ep) {
  remote_ = ep;
  boost::system::error_code ec;
  sock_.open(ep.protocol(), ec);
  if (ec) {
    fail(conn_error::connect_failed, "socket: " + ec.message());
    co_return false;
  }
  if (opts_.source) {
    if (opts_.source->is_v4() != ep.address().is_v4()) {
      fail(conn_error::connect_failed, "source address family does not match " + ep.address().to_string());
      co_return false;
    }
    sock_.bind(tcp::endpoint(*opts_.source, 0), ec);
    if (ec) {
      fail(conn_error::connect_failed, "bind " + opts_.source->to_string() + ": " + ec.message());
      co_return false;
    }
  }
  timer_.expires_after(opts_.timeouts.connect);
  auto r = co_await (sock_.async_connect(ep, k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) {
    fail(conn_error::timeout, "connect timeout");
    close();
    co_return false;
  }
  if (auto [cec] = std::get<0>(r); cec) {
    fail(conn_error::connect_failed, "connect: " + cec.message());
    close();
    co_return false;
  }
  sock_.set_option(tcp::no_delay(true), ec);
  if (auto local = sock_.local_endpoint(ec); !ec) local_address_ = local.address().to_string();
  co_return true;
}

template <class Stream>
asio::awaitable<std::size_t> client_connection::read_some_from(Stream& s, std::chrono::milliseconds timeout) {
  std::array<char, k_read_chunk> buf;
  timer_.expires_after(timeout);
  auto r = co_await (s.async_read_some(asio::buffer(buf), k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) {
    if (!soft_timeout_) fail(conn_error::timeout, "read timeout");
    co_return 0;
  }
  auto [ec, n] = std::get<0>(r);
  if (ec || n == 0) {
    fail(conn_error::closed, ec == asio::error::eof || n == 0 ? "connection closed by peer" : "read: " + ec.message());
    co_return 0;
  }
  inbuf_.append(buf.data(), n);
  co_return n;
}

template <class Stream>
asio::awaitable<bool> client_connection::write_to(Stream& s, std::string_view bytes,
                                                  std::chrono::milliseconds timeout) {
  timer_.expires_after(timeout);
  auto r =
      co_await (asio::async_write(s, asio::buffer(bytes.data(), bytes.size()), k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) {
    fail(conn_error::timeout, "write timeout");
    co_return false;
  }
  if (auto [ec, n] = std::get<0>(r); ec) {
    fail(conn_error::closed, "write: " + ec.message());
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<server_reply>> client_connection::read_reply(std::chrono::milliseconds timeout) {
  return read_reply_until(timeout, true);
}

asio::awaitable<std::optional<server_reply>> client_connection::wait_reply(std::chrono::milliseconds wait) {
  return read_reply_until(wait, false);
}

asio::awaitable<std::optional<server_reply>> client_connection::read_reply_until(std::chrono::milliseconds timeout,
                                                                                 bool timeout_fails) {
  soft_timeout_ = !timeout_fails;
  if (failed() || !sock_.is_open()) {
    fail(conn_error::closed, "not connected");
    co_return std::nullopt;
  }
  // One deadline for the whole reply: a peer dribbling one byte at a time gains nothing.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!inbuf_.empty()) {
      auto res = parser_.feed(inbuf_);
      inbuf_.erase(0, res.consumed);
      if (res.status == reply_status::reply) co_return parser_.get();
      if (res.status == reply_status::error) {
        fail(conn_error::protocol, std::string("malformed reply: ") + to_string(parser_.error()));
        co_return std::nullopt;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (timeout_fails) fail(conn_error::timeout, "read timeout");
      co_return std::nullopt;
    }
    std::size_t n = 0;
    if (tls_) {
      n = co_await read_some_from(*tls_, left);
    } else {
      n = co_await read_some_from(sock_, left);
    }
    if (n == 0) co_return std::nullopt;
  }
}

asio::awaitable<bool> client_connection::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (failed() || !sock_.is_open()) {
    fail(conn_error::closed, "not connected");
    co_return false;
  }
  if (tls_) co_return co_await write_to(*tls_, bytes, timeout);
  co_return co_await write_to(sock_, bytes, timeout);
}

asio::awaitable<std::optional<server_reply>> client_connection::command(std::string_view line,
                                                                        std::chrono::milliseconds timeout) {
  if (line.find_first_of("\r\n") != std::string_view::npos) {
    fail(conn_error::protocol, "refused to send a command containing CR or LF");
    co_return std::nullopt;
  }
  std::string wire;
  wire.reserve(line.size() + 2);
  wire.append(line);
  wire += "\r\n";
  if (!co_await send(wire, timeout)) co_return std::nullopt;
  co_return co_await read_reply(timeout);
}

asio::awaitable<std::optional<server_reply>> client_connection::ehlo(std::string_view helo_name) {
  caps_ = {};
  esmtp_ = false;
  // Named strings, not temporaries inside co_await (GCC 12 has destroyed such temporaries twice).
  const std::string ehlo_line = "EHLO " + std::string(helo_name);
  const std::string helo_line = "HELO " + std::string(helo_name);
  auto r = co_await command(ehlo_line);
  if (!r) co_return r;
  if (r->code == 250) {
    if (auto c = parse_ehlo(*r)) caps_ = std::move(*c);
    esmtp_ = true;
    co_return r;
  }
  if (!r->permanent()) co_return r;  // 4xx: the caller defers
  // RFC 5321 3.2: a server that does not know EHLO answers 5xx; fall back to HELO (no extensions).
  co_return co_await command(helo_line);
}

asio::awaitable<client_connection::starttls_outcome> client_connection::starttls(const tls_params& p) {
  starttls_outcome out;
  auto r = co_await command("STARTTLS");
  if (!r) co_return out;
  if (r->code != 220) {
    out.refused = std::move(*r);
    co_return out;
  }
  // Anything after the 220 was sent before TLS and would be read as if it came through it (CVE-2011-0411).
  if (!inbuf_.empty() || parser_.has_partial()) {
    fail(conn_error::tls, "bytes after the 220 reply to STARTTLS (injection attempt)");
    close();
    co_return out;
  }
  out.ok = co_await handshake(p);
  co_return out;
}

asio::awaitable<bool> client_connection::handshake(const tls_params& p) {
  if (failed() || !sock_.is_open()) {
    fail(conn_error::closed, "not connected");
    co_return false;
  }
  inbuf_.clear();
  parser_.reset();
  caps_ = {};
  esmtp_ = false;
  ERR_clear_error();
  ctx_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* c = ctx_->native_handle();
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (p.audit_legacy) {
    // The auditor: exactly one version (any of 1.0 to 1.3), security level 0 so OpenSSL 3 itself does not
    // refuse TLS < 1.2 (SHA-1 handshake signatures) and the server's own choice is what we observe.
    const int v = p.min_version == "1.0"   ? TLS1_VERSION
                  : p.min_version == "1.1" ? TLS1_1_VERSION
                  : p.min_version == "1.3" ? TLS1_3_VERSION
                                           : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(c, v);
    SSL_CTX_set_max_proto_version(c, v);
    SSL_CTX_set_security_level(c, 0);
    const std::string list = (p.audit_ciphers.empty() ? std::string("ALL") : p.audit_ciphers) + ":@SECLEVEL=0";
    SSL_CTX_set_cipher_list(c, list.c_str());
  } else {
    SSL_CTX_set_min_proto_version(c, p.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(c, p.audit_ciphers.empty() ? k_tls12_ciphers : p.audit_ciphers.c_str());
  }
  if (p.ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(c);
  } else if (SSL_CTX_load_verify_locations(c, p.ca_file.c_str(), nullptr) != 1) {
    fail(conn_error::tls, "cannot load CA file " + p.ca_file + ": " + openssl_error_text());
    co_return false;
  }
  // Verification never aborts the handshake: its result is read afterwards (see the header).
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  tls_ = std::make_unique<ssl::stream<tcp::socket&>>(sock_, *ctx_);
  SSL* s = tls_->native_handle();
  boost::system::error_code ip_ec;
  asio::ip::make_address(p.sni, ip_ec);
  if (!p.sni.empty() && ip_ec) SSL_set_tlsext_host_name(s, p.sni.c_str());  // RFC 6066 3: no IP literals in SNI
  if (!p.verify_name.empty()) {
    asio::ip::make_address(p.verify_name, ip_ec);
    if (!ip_ec) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), p.verify_name.c_str());  // an IP: match an iPAddress SAN
    } else {
      SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(s, p.verify_name.c_str());
    }
  }
  timer_.expires_after(opts_.timeouts.tls_handshake);
  auto r = co_await (tls_->async_handshake(ssl::stream_base::client, k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) {
    fail(conn_error::timeout, "TLS handshake timeout");
    close();
    co_return false;
  }
  if (auto [ec] = std::get<0>(r); ec) {
    fail(conn_error::tls, "TLS handshake: " + ec.message());
    close();
    co_return false;
  }
  tls_up_ = true;
  facts_ = {};
  facts_.version = SSL_get_version(s);
  facts_.cipher = SSL_get_cipher_name(s);
  long vr = SSL_get_verify_result(s);
  bool have_cert = SSL_get0_peer_certificate(s) != nullptr;
  facts_.verified = have_cert && vr == X509_V_OK;
  if (!facts_.verified) facts_.verify_error = have_cert ? X509_verify_cert_error_string(vr) : "no peer certificate";
  co_return true;
}

std::vector<X509*> client_connection::peer_chain() const {
  std::vector<X509*> out;
  if (!tls_active()) return out;
  STACK_OF(X509)* sk = SSL_get_peer_cert_chain(tls_->native_handle());
  if (!sk) return out;
  for (int i = 0; i < sk_X509_num(sk); ++i) out.push_back(sk_X509_value(sk, i));
  return out;
}

X509* client_connection::peer_certificate() const {
  if (!tls_active()) return nullptr;
  return SSL_get0_peer_certificate(tls_->native_handle());
}

asio::awaitable<void> client_connection::quit() {
  if (!failed() && sock_.is_open()) {
    // A short deadline: QUIT's reply does not change any outcome.
    co_await command("QUIT", std::chrono::milliseconds(std::min<long long>(opts_.timeouts.command.count(), 5000)));
  }
  close();
}

}  // namespace mailfort::outbound
