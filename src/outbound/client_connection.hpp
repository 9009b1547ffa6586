// outbound/client_connection.hpp: one client-side SMTP connection (Asio coroutine): connect, replies, commands,
// STARTTLS. SPDX-License-Identifier: MIT Shared by outbound delivery (outbound/smtp_client.hpp drives a whole
// transaction with it) and by the auditor (`mailfort audit smtp`), which uses only these primitives. The API is small
// on purpose and kept stable: connect, read_reply, command, ehlo, starttls / handshake, the TLS facts, close.
//
// Untrusted input: every byte the peer sends. Replies go through the bounded reply_parser (bad-input 56);
// a malformed reply, a reply over the limits, EOF, an I/O error or a deadline makes the connection
// "failed": every later call returns failure at once, and error() says why (for logs; never remote text
// unless passed through printable()). Every operation has a deadline (client_timeouts); nothing waits
// for the peer without one.
// TLS: TLS 1.2 minimum, 1.3 preferred. The handshake never fails because of certificate verification:
// verification (chain against the trust store, and the host name when one is given) runs during the
// handshake and its outcome is reported in tls_facts::verified / verify_error, so the caller decides (DANE
// checks the chain against TLSA records instead; MTA-STS enforce and AUTH need verified; opportunistic
// STARTTLS does not care). STARTTLS injection: bytes the server sent after its 220 and before the handshake
// abort STARTTLS (CVE-2011-0411 class); after the handshake every plaintext state is discarded.
// Not handled: CHUNKING/BDAT, implicit-TLS SNI fallbacks, client certificates, SOCKS/proxies.
#pragma once
#include "outbound/reply_parser.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::outbound {

