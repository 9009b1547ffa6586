// smtp/session.hpp: [pure] the SMTP server session state machine: command line in, replies and one action out.
// SPDX-License-Identifier: MIT
//
// SECURITY: this is where every untrusted command is judged. It sees no socket and no disk; the
// coroutine around it (server_connection) moves bytes and carries out the action the session asks for
// (start TLS, check a password, read DATA, spool a message, close). Everything it decides is returned
// as replies plus named log events, so every verb in every state is unit-testable.
//
// STANDARDS: RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 2920 (PIPELINING), RFC 6152 (8BITMIME), RFC 6531
// (SMTPUTF8), RFC 2034/3463 (enhanced codes), RFC 3207 (STARTTLS), RFC 4954 + RFC 4616 (AUTH PLAIN,
// LOGIN), RFC 3848 (Received protocol names).
//
// NOT IMPLEMENTED: CHUNKING/BDAT (not advertised; BDAT is refused), DSN parameters (not advertised:
// RET/ENVID/NOTIFY/ORCPT are unknown parameters), XCLIENT/XFORWARD/PROXY (refused for everyone).
#pragma once
#include "log/events.hpp"
#include "smtp/address.hpp"
#include "smtp/command_parser.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/reply.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::smtp {

enum class listener_kind : std::uint8_t { mx, submission, submissions };
const char* listener_name(listener_kind k);

struct session_limits {
  std::uint64_t message_size = 25ull * 1024 * 1024;
  std::size_t command_line = 512;
  std::size_t text_line = 1000;
  std::size_t header_section = 256 * 1024;
  std::size_t recipients = 100;
  std::size_t max_hops = 100;
  std::size_t soft_errors = 10;
  std::size_t hard_errors = 20;
  std::size_t junk_commands = 100;
  std::size_t unknown_recipients = 20;
  std::size_t messages_per_connection = 100;
};

// Facts about the world the session may ask for. Implementations must be fast and thread-safe
// (in-memory tables or an indexed SQLite lookup); they must not block on the network.
class session_env {
 public:
  virtual ~session_env() = default;
  virtual bool is_local_domain(std::string_view domain) const = 0;
  // address is lower-case local@domain with a local domain.
  virtual bool local_user_exists(std::string_view address) const = 0;
  // May this login use this envelope sender? (default policy: only its own address, or <>)
  virtual bool may_send_as(std::string_view login, std::string_view sender) const = 0;
  // Who a local recipient (lower-case local@domain of a local domain) really is (issue 20, address/resolve.hpp):
  // the final recipients of an alias, subaddress, postmaster@/abuse@ or catch-all, local and remote. The default
  // knows users only.
  struct local_resolution {
    enum class kind : std::uint8_t { ok, unknown, loop, too_deep, too_many } result = kind::unknown;
    std::vector<std::string> recipients;
  };
  virtual local_resolution resolve_local(std::string_view address) const {
    if (!local_user_exists(address)) return {};
    return {local_resolution::kind::ok, {std::string(address)}};
  }
  // A bounce to an SRS address of ours (address/srs.hpp): where it really goes, or why it is refused (forged,
  // expired, malformed). not_srs for every other address. The default knows no SRS.
  struct srs_reversal {
    enum class kind : std::uint8_t { not_srs, ok, invalid } result = kind::not_srs;
    std::string address;  // ok: the original sender
    std::string reason;   // invalid: bad_hash, expired, malformed
  };
  virtual srs_reversal reverse_srs(std::string_view address) const {
    (void)address;
    return {};
  }
  // Rate limits (policy::guard): spend one unit; returns "" when allowed, else the name of the limit
  // that fired. user is the authenticated login or empty.
  enum class limit_kind : std::uint8_t { message, recipient, auth };
  virtual std::string check_limit(limit_kind, std::string_view client_ip, std::string_view user) const {
    (void)client_ip;
    (void)user;
    return {};
  }
  // The global budget of message bytes in flight (limits.inflight_bytes): may a message of `bytes` (0: of
  // unknown size) start now? When not: 452 4.3.1 at MAIL (SIZE=) or DATA.
  virtual bool inflight_room(std::uint64_t bytes) const {
    (void)bytes;
    return true;
  }
};

