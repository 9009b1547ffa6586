// tls/server_context.hpp: the server-side TLS context: TLS 1.2 minimum, 1.3 preferred, Mozilla-intermediate
// ciphers for 1.2, no renegotiation, no compression; reloadable (SIGHUP) without dropping connections.
// SPDX-License-Identifier: MIT
#pragma once
#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

namespace mailfort::tls {

struct server_settings {
  std::string certificate;  // PEM chain
  std::string key;          // PEM private key
  std::string min_version = "1.2";
};

// Throws std::runtime_error with the file and OpenSSL's reason when the pair cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const server_settings& s);

// Holds the current context; reload() swaps in a new one (existing sessions keep theirs).
class context_holder {
 public:
  explicit context_holder(server_settings s);
  std::shared_ptr<boost::asio::ssl::context> get() const;
  // Returns false (and keeps the old context) when the new files do not load; `error` says why.
  bool reload(std::string& error);
  const server_settings& settings() const { return settings_; }

 private:
  server_settings settings_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

// Makes <dir>/cert.pem and <dir>/key.pem (ECDSA P-256, 1 year, SAN = hostname, localhost, 127.0.0.1, ::1)
// unless both exist. Returns true when it generated them.
bool ensure_self_signed(const std::filesystem::path& dir, const std::string& hostname);

// Seconds until the first certificate in the PEM file expires (negative: expired). Throws on unreadable file.
long long seconds_to_expiry(const std::string& pem_file);

}  // namespace mailfort::tls