// RFC 5321 4.5.3.2 client timeouts (the minimums it recommends), plus connect and TLS.
struct client_timeouts {
  std::chrono::milliseconds connect{30'000};
  std::chrono::milliseconds greeting{300'000};    // 4.5.3.2.1: 5 minutes
  std::chrono::milliseconds command{300'000};     // EHLO, MAIL, RCPT, QUIT, ... 4.5.3.2.2/3
  std::chrono::milliseconds data_init{120'000};   // 4.5.3.2.4: DATA -> 354
  std::chrono::milliseconds data_block{180'000};  // 4.5.3.2.5: each block of message bytes written
  std::chrono::milliseconds data_end{600'000};    // 4.5.3.2.6: "." -> final reply
  std::chrono::milliseconds tls_handshake{60'000};
};

// What to ask of the TLS layer.
struct tls_params {
  std::string sni;                  // server name indication; empty: none (e.g. an IP literal)
  std::string verify_name;          // host name the certificate must carry for verified == true; empty: chain only
  std::string ca_file;              // PEM trust anchors; empty: OpenSSL's default paths (the system store)
  std::string min_version = "1.2";  // "1.2" or "1.3"; never lower (unless audit_legacy)
  // Auditor only (`mailfort audit`, which must see what a server accepts; delivery never sets these):
  // audit_legacy pins the protocol to exactly min_version, which may then be "1.0" or "1.1", at OpenSSL
  // security level 0; audit_ciphers replaces the TLS <= 1.2 cipher list ("" = delivery's list, or OpenSSL's
  // DEFAULT when audit_legacy is set).
  bool audit_legacy = false;
  std::string audit_ciphers;
};

// Facts about the TLS session once the handshake succeeded.
struct tls_facts {
  std::string version;       // "TLSv1.3"
  std::string cipher;        // "TLS_AES_256_GCM_SHA384"
  bool verified = false;     // chain verified to a trust anchor, and verify_name matched when given
  std::string verify_error;  // OpenSSL's verify result text when !verified
};

// Why a connection failed (the connection is unusable after any of these).
enum class conn_error : std::uint8_t {
  none,
  connect_failed,  // refused, unreachable, bind of the source address failed
  timeout,         // a deadline passed (connect, read, write, handshake)
  closed,          // EOF or I/O error
  protocol,        // malformed or oversized reply (reply_error), or an unexpected reply shape
  tls,             // handshake failure, or STARTTLS injection
};
const char* to_string(conn_error e);

struct client_options {
  client_timeouts timeouts;
  reply_limits limits;
  std::optional<boost::asio::ip::address> source;  // outbound source address; nullopt: the kernel chooses
};

class client_connection {
 public:
  using tcp = boost::asio::ip::tcp;

  client_connection(boost::asio::any_io_executor ex, client_options opts = {});
  ~client_connection();
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  // TCP connect within timeouts.connect (binding the source address first when one is set). Does NOT read
  // the greeting: call read_reply(timeouts().greeting) next. False on failure (error() says why).
  boost::asio::awaitable<bool> connect(const tcp::endpoint& ep);

  // One complete reply within `timeout`; nullopt on failure. Replies that arrived pipelined are returned in order.
  boost::asio::awaitable<std::optional<server_reply>> read_reply(std::chrono::milliseconds timeout);
  boost::asio::awaitable<std::optional<server_reply>> read_reply() { return read_reply(opts_.timeouts.command); }
  // As read_reply, but running out of `wait` is not a failure: nullopt with failed() still false means no
  // complete reply arrived in time and the connection stays usable (the auditor's "is anything answered
  // here?" probes). Any other failure is as for read_reply.
  boost::asio::awaitable<std::optional<server_reply>> wait_reply(std::chrono::milliseconds wait);
  // Bytes (or a partial reply) received and not yet returned as a reply.
  bool has_unread_input() const { return !inbuf_.empty() || parser_.has_partial(); }

  // Writes raw bytes (nothing appended) within `timeout`. False on failure.
  boost::asio::awaitable<bool> send(std::string_view bytes, std::chrono::milliseconds timeout);
  // Writes line + CRLF, then reads one reply (timeout applies to each). The line must not contain CR or LF:
  // such a line is refused without sending anything (protocol error), so no caller can inject a command.
  boost::asio::awaitable<std::optional<server_reply>> command(std::string_view line, std::chrono::milliseconds timeout);
  boost::asio::awaitable<std::optional<server_reply>> command(std::string_view line) {
    return command(line, opts_.timeouts.command);
  }

  // EHLO name; on a 5xx reply (a server without ESMTP) falls back to HELO name. Returns the reply that ended
  // it (check positive()); capabilities() holds what EHLO announced (all false after a HELO fallback).
  boost::asio::awaitable<std::optional<server_reply>> ehlo(std::string_view helo_name);
  const ehlo_capabilities& capabilities() const { return caps_; }
  bool esmtp() const { return esmtp_; }  // the last greeting exchange was EHLO (not the HELO fallback)

  // Sends STARTTLS, expects 220, checks that no byte follows it, then handshake().
  //   ok                    TLS is up (see tls()); EHLO again before anything else (RFC 3207 4.2).
  //   !ok and refused set   the server answered STARTTLS with another code: still usable in plaintext.
  //   !ok, refused empty    failure (error() says why): the connection is unusable.
  struct starttls_outcome {
    bool ok = false;
    std::optional<server_reply> refused;
  };
  boost::asio::awaitable<starttls_outcome> starttls(const tls_params& p);
  // TLS handshake right now (implicit TLS, port 465; and the second half of starttls). Discards every
  // buffered plaintext byte and parser state. False on failure (error() == tls or timeout).
  boost::asio::awaitable<bool> handshake(const tls_params& p);

  bool tls_active() const { return tls_ != nullptr && tls_up_; }
  const tls_facts& tls() const { return facts_; }
  // The peer's certificate chain as sent, leaf first (SSL_get_peer_cert_chain); pointers valid until close().
  std::vector<X509*> peer_chain() const;
  // The leaf certificate (not owned; valid until close()), nullptr without TLS.
  X509* peer_certificate() const;

  // Sends QUIT and waits briefly for its reply when the connection is healthy, then closes. Never fails.
  boost::asio::awaitable<void> quit();
  void close();  // immediate close, no QUIT

  bool failed() const { return error_ != conn_error::none; }
  conn_error error() const { return error_; }
  const std::string& error_text() const { return error_text_; }  // e.g. "connect: Connection refused"
  // Our own address on this connection, kept after close ("" when it never connected): TLS-RPT's sending-mta-ip.
  const std::string& local_address() const { return local_address_; }
  tcp::endpoint remote() const { return remote_; }
  const client_options& options() const { return opts_; }
  const client_timeouts& timeouts() const { return opts_.timeouts; }

 private:
  template <class Stream>
  boost::asio::awaitable<std::size_t> read_some_from(Stream& s, std::chrono::milliseconds timeout);
  boost::asio::awaitable<std::optional<server_reply>> read_reply_until(std::chrono::milliseconds timeout,
                                                                       bool timeout_fails);
  template <class Stream>
  boost::asio::awaitable<bool> write_to(Stream& s, std::string_view bytes, std::chrono::milliseconds timeout);
  void fail(conn_error e, std::string text);

  boost::asio::any_io_executor ex_;
  client_options opts_;
  tcp::socket sock_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<boost::asio::ssl::context> ctx_;
  std::unique_ptr<boost::asio::ssl::stream<tcp::socket&>> tls_;
  bool tls_up_ = false;
  tls_facts facts_;
  reply_parser parser_;
  bool soft_timeout_ = false;  // wait_reply in progress: a read timeout does not fail the connection
  std::string inbuf_;          // bytes received and not yet fed to the parser
  ehlo_capabilities caps_;
  bool esmtp_ = false;
  conn_error error_ = conn_error::none;
  std::string error_text_;
  std::string local_address_;
  tcp::endpoint remote_;
};

}  // namespace mailfort::outbound