struct session_config {
  std::string hostname = "localhost";
  listener_kind kind = listener_kind::mx;
  bool tls_available = true;                 // a certificate is loaded: STARTTLS may be offered
  bool trusted_client = false;               // client address is in relay.trusted_networks
  std::string primary_domain = "localhost";  // for <postmaster> without domain
  session_limits limits;
  bool allow_null_sender = false;       // submission: may a logged-in user send MAIL FROM:<> (relay.allow_null_sender)
  std::size_t max_remote_targets = 10;  // remote targets one message may reach through aliases (address.*)
};

enum class action : std::uint8_t {
  none,         // keep reading commands
  close,        // write the replies, then close the connection
  start_tls,    // write the replies, then (if no bytes are buffered behind STARTTLS) run the TLS handshake
  verify_auth,  // check pending_auth() off the event loop, then call on_auth_result()
  begin_data,   // write 354, then read the message with a data_reader(data_limits()) and call on_data_end()
  spool,        // make the message durable (envelope(), Received header), then call on_spooled()
};

struct log_event {
  std::string name;
  nlohmann::json fields;
};

struct step {
  std::vector<reply> replies;
  enum action action = action::none;
  std::vector<log_event> events;
  bool count_error = false;  // the client made an error (for tarpit delays)
};

struct pending_credentials {
  std::string mechanism;
  std::string authzid;
  std::string authcid;
  std::string password;
};

struct transaction {
  bool active = false;
  std::string sender;  // reverse-path (no <>); empty for null sender
  std::vector<std::string> recipients;
  std::uint64_t declared_size = 0;
  bool smtputf8 = false;
  bool eight_bit_mime = false;
  // Every RCPT so far named postmaster@ or abuse@ of a local domain (RFC 5321 4.5.1): exempt from DMARC reject.
  bool role_only = true;
  std::size_t forwarded_remote = 0;  // remote targets reached through aliases (address.max_remote_targets)
  // Remote targets reached through an alias, with the alias (queued as the recipient's ORCPT: the delivery
  // rewrites the envelope sender with SRS for them).
  std::vector<std::pair<std::string, std::string>> forwarded;
};

// What the cleanup step (smtp/cleanup.hpp) did with a message at the end of data; session::on_cleanup() turns it
// into the reply.
struct cleanup_outcome {
  enum class kind : std::uint8_t {
    queued,        // durable in the queue as `queue_id`
    discarded,     // accepted and dropped (a milter said discard, or every recipient was removed)
    refused,       // a check, a filter or the in-flight budget refused it: code, enhanced, text, rule
    store_failed,  // the queue file could not be written: errc (ENOSPC -> 452 4.3.1, other -> 451 4.3.0)
  };
  kind what = kind::queued;
  std::string queue_id;
  int errc = 0;
  int code = 0;
  std::string enhanced;
  std::string text;
  std::string rule;
  bool close = false;  // refused by a milter's shutdown: close the connection after the reply
};

class session {
 public:
  session(session_config cfg, const session_env& env, std::string client_ip, std::uint16_t client_port);

