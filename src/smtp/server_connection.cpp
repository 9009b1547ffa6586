// smtp/server_connection.cpp: one coroutine per SMTP connection: read bytes, feed the pure parsers and the
// session, carry out the session's action, write replies. It moves bytes and keeps the timers; the session
// decides, the cleanup step (smtp/cleanup.hpp) owns the message from the end of data to the queue, and
// policy/offences.hpp says which refusals count towards a ban.
// SPDX-License-Identifier: MIT
//
// SECURITY: deadlines. A command line must arrive within command_timeout_s of the previous reply; the
// deadline is NOT extended by each byte (slowloris, bad-input 44). In DATA each chunk extends the
// deadline by bytes/min_data_rate, never beyond command_timeout_s from now, and the whole DATA phase is
// capped at data_timeout_s (Postfix's smtpd_min_data_rate model). Writes have a deadline too, so a
// client that never reads cannot pin a coroutine.
#include "common/ascii.hpp"
#include "common/ids.hpp"
#include "log/events.hpp"
#include "log/logger.hpp"
#include "policy/guard.hpp"
#include "policy/offences.hpp"
#include "queue/message_file.hpp"
#include "queue/spool.hpp"
#include "smtp/cleanup.hpp"
#include "sasl/user_db.hpp"
#include "smtp/inbound.hpp"
#include "smtp/server.hpp"
#include "tls/server_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>

namespace mailfort::smtp {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);
// Events and reject rules are the declared ones (log/events.hpp), never bare strings.
using ev = log::event_id;
using rule = log::reject_rule;

// Runs on the CPU pool: argon2id takes tens of milliseconds. The canonical user name on success.
asio::awaitable<std::optional<std::string>> verify_password(sasl::user_db* users, std::string user,
                                                            std::string password) {
  try {
    co_return users->authenticate(user, password);
  } catch (const std::exception&) {
    co_return std::nullopt;
  }
}

// Bytes of one message in flight, charged as they arrive against limits.inflight_bytes, given back when the
// message is queued or dropped.
struct inflight_charge {
  common::byte_budget* budget;
  std::uint64_t taken = 0;
  ~inflight_charge() {
    if (budget) budget->give_back(taken);
  }
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(server& srv, tcp::socket sock, listener_kind kind)
      : srv_(srv), cfg_(*srv.deps().cfg), sock_(std::move(sock)), kind_(kind), timer_(sock_.get_executor()) {}

  asio::awaitable<void> run();

 private:
  // ---- byte movement with deadlines ------------------------------------------------------------
  asio::awaitable<std::size_t> read_some(steady::time_point deadline) {
    timer_.expires_at(deadline);
    // (if/else, not ?: : GCC 12 miscompiles co_await inside a conditional expression)
    if (tls_) co_return co_await read_from(*tls_);
    co_return co_await read_from(sock_);
  }

  // Returns 0 on EOF, error or deadline (timed_out_ tells which).
  template <class Stream>
  asio::awaitable<std::size_t> read_from(Stream& stream) {
    auto r = co_await (stream.async_read_some(asio::buffer(inbuf_), k_tuple) || timer_.async_wait(k_tuple));
    if (r.index() == 1) {
      timed_out_ = true;
      co_return 0;
    }
    auto [ec, n] = std::get<0>(r);
    co_return ec ? 0 : n;
  }

  asio::awaitable<bool> write_all(const std::string& data) {
    if (data.empty() || broken_) co_return !broken_;
    timer_.expires_after(std::chrono::seconds(cfg_.limits.command_timeout_s));
    if (tls_) {
      auto r = co_await (asio::async_write(*tls_, asio::buffer(data), k_tuple) || timer_.async_wait(k_tuple));
      broken_ = r.index() == 1 || std::get<0>(std::get<0>(r));
    } else {
      auto r = co_await (asio::async_write(sock_, asio::buffer(data), k_tuple) || timer_.async_wait(k_tuple));
      broken_ = r.index() == 1 || std::get<0>(std::get<0>(r));
    }
    co_return !broken_;
  }

  asio::awaitable<bool> flush() {
    if (out_.empty()) co_return !broken_;
    std::string data;
    data.swap(out_);
    co_return co_await write_all(data);
  }

  asio::awaitable<void> sleep_ms(int ms) {
    if (ms <= 0) co_return;
    asio::steady_timer t(sock_.get_executor(), std::chrono::milliseconds(ms));
    co_await t.async_wait(k_tuple);
  }

