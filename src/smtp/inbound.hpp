// smtp/inbound.hpp: the hook through which the server has each inbound message checked (SPF, DKIM, DMARC)
// at end of data, before it is queued; a message from a logged-in user has its From: checked and is signed
// (DKIM), as is one from a trusted network.
// SPDX-License-Identifier: MIT
// The SMTP layer knows only this interface; src/inbound/ implements it over the resolver and src/auth/.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <string_view>
#include <vector>

namespace mailfort::smtp {

struct inbound_message {
  std::string_view client_ip;
  std::string_view helo;
  std::string_view sender;  // MAIL FROM without <>; empty for the null sender
  const std::vector<std::string>* recipients = nullptr;
  std::string_view queue_id;
  std::string_view session_id;
  std::string_view auth_user;  // empty on the MX listener
  bool trusted = false;        // the client is in relay.trusted_networks
  // Every recipient named postmaster@ or abuse@ of a hosted domain: a DMARC reject is not applied (RFC 5321
  // 4.5.1: reports about failing mail must reach them).
  bool role_only = false;
};

struct inbound_verdict {
  enum class kind { accept, quarantine, reject, tempfail };
  kind action = kind::accept;
  int code = 250;        // for reject / tempfail: the reply to send instead of queueing
  std::string enhanced;  // e.g. "5.7.1"
  std::string text;
  std::string rule;    // for the reject log event, e.g. "dmarc_reject"
  std::string folder;  // quarantine: the Maildir folder ("Junk")
};

// A message at end of data as the connection holds it: the header section in memory (bounded by
// limits.header_section), the body in a file under queue/tmp/ (or in memory when it is small). The checks
// read the body in chunks, off the event loop; they never hold it whole.
struct message_content {
  std::string head;  // the header section through its empty line (the whole message when it has none)
  std::uint64_t body_size = 0;
  // Streams the body in chunks (callable from any thread, once at a time). Returns an I/O error, if any.
  std::function<std::error_code(const std::function<void(std::string_view)>&)> read_body;
};

class inbound_checker {
 public:
  virtual ~inbound_checker() = default;
  // Checks a message received on the MX listener. May rewrite `content.head` (the header section as received,
  // before our Received: field): removes Authentication-Results that claim our authserv-id, prepends ours.
  // Runs on `ex` (the connection's event loop) and never blocks it: body hashing runs on the CPU pool.
  virtual boost::asio::awaitable<inbound_verdict> check(boost::asio::any_io_executor ex, const inbound_message& m,
                                                        message_content& content) = 0;
  // A message from an authenticated user (auth_user set) or a trusted network (trusted): for a user, every
  // header From: address must be one the login may send as (smtp/send_as.hpp), else a reject verdict
  // (550 5.7.1) and nothing is signed; then DKIM signatures are prepended to `content.head` for a From domain
  // we hold a key for. The From: check reads only the header section; body hashing runs on the CPU pool.
  // Trusted-network mail is never refused here, and is signed when dkim.sign_trusted says so.
  virtual boost::asio::awaitable<inbound_verdict> submit(boost::asio::any_io_executor ex, const inbound_message& m,
                                                         message_content& content) = 0;
};

}  // namespace mailfort::smtp