  // The greeting (called once, after any pre-greeting checks). For "submissions" the I/O layer runs the
  // TLS handshake first and calls on_tls_established() before this.
  step greeting();
  // One event from the line reader: a complete line, or a framing error (too long, bare CR/LF, overflow).
  step on_line(line_status status, std::string_view line);
  // After action::start_tls: the handshake succeeded. All pre-TLS state is forgotten (RFC 3207 4.2).
  void on_tls_established(std::string version, std::string cipher);
  // After action::start_tls found bytes pipelined behind STARTTLS (command injection attempt).
  step on_starttls_pipelined();
  // After action::begin_data found bytes pipelined behind DATA before the 354 was sent.
  step on_data_pipelined();
  // After action::verify_auth: the canonical user name the user database matched (its stored address), or
  // nullopt when the credentials were wrong. The session records that name, never the login as typed, so
  // " alice@localhost" and "ALICE@localhost" are one identity for limits, holds and logs (issue 15 item 3).
  step on_auth_result(const std::optional<std::string>& canonical_user);
  // After action::begin_data: the reader reached the real end of data (error() tells if it was bad).
  step on_data_end(const data_reader& reader, std::size_t content_bytes);
  // After action::spool. errc: 0 ok; ENOSPC -> 452 4.3.1; other -> 451 4.3.0.
  step on_spooled(int errc, const std::string& queue_id);
  // End of data refused by the inbound checks (DMARC p=reject, temporary DNS failure): `code` is 5xx or 4xx;
  // the transaction is reset and nothing is queued. Not counted as a client error.
  step on_policy_reject(int code, const std::string& enhanced, const std::string& text, const std::string& rule);
  // After action::spool and the cleanup step: the reply for what became of the message (on_spooled() for a
  // queued, discarded or unwritable message, on_policy_reject() for a refused one).
  step on_cleanup(const cleanup_outcome& o);
  // The I/O layer timed out waiting (command or data): returns the 421 4.4.2.
  step on_timeout(bool in_data);

  // Accessors used by the I/O layer.
  bool tls_active() const { return tls_active_; }
  bool in_data() const { return state_ == state::data; }
  bool in_sasl() const {
    return state_ == state::auth_plain || state_ == state::auth_login_user || state_ == state::auth_login_pass;
  }
  const pending_credentials& pending_auth() const { return creds_; }
  const transaction& current_transaction() const { return tx_; }
  data_limits data_limits_for_message() const;
  std::size_t errors() const { return errors_; }
  std::size_t soft_error_limit() const { return cfg_.limits.soft_errors; }
  const std::string& auth_user() const { return auth_user_; }
  const std::string& auth_mechanism() const { return auth_mechanism_; }  // "PLAIN", "LOGIN"; empty before AUTH
  const std::string& helo() const { return helo_; }
  // The Received: header for a message about to be spooled (RFC 5321 4.4, RFC 3848 protocol names).
  std::string received_header(const std::string& queue_id, std::int64_t unix_time) const;
  // The line-length limit for the line reader: SASL responses may be up to 12288 octets (RFC 4954 4).
  static constexpr std::size_t max_reader_line = 12288 + 2;

 private:
  enum class state : std::uint8_t { connected, greeted, auth_plain, auth_login_user, auth_login_pass, data, closed };
  step dispatch(const command& cmd);
  step do_helo(const command& cmd, bool extended);
  step do_mail(const command& cmd);
  step do_rcpt(const command& cmd);
  step do_data(const command& cmd);
  step do_auth(const command& cmd);
  step do_sasl_line(std::string_view line);
  step do_starttls(const command& cmd);
  step error_reply(step s, log::reject_rule rule, int code, std::string_view enh, std::string_view text,
                   std::string_view stage);
  step junk(step s);
  void add_event(step& s, log::event_id e, nlohmann::json fields) const;
  void reset_transaction() { tx_ = transaction{}; }
  bool may_relay() const { return cfg_.trusted_client || !auth_user_.empty(); }
  bool needs_auth() const { return cfg_.kind != listener_kind::mx; }

  session_config cfg_;
  const session_env& env_;
  std::string client_ip_;
  state state_ = state::connected;
  bool helo_done_ = false;
  bool extended_ = false;
  std::string helo_;
  bool tls_active_ = false;
  std::string tls_version_;
  std::string tls_cipher_;
  std::string auth_user_;
  std::string auth_mechanism_;
  pending_credentials creds_;
  transaction tx_;
  std::size_t errors_ = 0;
  std::size_t junk_ = 0;
  std::size_t unknown_rcpts_ = 0;
  std::size_t messages_ = 0;
  std::size_t auth_failures_ = 0;
};

}  // namespace mailfort::smtp
