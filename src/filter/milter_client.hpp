// filter/milter_client.hpp: the milter v6 client: at end of DATA, before the message is queued, each configured
// milter ([[filter.milter]], in order) is given the whole SMTP transaction and the message, and its verdict and
// end-of-message modifications are applied to the message about to be spooled.
// SPDX-License-Identifier: MIT
// Untrusted input: the milter's replies, parsed only by filter/milter_codec (pure, fuzzed). A milter that cannot
// be reached, is slower than its timeouts, or sends anything malformed gets its default_action (tempfail:
// 451 4.7.1 by default), a `milter_error` log event and a metric; the SMTP session never hangs on it: every
// connect, write and read has a deadline.
// Design: the conversation (CONNECT, HELO, MAIL, RCPT, DATA, headers, body, end of message) is replayed at end
// of DATA rather than interleaved with the SMTP commands, so every milter verdict is the reply to the end of
// DATA (a reject at MAIL or RCPT refuses the message; no recipient is dropped silently). The body is read from
// the message file in 64 KiB chunks, never held whole. Postfix's default macros are sent.
// A quarantine is reported (outcome::quarantine); the server holds the message in the queue (server_deps).
// Not implemented: SMFIC_UNKNOWN, connection reuse across messages (one milter connection per message).
#pragma once
#include "config/config.hpp"
#include "filter/milter_codec.hpp"
#include "queue/message_file.hpp"
#include "smtp/reply.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::filter {

// What the milters learn about the transaction (macros and events).
struct transaction_info {
  std::string_view hostname;  // j
  std::string_view listener;  // mx, submission, submissions: selects the milters
  std::string_view daemon_addr;
  std::string_view client_ip;
  std::uint16_t client_port = 0;
  std::string_view helo;
  std::string_view tls_version, tls_cipher;
  std::string_view auth_user;
  std::string_view auth_mechanism;  // {auth_type}
  std::string_view queue_id;
  std::string_view session_id;
  const std::vector<std::string>* local_domains = nullptr;  // for {rcpt_mailer}: local or smtp
  std::filesystem::path tmp_dir;                            // queue/tmp: where a replacement body is written
};

struct outcome {
  enum class verdict : std::uint8_t { accept, reject, tempfail, discard, shutdown };
  verdict action = verdict::accept;
  smtp::reply reply;       // reject, tempfail, shutdown: the SMTP reply to the end of DATA
  std::string milter;      // which milter decided (reject/tempfail/discard/shutdown)
  std::string rule;        // for the reject event: "milter", "milter_failure"
  std::string quarantine;  // a milter asked to quarantine (the reason)
  bool spam = false;       // a milter flagged it "X-Spam: Yes" (rspamd's "add header"): filed into Junk
  // The envelope as the milters left it.
  std::string sender;
  std::vector<std::string> recipients;
  bool envelope_changed = false;
  // A replaced body (already normalised to CRLF), to be adopted by the message file.
  std::unique_ptr<queue::message_file> new_body;
};

// Runs the milters selected for `info.listener` over the message: `head` is the header section as held (the
// milters' header edits are applied to it), `body` the message file (finished). `sender`/`recipients` are the
// envelope. A replacement body goes to info.tmp_dir, up to limits.message_size.
// Never throws; runs on `ex` and does no blocking work but 64 KiB reads of the message file.
boost::asio::awaitable<outcome> run_milters(boost::asio::any_io_executor ex, const config::config& cfg,
                                            const transaction_info& info, std::string& head,
                                            const queue::message_file& body, std::string sender,
                                            std::vector<std::string> recipients);

// Do any milters apply to this listener?
bool any_for(const config::config& cfg, std::string_view listener);

}  // namespace mailfort::filter
