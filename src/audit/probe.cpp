// audit/probe.cpp: the auditing SMTP connection (Asio coroutines, OpenSSL), every step under a deadline.
// SPDX-License-Identifier: MIT
#include "audit/probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>

namespace mailfort::audit {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);

bool is_ip_literal(const std::string& s) {
  boost::system::error_code ec;
  asio::ip::make_address(s, ec);
  return !ec;
}
}  // namespace

std::shared_ptr<ssl::context> make_probe_tls_context(const std::string& version, const std::string& ca_file,
                                                     const std::string& ciphers) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);  // verify, record the result, never abort: we audit
  SSL_CTX_set_default_verify_paths(c);
  if (!ca_file.empty()) SSL_CTX_load_verify_locations(c, ca_file.c_str(), nullptr);
  if (!version.empty()) {
    int v = version == "1.0" ? TLS1_VERSION : version == "1.1" ? TLS1_1_VERSION : version == "1.2" ? TLS1_2_VERSION
                                                                                                   : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(c, v);
    SSL_CTX_set_max_proto_version(c, v);
    // OpenSSL 3 at the default security level refuses TLS < 1.2 from the client side (SHA-1 handshake
    // signatures): level 0 lets us see what the server accepts.
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
  }
  if (!ciphers.empty()) {
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_cipher_list(c, (ciphers + ":@SECLEVEL=0").c_str());
  }
  return ctx;
}

probe::probe(asio::any_io_executor ex, std::chrono::milliseconds timeout)
    : sock_(ex), timer_(ex), timeout_(timeout) {}

probe::~probe() { close(); }

void probe::close() {
  boost::system::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
  closed_ = true;
}