  asio::awaitable<bool> handshake() {
    auto ctx = srv_.deps().tls->get();
    ctx_keepalive_ = ctx;
    tls_ = std::make_unique<ssl::stream<tcp::socket&>>(sock_, *ctx);
    timer_.expires_after(std::chrono::seconds(cfg_.tls.handshake_timeout_s));
    auto r = co_await (tls_->async_handshake(ssl::stream_base::server, k_tuple) || timer_.async_wait(k_tuple));
    std::string err;
    if (r.index() == 1) {
      err = "handshake timeout";
    } else if (auto [ec] = std::get<0>(r); ec) {
      err = ec.message();
    }
    if (!err.empty()) {
      log::warning(log::name(ev::tls_error), base_fields({{"reason", err}}));
      broken_ = true;
      co_return false;
    }
    SSL* s = tls_->native_handle();
    tls_version_ = SSL_get_version(s);
    tls_cipher_ = SSL_get_cipher_name(s);
    log::info(log::name(ev::tls), base_fields({{"version", tls_version_}, {"cipher", tls_cipher_}}));
    co_return true;
  }

  nlohmann::json base_fields(nlohmann::json extra = nlohmann::json::object()) const {
    extra["session"] = sid_;
    extra["client"] = client_;
    extra["client_ip"] = client_ip_;
    extra["listener"] = listener_name(kind_);
    return extra;
  }

  // The offence a session event counts as (the table is policy/offences.cpp).
  static std::optional<policy::offence> offence_of(const log_event& e) {
    if (e.name != log::name(ev::auth) && e.name != log::name(ev::reject)) return std::nullopt;
    const std::string rule = e.fields.value("rule", "");
    const std::string result = e.fields.value("result", "");
    return policy::offence_of(
        {.event = e.name, .rule = rule, .result = result, .fake_end = e.fields.value("fake_end", false)});
  }

  // Count an offence; when it bans the source, say so and close after the pending replies.
  void score(policy::offence o) {
    auto* g = srv_.deps().guard;
    if (!g || banned_now_) return;
    if (auto ban = g->record(addr_, o)) {
      banned_now_ = true;
      log::warning(log::name(ev::ban), base_fields({{"source", ban->source},
                                                    {"reason", ban->reason},
                                                    {"until", ban->until},
                                                    {"duration_s", ban->until - ban->created},
                                                    {"count", ban->count}}));
      ban_notice_pending_ = !closing_;
    }
  }

  // Log the session's events and queue its replies. Returns the action.
  action absorb(step& s) {
    for (auto& e : s.events) {
      if (auto o = offence_of(e)) score(*o);
      auto fields = base_fields(std::move(e.fields));
      const bool reject = e.name == log::name(ev::reject);
      if (!queue_id_.empty() && (reject || e.name == log::name(ev::queued))) fields["queue_id"] = queue_id_;
      if (reject || (e.name == log::name(ev::auth) && fields.value("result", "") == "failure"))
        log::warning(e.name, std::move(fields));
      else
        log::info(e.name, std::move(fields));
    }
    for (auto& r : s.replies) append_formatted(r, out_);
    if (banned_now_) {
      // The replies of this step stand (the client learns why), then the ban ends the session.
      if (ban_notice_pending_ && s.action != action::close)
        out_ += "421 4.7.0 " + cfg_.hostname + " Too many errors from your address; you are banned\r\n";
      ban_notice_pending_ = false;
      closing_ = true;
      return action::close;
    }
    if (s.action == action::close) closing_ = true;
    return s.action;
  }

  // Before each command: a ban made since this session began (by another session, node or `mailfort ban add`)
  // ends it; a session past limits.session_lifetime_s ends too. Returns why it must close, or nullptr.
  const char* must_end(steady::time_point session_end) {
    if (auto* g = srv_.deps().guard; g && !banned_now_) {
      auto gen = g->generation();
      if (gen != ban_gen_seen_) {
        ban_gen_seen_ = gen;
        if (g->banned(addr_)) {
          log::warning(log::name(ev::reject),
                       base_fields({{"stage", "command"}, {"code", 421}, {"rule", log::rule_field(rule::banned)}}));
          out_ += "421 4.7.0 " + cfg_.hostname + " Your address is banned for abuse; closing\r\n";
          closing_ = true;
          return "banned";
        }
      }
    }
    if (steady::now() >= session_end) {
      log::warning(
          log::name(ev::reject),
          base_fields({{"stage", "command"}, {"code", 421}, {"rule", log::rule_field(rule::session_lifetime)}}));
      out_ += "421 4.4.2 " + cfg_.hostname + " Session too long, closing\r\n";
      closing_ = true;
      return "session_lifetime";
    }
    return nullptr;
  }

