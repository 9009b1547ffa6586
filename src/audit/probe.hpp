// audit/probe.hpp: one auditing SMTP connection: the server's own outbound::client_connection, driven raw.
// SPDX-License-Identifier: MIT
// The auditor must send what a well-behaved client never does (commands pipelined behind STARTTLS, bytes
// before the greeting, fake end-of-data sequences) and pin TLS versions and cipher lists the delivery code
// refuses. It does so through the delivery client's own primitives (client_connection: raw send, the bounded
// reply_parser, wait_reply, handshake with tls_params::audit_legacy / audit_ciphers), not a copy of them.
// This class adds only what auditing needs on top: name resolution to the first reachable address, reply
// waits whose expiry is an observation rather than a failure, and the certificate chain as DER.
// Every operation has a deadline (the probe timeout); nothing here throws for network failures.
#pragma once
#include "outbound/client_connection.hpp"
#include "outbound/reply_parser.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailfort::audit {

// How to shake hands: version "" = the client's normal range (TLS 1.2+, OpenSSL's DEFAULT list so servers
// with only non-AEAD suites still show their certificate), else "1.0".."1.3" pinned (min = max) at security
// level 0. ciphers: a TLS <= 1.2 list to offer instead (the weak-cipher probe).
struct probe_tls {
  std::string version;
  std::string ca_file;
  std::string ciphers;
};

class probe {
 public:
  probe(boost::asio::any_io_executor ex, std::chrono::milliseconds timeout);

  // Resolves host (an IP literal or a name) and connects to the first address that answers (a fresh
  // client_connection per address). Empty string on success, else the last reason.
  boost::asio::awaitable<std::string> connect(std::string host, std::uint16_t port);
  // Sends bytes as they are (no CRLF added).
  boost::asio::awaitable<bool> send(std::string bytes);
  // The next complete reply, waiting at most `wait` (default: the probe timeout). nullopt on timeout (the
  // connection stays usable), close, or a malformed reply (error() says which).
  boost::asio::awaitable<std::optional<outbound::server_reply>> reply(
      std::optional<std::chrono::milliseconds> wait = {});
  // line + CRLF then reply(); a line containing CR or LF is refused unsent (client_connection::command).
  boost::asio::awaitable<std::optional<outbound::server_reply>> command(std::string line);
  // TLS handshake on the connection (after a 220 to STARTTLS, or right after connect for port 465).
  // Empty string on success. `sni` is sent when it is a name (not an IP literal).
  // t must outlive the call (name it: no temporaries across co_await, GCC 12 destroys them twice).
  boost::asio::awaitable<std::string> handshake(const probe_tls& t, std::string sni);
  void close() {
    conn_->close();
    connected_ = false;
  }

  // Bytes received and not yet consumed by a reply (after the 220 to STARTTLS, any is a response injection).
  bool has_pending_input() const { return conn_->has_unread_input(); }
  bool is_closed() const { return conn_->failed() || !connected_; }
  std::string error() const { return conn_->failed() ? conn_->error_text() : "timeout"; }
  std::string peer_ip() const { return connected_ ? conn_->remote().address().to_string() : std::string(); }

  // After handshake(): the peer chain (DER, leaf first), whether it verified, negotiated version and cipher.
  std::vector<std::string> peer_chain_der() const;
  bool chain_verified() const { return conn_->tls_active() && conn_->tls().verified; }
  std::string verify_error() const { return conn_->tls().verify_error; }
  std::string tls_version() const { return conn_->tls().version; }
  std::string tls_cipher() const { return conn_->tls().cipher; }

 private:
  static outbound::client_options options_for(std::chrono::milliseconds timeout);

  boost::asio::any_io_executor ex_;
  std::chrono::milliseconds timeout_;
  std::optional<outbound::client_connection> conn_;  // always engaged; replaced per connect attempt
  bool connected_ = false;
};

}  // namespace mailfort::audit