std::string probe::peer_ip() const {
  boost::system::error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

asio::awaitable<std::string> probe::connect(std::string host, std::uint16_t port) {
  tcp::resolver res(sock_.get_executor());
  timer_.expires_after(timeout_);
  auto r = co_await (res.async_resolve(host, std::to_string(port), k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) co_return error_ = "timeout resolving " + host;
  auto [rec, eps] = std::get<0>(r);
  if (rec) co_return error_ = "cannot resolve " + host + ": " + rec.message();
  timer_.expires_after(timeout_);
  auto c = co_await (asio::async_connect(sock_, eps, k_tuple) || timer_.async_wait(k_tuple));
  if (c.index() == 1) {
    close();
    co_return error_ = "connect timeout";
  }
  auto [cec, ep] = std::get<0>(c);
  if (cec) {
    close();
    co_return error_ = "connect failed: " + cec.message();
  }
  closed_ = false;
  parser_.reset();
  buf_.clear();
  tls_.reset();
  co_return std::string();
}

asio::awaitable<bool> probe::send(std::string bytes) {
  if (closed_) co_return false;
  timer_.expires_after(timeout_);
  std::variant<std::tuple<boost::system::error_code, std::size_t>, std::tuple<boost::system::error_code>> r;
  if (tls_)
    r = co_await (asio::async_write(*tls_, asio::buffer(bytes), k_tuple) || timer_.async_wait(k_tuple));
  else
    r = co_await (asio::async_write(sock_, asio::buffer(bytes), k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) {
    error_ = "write timeout";
    close();
    co_return false;
  }
  if (auto ec = std::get<0>(std::get<0>(r))) {
    error_ = "write failed: " + ec.message();
    close();
    co_return false;
  }
  co_return true;
}

// Reads once into buf_; false on timeout, EOF or error.
asio::awaitable<bool> probe::fill(std::chrono::milliseconds wait) {
  if (closed_) co_return false;
  std::array<char, 4096> b;
  timer_.expires_after(wait);
  std::variant<std::tuple<boost::system::error_code, std::size_t>, std::tuple<boost::system::error_code>> r;
  if (tls_)
    r = co_await (tls_->async_read_some(asio::buffer(b), k_tuple) || timer_.async_wait(k_tuple));
  else
    r = co_await (sock_.async_read_some(asio::buffer(b), k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) {
    error_ = "timeout";
    co_return false;
  }
  auto [ec, n] = std::get<0>(r);
  buf_.append(b.data(), n);
  if (ec) {
    error_ = ec == asio::error::eof || ec == ssl::error::stream_truncated ? "connection closed" : ec.message();
    close();
    co_return n > 0;
  }
  if (buf_.size() > 1 << 20) {  // a reply larger than the parser bounds will fail anyway
    error_ = "too much data";
    close();
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<outbound::server_reply>> probe::reply(std::optional<std::chrono::milliseconds> wait) {
  auto deadline = std::chrono::steady_clock::now() + wait.value_or(timeout_);
  for (;;) {
    if (!buf_.empty()) {
      auto res = parser_.feed(buf_);
      buf_.erase(0, res.consumed);
      if (res.status == outbound::reply_status::reply) co_return parser_.get();
      if (res.status == outbound::reply_status::error) {
        error_ = std::string("malformed reply: ") + outbound::to_string(parser_.error());
        close();
        co_return std::nullopt;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      error_ = "timeout";
      co_return std::nullopt;
    }
    bool was_closed = closed_;
    bool got = co_await fill(left);
    if (!got && buf_.empty()) co_return std::nullopt;
    if (was_closed) co_return std::nullopt;
  }
}

asio::awaitable<std::optional<outbound::server_reply>> probe::command(std::string line) {
  line += "\r\n";
  bool sent = co_await send(std::move(line));
  if (!sent) co_return std::nullopt;
  auto r = co_await reply();
  co_return r;
}

asio::awaitable<std::string> probe::handshake(std::shared_ptr<ssl::context> ctx, std::string sni) {
  if (closed_) co_return error_ = "not connected";
  ctx_ = std::move(ctx);
  tls_ = std::make_unique<ssl::stream<tcp::socket&>>(sock_, *ctx_);
  if (!sni.empty() && !is_ip_literal(sni)) SSL_set_tlsext_host_name(tls_->native_handle(), sni.c_str());
  timer_.expires_after(timeout_);
  auto r = co_await (tls_->async_handshake(ssl::stream_base::client, k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 1) {
    close();
    co_return error_ = "TLS handshake timeout";
  }
  if (auto ec = std::get<0>(std::get<0>(r))) {
    std::string why = ec.message();
    close();
    co_return error_ = "TLS handshake failed: " + why;
  }
  parser_.reset();
  buf_.clear();
  co_return std::string();
}

asio::awaitable<std::string> probe::read_all(std::size_t max_bytes, bool& truncated) {
  truncated = false;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (!closed_ && buf_.size() <= max_bytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    bool got = co_await fill(left);
    if (!got) break;
  }
  std::string out = std::move(buf_);
  buf_.clear();
  if (out.size() > max_bytes) {
    truncated = true;
    out.resize(max_bytes);
  }
  co_return out;
}

asio::awaitable<bool> probe::closed_within(std::chrono::milliseconds wait) {
  if (closed_) co_return true;
  auto before = buf_.size();
  co_await fill(wait);
  co_return closed_ && buf_.size() == before;
}

std::vector<std::string> probe::peer_chain_der() const {
  std::vector<std::string> out;
  if (!tls_) return out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(tls_->native_handle());
  int n = chain ? sk_X509_num(chain) : 0;
  for (int i = 0; i < n && i < 16; ++i) {
    unsigned char* der = nullptr;
    int len = i2d_X509(sk_X509_value(chain, i), &der);
    if (len > 0) out.emplace_back(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
  }
  return out;
}

bool probe::chain_verified() const { return tls_ && SSL_get_verify_result(tls_->native_handle()) == X509_V_OK; }

std::string probe::verify_error() const {
  if (!tls_) return {};
  return X509_verify_cert_error_string(SSL_get_verify_result(tls_->native_handle()));
}

std::string probe::tls_version() const { return tls_ ? SSL_get_version(tls_->native_handle()) : ""; }

std::string probe::tls_cipher() const { return tls_ ? SSL_get_cipher_name(tls_->native_handle()) : ""; }

}  // namespace mailfort::audit