  asio::awaitable<step> do_verify_auth(session& sess) {
    auto creds = sess.pending_auth();
    auto* users = srv_.deps().users;
    // A coroutine function, not a capturing lambda: a lambda coroutine's captures die with the lambda
    // object, while parameters are copied into the coroutine frame.
    auto ok = co_await asio::co_spawn(*srv_.deps().cpu_pool, verify_password(users, creds.authcid, creds.password),
                                      asio::use_awaitable);
    if (!ok) {
      // A constant pause after every failure, known user or not (argon2id already costs the same).
      co_await sleep_ms(cfg_.limits.error_delay_ms);
    }
    co_return sess.on_auth_result(ok);
  }

  // ---- the connection's life, in order (run() calls them) ---------------------------------------
  bool learn_endpoints();
  asio::awaitable<bool> admit();
  asio::awaitable<void> refuse_at_connect(std::string reply);
  session_config session_config_for() const;
  asio::awaitable<std::string> converse(session& sess, steady::time_point session_end);
  asio::awaitable<const char*> greeting_pause();
  asio::awaitable<std::string> command_loop(session& sess, steady::time_point session_end);
  asio::awaitable<bool> take_message(session& sess, std::string_view& pending, std::size_t reply_mark,
                                     std::string& reason);
  asio::awaitable<bool> read_content(data_reader& reader, queue::message_file& mf, std::string_view& pending,
                                     inflight_charge& charged, received_content& got);
  asio::awaitable<void> finish(const session& sess, steady::time_point start, std::string reason);
  client_facts facts() const {
    return client_facts{sid_, client_, client_ip_, client_port_, local_ip_, kind_, tls_version_, tls_cipher_, trusted_};
  }

  server& srv_;
  const config::config& cfg_;
  tcp::socket sock_;
  listener_kind kind_;
  asio::steady_timer timer_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  std::shared_ptr<ssl::context> ctx_keepalive_;
  std::array<char, 16384> inbuf_{};
  std::string out_;
  std::string sid_ = common::new_session_id();
  std::string client_;
  std::string client_ip_;
  std::uint16_t client_port_ = 0;
  std::string local_ip_;
  std::string tls_version_, tls_cipher_;
  std::string queue_id_;
  bool timed_out_ = false;
  bool broken_ = false;
  bool closing_ = false;
  bool banned_now_ = false;
  bool ban_notice_pending_ = false;
  std::uint64_t ban_gen_seen_ = 0;
  asio::ip::address addr_;
  bool trusted_ = false;  // the client is in relay.trusted_networks
};

asio::awaitable<void> connection::run() {
  auto self = shared_from_this();
  auto start = steady::now();
  if (!learn_endpoints()) co_return;
  // Bans, connection rate and connection caps, before any TLS work: a refused source costs one accept and one
  // write.
  if (!co_await admit()) co_return;
  // Connection caps (bad-input 45), keyed on the ban source prefix (an IPv6 /64).
  std::string cap_key = client_ip_;
  bool cap_exempt = false;
  if (auto* g = srv_.deps().guard) {
    cap_key = g->source_of(addr_);
    cap_exempt = cfg_.ratelimit.exempt_trusted && g->rate_exempt(addr_);
  }
  auto verdict = srv_.tracker().acquire(cap_key, kind_, cap_exempt);
  if (verdict != connection_tracker::verdict::ok) {
    const auto why = verdict == connection_tracker::verdict::too_many_per_ip ? rule::too_many_connections_per_ip
                                                                             : rule::too_many_connections;
    log::warning(log::name(ev::reject),
                 base_fields({{"stage", "connect"}, {"code", 421}, {"rule", log::rule_field(why)}}));
    std::string reply = "421 4.7.0 " + cfg_.hostname + " Too many connections, try again later\r\n";
    co_await refuse_at_connect(std::move(reply));
    co_return;
  }
  struct release_guard {
    connection_tracker& t;
    std::string key;
    listener_kind kind;
    bool exempt;
    ~release_guard() { t.release(key, kind, exempt); }
  } guard{srv_.tracker(), cap_key, kind_, cap_exempt};

  log::info(log::name(ev::connect), base_fields());
  session sess(session_config_for(), *srv_.deps().env, client_ip_, client_port_);
  std::string reason = co_await converse(sess, start + std::chrono::seconds(cfg_.limits.session_lifetime_s));
  co_await finish(sess, start, std::move(reason));
}

