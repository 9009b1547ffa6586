// audit/probe.hpp: one auditing SMTP connection on Asio + OpenSSL: raw bytes out, parsed replies in, STARTTLS.
// SPDX-License-Identifier: MIT
// Why not the outbound SMTP client: the auditor must send what a well-behaved client never does (commands
// pipelined behind STARTTLS, bytes before the greeting, fake end-of-data sequences) and pin TLS versions the
// delivery code refuses, so it needs raw writes. Replies still go through outbound::reply_parser, bounded.
// Every operation has a deadline (connect, each read, each write, the handshake); on expiry the operation
// fails and the connection is closed. Nothing here throws for network failures: they are results.
#pragma once
#include "outbound/reply_parser.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mailfort::audit {

// A client TLS context for probing. version: "" = OpenSSL's default range, else "1.0".."1.3" pinned (min =
// max) with security level 0 so OpenSSL 3 itself does not refuse the old protocol. Loads the system roots
// (and ca_file when given) so the probe can report whether the chain verifies; never aborts on it.
// ciphers: a TLS <= 1.2 cipher list to offer instead (the weak-cipher probe), "" for OpenSSL's list.
std::shared_ptr<boost::asio::ssl::context> make_probe_tls_context(const std::string& version,
                                                                 const std::string& ca_file,
                                                                 const std::string& ciphers = "");

class probe {
 public:
  probe(boost::asio::any_io_executor ex, std::chrono::milliseconds timeout);
  ~probe();

  // Resolves host (an IP literal or a name) and connects. Empty string on success, else the reason.
  boost::asio::awaitable<std::string> connect(std::string host, std::uint16_t port);
  // Sends bytes as they are (no CRLF added).
  boost::asio::awaitable<bool> send(std::string bytes);
  // The next complete reply, waiting at most `wait` (default: the probe timeout). nullopt on timeout, close,
  // or a malformed reply (error() says which).
  boost::asio::awaitable<std::optional<outbound::server_reply>> reply(std::optional<std::chrono::milliseconds> wait = {});
  // send(line + CRLF) then reply().
  boost::asio::awaitable<std::optional<outbound::server_reply>> command(std::string line);
  // TLS handshake on the connection (after a 220 to STARTTLS, or right after connect for port 465).
  // Empty string on success. `sni` is sent when it is a name (not an IP literal).
  boost::asio::awaitable<std::string> handshake(std::shared_ptr<boost::asio::ssl::context> ctx, std::string sni);
  // Raw bytes until the peer closes, max_bytes arrive, or the probe timeout passes (HTTP fetch). Whatever
  // was buffered comes first. truncated is set when more than max_bytes were on offer.
  boost::asio::awaitable<std::string> read_all(std::size_t max_bytes, bool& truncated);
  // True when the peer closed (or reset) within `wait` without sending anything more.
  boost::asio::awaitable<bool> closed_within(std::chrono::milliseconds wait);
  void close();

  // Bytes received and not yet consumed by a reply (after the 220 to STARTTLS, any is a response injection).
  bool has_pending_input() const { return !buf_.empty() || parser_.has_partial(); }
  bool is_closed() const { return closed_; }
  bool is_tls() const { return tls_ != nullptr; }
  const std::string& error() const { return error_; }
  std::string peer_ip() const;

  // After handshake(): the peer chain (DER, leaf first), whether it verified, negotiated version and cipher.
  std::vector<std::string> peer_chain_der() const;
  bool chain_verified() const;
  std::string verify_error() const;
  std::string tls_version() const;
  std::string tls_cipher() const;

 private:
  boost::asio::awaitable<bool> fill(std::chrono::milliseconds wait);

  boost::asio::ip::tcp::socket sock_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::chrono::milliseconds timeout_;
  outbound::reply_parser parser_;
  std::string buf_;
  std::string error_;
  bool closed_ = true;
};

}  // namespace mailfort::audit
