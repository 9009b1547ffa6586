// smtp/inbound.hpp: the hook through which the server has each inbound message checked (SPF, DKIM, DMARC)
// at end of data, before it is queued, and signed (DKIM) when it comes from an authenticated user.
// SPDX-License-Identifier: MIT
// The SMTP layer knows only this interface; src/inbound/ implements it over the resolver and src/auth/.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>
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

class inbound_checker {
 public:
  virtual ~inbound_checker() = default;
  // Checks a message received on the MX listener. May rewrite `content` (the message as received, before
  // our Received: field): removes Authentication-Results that claim our authserv-id, prepends ours.
  // Runs on `ex` (the connection's event loop) and never blocks it.
  virtual boost::asio::awaitable<inbound_verdict> check(boost::asio::any_io_executor ex, const inbound_message& m,
                                                        std::string& content) = 0;
  // A message from an authenticated user (auth_user set) or a trusted network (trusted): for a user, every
  // header From: address must be one the login may send as (smtp/send_as.hpp), else a reject verdict
  // (550 5.7.1); then DKIM signatures are prepended to `content` for a From domain we hold a key for.
  // Trusted-network mail is never refused here, and is signed when dkim.sign_trusted says so.
  virtual inbound_verdict submit(const inbound_message& m, std::string& content) = 0;
};

}  // namespace mailfort::smtp