bool connection::learn_endpoints() {
  boost::system::error_code ec;
  auto remote = sock_.remote_endpoint(ec);
  if (ec) return false;
  auto addr = remote.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  addr_ = addr;
  client_ip_ = addr.to_string();
  client_port_ = remote.port();
  if (auto local = sock_.local_endpoint(ec); !ec) local_ip_ = local.address().to_string();
  client_ = (addr.is_v6() ? "[" + client_ip_ + "]" : client_ip_) + ":" + std::to_string(client_port_);
  sock_.set_option(tcp::no_delay(true), ec);
  for (const auto& n : srv_.deps().trusted_networks)
    if (n.contains(addr)) trusted_ = true;
  return true;
}

// Bans and connection rate (policy::guard). False: refused, the socket is closed.
asio::awaitable<bool> connection::admit() {
  auto* g = srv_.deps().guard;
  if (!g) co_return true;
  ban_gen_seen_ = g->generation();  // bans made after this point end the session at its next command
  auto v = g->on_connect(addr_);
  if (v.allowed) co_return true;
  log::warning(log::name(ev::reject),
               base_fields({{"stage", "connect"}, {"code", 421}, {"rule", v.rule}, {"until", v.until}}));
  // The reply is built before the co_await: GCC 12 destroys a temporary made in a conditional expression inside a
  // co_await operand twice.
  std::string reply = v.rule == log::name(rule::banned)
                          ? "421 4.7.0 " + cfg_.hostname + " Your address is banned for abuse; try later\r\n"
                          : "421 4.7.0 " + cfg_.hostname + " Too many connections from you; slow down\r\n";
  co_await refuse_at_connect(std::move(reply));
  co_return false;
}

// Writes a refusal (bounded to 5 s) and closes. On the submissions port nothing is written: the client expects a
// TLS handshake, not text.
asio::awaitable<void> connection::refuse_at_connect(std::string reply) {
  if (kind_ != listener_kind::submissions) {
    out_ = std::move(reply);
    timer_.expires_after(std::chrono::seconds(5));
    co_await (asio::async_write(sock_, asio::buffer(out_), k_tuple) || timer_.async_wait(k_tuple));
  }
  boost::system::error_code ec;
  sock_.close(ec);
}

session_config connection::session_config_for() const {
  session_config scfg;
  scfg.hostname = cfg_.hostname;
  scfg.kind = kind_;
  scfg.tls_available = srv_.deps().tls != nullptr;
  scfg.primary_domain = cfg_.domains.empty() ? cfg_.hostname : cfg_.domains.front();
  scfg.allow_null_sender = cfg_.relay.allow_null_sender;
  scfg.max_remote_targets = cfg_.address.max_remote_targets;
  scfg.trusted_client = trusted_;
  const auto& L = cfg_.limits;
  scfg.limits = session_limits{L.message_size,
                               L.command_line,
                               L.text_line,
                               L.header_section,
                               L.recipients,
                               L.max_hops,
                               L.soft_errors,
                               L.hard_errors,
                               L.junk_commands,
                               L.unknown_recipients,
                               L.messages_per_connection};
  return scfg;
}

// The implicit TLS handshake (submissions), the greeting, then commands until one side ends. Returns the reason
// logged with the disconnect.
asio::awaitable<std::string> connection::converse(session& sess, steady::time_point session_end) {
  if (kind_ == listener_kind::submissions) {
    if (!co_await handshake()) co_return "tls_failed";
    sess.on_tls_established(tls_version_, tls_cipher_);
  }
  const char* why = co_await greeting_pause();
  if (why) co_return why;
  auto g = sess.greeting();
  absorb(g);
  if (!co_await flush()) co_return "client_closed";
  co_return co_await command_loop(sess, session_end);
}

