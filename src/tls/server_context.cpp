// tls/server_context.cpp: OpenSSL 3 server context with secure defaults.
// SPDX-License-Identifier: MIT
#include "tls/server_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <stdexcept>

namespace mailfort::tls {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// Mozilla "intermediate" TLS 1.2 suites (forward secrecy, AEAD only): no RSA key exchange, no CBC,
// no RC4/3DES/NULL/EXPORT (bad-input 13).
constexpr const char* k_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_server_context(const server_settings& s) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  int min = s.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;  // never below 1.2, whatever the config says
  SSL_CTX_set_min_proto_version(c, min);
  // CIPHER_SERVER_PREFERENCE: for TLS 1.2 our order below wins, not the client's (a client listing a weaker suite
  // first does not get it; testssl.sh flags "no cipher order"). NO_TICKET: no stateless session tickets, so there
  // is no long-lived ticket key whose theft would decrypt every recorded TLS 1.2 session (forward secrecy). Resumption
  // still works from the in-memory server cache: session IDs for TLS 1.2, and for TLS 1.3 OpenSSL then issues
  // stateful tickets (an ID into that cache; the secrets never leave the process and expire with the cache entry).
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
                             SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  if (SSL_CTX_set_cipher_list(c, k_tls12_ciphers) != 1) throw std::runtime_error("cipher list: " + openssl_error());
  SSL_CTX_set_dh_auto(c, 1);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_use_certificate_chain_file(c, s.certificate.c_str()) != 1)
    throw std::runtime_error("cannot load certificate " + s.certificate + ": " + openssl_error());
  if (SSL_CTX_use_PrivateKey_file(c, s.key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot load key " + s.key + ": " + openssl_error());
  if (SSL_CTX_check_private_key(c) != 1)
    throw std::runtime_error("key " + s.key + " does not match certificate " + s.certificate);
  return ctx;
}

context_holder::context_holder(server_settings s) : settings_(std::move(s)), ctx_(make_server_context(settings_)) {}

std::shared_ptr<boost::asio::ssl::context> context_holder::get() const {
  std::lock_guard lk(mu_);
  return ctx_;
}

bool context_holder::reload(std::string& error) {
  try {
    auto fresh = make_server_context(settings_);
    std::lock_guard lk(mu_);
    ctx_ = std::move(fresh);
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

long long seconds_to_expiry(const std::string& pem_file) {
  FILE* f = std::fopen(pem_file.c_str(), "r");
  if (!f) throw std::runtime_error("cannot open " + pem_file);
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!x) throw std::runtime_error("no certificate in " + pem_file);
  int days = 0, secs = 0;
  int ok = ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(x));
  X509_free(x);
  if (!ok) throw std::runtime_error("bad notAfter in " + pem_file);
  return static_cast<long long>(days) * 86400 + secs;
}

}  // namespace mailfort::tls
