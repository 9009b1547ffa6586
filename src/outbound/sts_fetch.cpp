// outbound/sts_fetch.cpp: MTA-STS policy fetch over HTTPS (see sts_fetch.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/sts_fetch.hpp"

#include "outbound/host_addresses.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// for a class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::outbound {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<sts_https_response> fetch_from(asio::any_io_executor ex, tcp::endpoint ep, const std::string& host,
                                               const sts_fetch_options& opts,
                                               std::chrono::steady_clock::time_point deadline) {
  sts_https_response out;
  out.connected = false;
  asio::steady_timer timer(ex);
  timer.expires_at(deadline);
  tcp::socket sock(ex);
  auto c = co_await (sock.async_connect(ep, k_tuple) || timer.async_wait(k_tuple));
  if (c.index() == 1 || std::get<0>(std::get<0>(c))) {
    out.failure =
        ep.address().to_string() + ": " +
        (c.index() == 1 ? std::string("connect timeout") : "connect: " + std::get<0>(std::get<0>(c)).message());
    co_return out;
  }

  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX* sc = ctx.native_handle();
  SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
  if (opts.ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(sc);
  } else if (SSL_CTX_load_verify_locations(sc, opts.ca_file.c_str(), nullptr) != 1) {
    out.failure = "cannot load CA file " + opts.ca_file;
    co_return out;
  }
  SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, nullptr);  // checked after the handshake (certificate_valid)
  ssl::stream<tcp::socket&> tls(sock, ctx);
  SSL* s = tls.native_handle();
  SSL_set_tlsext_host_name(s, host.c_str());
  SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(s, host.c_str());
  auto h = co_await (tls.async_handshake(ssl::stream_base::client, k_tuple) || timer.async_wait(k_tuple));
  if (h.index() == 1 || std::get<0>(std::get<0>(h))) {
    out.failure = h.index() == 1 ? std::string("TLS handshake timeout")
                                 : "TLS handshake: " + std::get<0>(std::get<0>(h)).message();
    co_return out;
  }
  out.connected = true;
  out.certificate_valid = SSL_get0_peer_certificate(s) != nullptr && SSL_get_verify_result(s) == X509_V_OK;
  if (!out.certificate_valid) {  // nothing from an unauthenticated server is used
    out.failure =
        std::string("certificate not valid for ") + host + " (" +
        (SSL_get0_peer_certificate(s) ? X509_verify_cert_error_string(SSL_get_verify_result(s)) : "no certificate") +
        ")";
    co_return out;
  }

  http::request<http::empty_body> req(http::verb::get, "/.well-known/mta-sts.txt", 11);
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "mailfort");
  req.set(http::field::connection, "close");
  auto w = co_await (http::async_write(tls, req, k_tuple) || timer.async_wait(k_tuple));
  if (w.index() == 1 || std::get<0>(std::get<0>(w))) {
    out.connected = false;
    out.failure = "sending the request failed";
    co_return out;
  }
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(sts_max_policy_size + 1);
  auto r = co_await (http::async_read(tls, buf, parser, k_tuple) || timer.async_wait(k_tuple));
  if (r.index() == 1) {
    out.connected = false;
    out.failure = "timeout reading the response";
    co_return out;
  }
  auto [ec, n] = std::get<0>(r);
  if (ec == http::error::body_limit) {
    out.status = static_cast<int>(parser.get().result_int());
    out.body_truncated = true;
    co_return out;
  }
  if (ec && ec != asio::ssl::error::stream_truncated) {
    out.connected = false;
    out.failure = "reading the response: " + ec.message();
    co_return out;
  }
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = res.body();
  if (out.body.size() > sts_max_policy_size) out.body_truncated = true;
  boost::system::error_code ignore;
  sock.close(ignore);
  co_return out;
}
}  // namespace

asio::awaitable<sts_https_response> fetch_sts_policy(asio::any_io_executor ex, dns::source& dns, std::string host,
                                                     sts_fetch_options opts) {
  const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  sts_https_response out;
  out.connected = false;
  auto found = co_await lookup_host_addresses(dns, host, true, opts.allow_private);
  const std::vector<asio::ip::address> addrs = std::move(found.addresses);
  if (addrs.empty()) out.failure = host + " has no " + std::string(opts.allow_private ? "" : "public ") + "address";
  for (std::size_t i = 0; i < addrs.size() && i < 4; ++i) {
    if (std::chrono::steady_clock::now() >= deadline) break;
    out = co_await fetch_from(ex, tcp::endpoint(addrs[i], opts.port), host, opts, deadline);
    if (out.connected) break;
  }
  co_return out;
}

}  // namespace mailfort::outbound