// postscreen-style pause on the MX listener: a real MTA waits for the banner (RFC 5321 3.1); spam tools that
// talk first reveal themselves. Returns why the session ends, or nullptr to greet.
asio::awaitable<const char*> connection::greeting_pause() {
  auto* g = srv_.deps().guard;
  if (kind_ != listener_kind::mx || cfg_.greeting.delay_ms <= 0 || !g || g->exempt(addr_) || g->greeting_passed(addr_))
    co_return nullptr;
  timer_.expires_after(std::chrono::milliseconds(cfg_.greeting.delay_ms));
  auto r = co_await (sock_.async_wait(tcp::socket::wait_read, k_tuple) || timer_.async_wait(k_tuple));
  if (r.index() == 0) {
    char c;
    boost::system::error_code ec;
    std::size_t peeked = sock_.receive(asio::buffer(&c, 1), tcp::socket::message_peek, ec);
    if (ec || peeked == 0) co_return "client_closed";
    log::warning(log::name(ev::reject),
                 base_fields({{"stage", "greeting"}, {"code", 554}, {"rule", log::rule_field(rule::early_talker)}}));
    out_ = "554 5.5.0 " + cfg_.hostname + " Protocol error: talking before the greeting\r\n";
    score(policy::offence::early_talker);
    co_await flush();
    co_return "early_talker";
  }
  g->mark_greeting_passed(addr_);
  co_return nullptr;
}

asio::awaitable<std::string> connection::command_loop(session& sess, steady::time_point session_end) {
  const auto& L = cfg_.limits;
  std::string reason = "client_closed";
  line_reader lines(session::max_reader_line);
  auto cmd_deadline = steady::now() + std::chrono::seconds(L.command_timeout_s);
  while (!closing_ && !broken_) {
    std::size_t n = co_await read_some(std::min(cmd_deadline, session_end));
    if (n == 0) {
      if (timed_out_ && steady::now() >= session_end) {
        if (const char* why = must_end(session_end)) reason = why;
        co_await flush();
      } else if (timed_out_) {
        auto s = sess.on_timeout(false);
        absorb(s);
        co_await flush();
        reason = "timeout";
      }
      break;
    }
    std::string_view pending(inbuf_.data(), n);
    while (!pending.empty() && !closing_ && !broken_) {
      auto r = lines.feed(pending);
      pending.remove_prefix(r.consumed);
      if (r.status == line_status::need_more) break;
      if (const char* why = must_end(session_end)) {
        reason = why;
        break;
      }
      step s = sess.on_line(r.status, lines.line());
      cmd_deadline = steady::now() + std::chrono::seconds(L.command_timeout_s);
      if (s.action == action::start_tls && (!pending.empty() || lines.has_partial())) {
        // Bytes behind STARTTLS would be read as if they came through TLS (CVE-2011-0411 class):
        // refuse them, without the 220.
        s = sess.on_starttls_pipelined();
      }
      const std::size_t reply_mark = out_.size();
      action act = absorb(s);
      if (s.count_error && sess.errors() > sess.soft_error_limit() && act != action::close) {
        if (!co_await flush()) break;
        co_await sleep_ms(L.error_delay_ms);
      }
      switch (act) {
        case action::none:
        case action::spool:
        case action::close:
          break;
        case action::start_tls:
          if (!co_await flush()) break;
          lines.reset();
          if (!co_await handshake()) {
            reason = "tls_failed";
            closing_ = true;
            break;
          }
          sess.on_tls_established(tls_version_, tls_cipher_);
          cmd_deadline = steady::now() + std::chrono::seconds(L.command_timeout_s);
          break;
        case action::verify_auth: {
          if (!co_await flush()) break;
          auto a = co_await do_verify_auth(sess);
          absorb(a);
          break;
        }
        case action::begin_data:
          if (co_await take_message(sess, pending, reply_mark, reason))
            cmd_deadline = steady::now() + std::chrono::seconds(L.command_timeout_s);
          break;
      }
    }
    if (!co_await flush()) break;
    if (closing_) reason = reason == "client_closed" ? "server_closed" : reason;
  }
  co_return reason;
}

// After DATA was accepted: the 354, the content, then the cleanup step (smtp/cleanup.hpp) and the reply for what
// became of the message. `reply_mark` is where the replies of the DATA command begin in out_. True when the
// message was read to its end (commands follow), false when the session ends or DATA was refused.
asio::awaitable<bool> connection::take_message(session& sess, std::string_view& pending, std::size_t reply_mark,
                                               std::string& reason) {
  if (!pending.empty()) {
    // DATA must be the last command of a pipelined group (RFC 2920 3.1): content that arrives before our 354
    // is a synchronisation error (bad-input 5).
    out_.resize(reply_mark);  // earlier replies stand; the 354 is withdrawn
    auto v = sess.on_data_pipelined();
    absorb(v);
    co_return false;
  }
  if (!co_await flush()) co_return false;
  queue_id_ = common::new_queue_id();
  const client_facts client = facts();
  data_reader reader(sess.data_limits_for_message());
  // The content goes to a sink: the header section in memory, the body to queue/tmp/<id> in 64 KiB writes.
  // Memory per message in flight stays a small constant, whatever its size.
  queue::message_file mf(srv_.deps().spool->dir() / "tmp", queue_id_, cleanup::envelope_room(sess, client));
  inflight_charge charged{srv_.deps().inflight};
  received_content got;
  if (!co_await read_content(reader, mf, pending, charged, got)) {
    // Connection closed or timed out mid-DATA: nothing is queued (bad-input 47); the sink removes its file.
    if (timed_out_) {
      auto t = sess.on_timeout(true);
      absorb(t);
      co_await flush();
      reason = "timeout";
    } else {
      log::info(
          log::name(ev::reject),
          base_fields({{"stage", "data"}, {"rule", log::rule_field(rule::incomplete_data)}, {"queue_id", queue_id_}}));
    }
    closing_ = true;
    co_return false;
  }
  auto e = sess.on_data_end(reader, reader.error() == data_error::none ? mf.size() : 0);
  absorb(e);
  if (e.action == action::spool) {
    cleanup c(srv_.deps(), client, sock_.get_executor());
    auto o = co_await c.process(sess, mf, got);
    auto q = sess.on_cleanup(o);
    absorb(q);
    if (o.close) closing_ = true;
  }
  queue_id_.clear();
  co_return true;
}

// Moves the content from the socket through the DATA reader into the sink, under the DATA deadlines. False when
// the connection closed or timed out before the end of data.
asio::awaitable<bool> connection::read_content(data_reader& reader, queue::message_file& mf, std::string_view& pending,
                                               inflight_charge& charged, received_content& got) {
  const auto& L = cfg_.limits;
  std::string chunk;  // what one feed() stored: at most one input buffer
  chunk.reserve(inbuf_.size());
  auto data_start = steady::now();
  auto hard_end = data_start + std::chrono::seconds(L.data_timeout_s);
  auto deadline = data_start + std::chrono::seconds(L.command_timeout_s);
  for (;;) {
    if (pending.empty()) {
      std::size_t m = co_await read_some(std::min(deadline, hard_end));
      if (m == 0) co_return false;
      pending = std::string_view(inbuf_.data(), m);
      // Each chunk buys bytes/min_rate more time, never more than one command timeout ahead.
      auto now = steady::now();
      auto bonus = std::chrono::microseconds(static_cast<long long>(m) * 1000000LL /
                                             static_cast<long long>(std::max<std::size_t>(1, L.min_data_rate)));
      deadline = std::min(deadline + bonus, now + std::chrono::seconds(L.command_timeout_s));
    }
    auto fr = reader.feed(pending, chunk);
    pending.remove_prefix(fr.consumed);
    if (!chunk.empty() && !got.over_budget && !got.sink_error) {
      if (charged.budget && !charged.budget->try_take(chunk.size())) {
        got.over_budget = true;  // nothing more is kept; 452 4.3.1 at the end of data
      } else {
        if (charged.budget) charged.taken += chunk.size();
        got.sink_error = mf.append(chunk);
      }
    }
    chunk.clear();
    if (fr.status == data_status::done) co_return true;
  }
}

asio::awaitable<void> connection::finish(const session& sess, steady::time_point start, std::string reason) {
  if (closing_ && reason == "client_closed") reason = "server_closed";
  if (tls_ && !broken_) {
    // Best-effort close_notify, bounded.
    timer_.expires_after(std::chrono::seconds(2));
    co_await (tls_->async_shutdown(k_tuple) || timer_.async_wait(k_tuple));
  }
  boost::system::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
  log::info(log::name(ev::disconnect),
            base_fields({{"reason", reason}, {"duration_ms", ms}, {"errors", sess.errors()}}));
}

}  // namespace

void spawn_connection(server& srv, tcp::socket sock, listener_kind kind) {
  auto ex = sock.get_executor();
  auto conn = std::make_shared<connection>(srv, std::move(sock), kind);
  asio::co_spawn(ex, conn->run(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex2) {
      log::error(log::name(ev::connection_error), {{"error", ex2.what()}});
    }
  });
}

}  // namespace mailfort::smtp
