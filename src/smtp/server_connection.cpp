// smtp/server_connection.cpp: one coroutine per SMTP connection: read bytes, feed the pure parsers and the
// session, carry out the session's action, write replies. No policy decisions are made here.
// SPDX-License-Identifier: MIT
//
// SECURITY: deadlines. A command line must arrive within command_timeout_s of the previous reply; the
// deadline is NOT extended by each byte (slowloris, bad-input 44). In DATA each chunk extends the
// deadline by bytes/min_data_rate, never beyond command_timeout_s from now, and the whole DATA phase is
// capped at data_timeout_s (Postfix's smtpd_min_data_rate model). Writes have a deadline too, so a
// client that never reads cannot pin a coroutine.
#include "common/ascii.hpp"
#include "common/ids.hpp"
#include "filter/attachments.hpp"
#include "filter/milter_client.hpp"
#include "log/logger.hpp"
#include "policy/guard.hpp"
#include "queue/message_file.hpp"
#include "queue/spool.hpp"
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

// Runs on the CPU pool: argon2id takes tens of milliseconds. The canonical user name on success.
asio::awaitable<std::optional<std::string>> verify_password(sasl::user_db* users, std::string user,
                                                            std::string password) {
  try {
    co_return users->authenticate(user, password);
  } catch (const std::exception&) {
    co_return std::nullopt;
  }
}

// Runs on the CPU pool: the attachment policy's MIME walk over the header section and the body file.
asio::awaitable<filter::attachment_report> walk_attachments(std::vector<std::string> extensions,
                                                            const std::string* head, const queue::message_file* mf) {
  filter::mime_walker w(std::move(extensions));
  w.feed(*head);
  if (mf->read_body([&w](std::string_view chunk) { w.feed(chunk); })) {
    filter::attachment_report r;
    r.truncated = true;  // the spool will fail on the same file; nothing to refuse here
    co_return r;
  }
  co_return w.finish();
}

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
      log::warning("tls_error", base_fields({{"reason", err}}));
      broken_ = true;
      co_return false;
    }
    SSL* s = tls_->native_handle();
    tls_version_ = SSL_get_version(s);
    tls_cipher_ = SSL_get_cipher_name(s);
    log::info("tls", base_fields({{"version", tls_version_}, {"cipher", tls_cipher_}}));
    co_return true;
  }

  nlohmann::json base_fields(nlohmann::json extra = nlohmann::json::object()) const {
    extra["session"] = sid_;
    extra["client"] = client_;
    extra["client_ip"] = client_ip_;
    extra["listener"] = listener_name(kind_);
    return extra;
  }

  // Which rejections count towards a ban, and how (policy/ban_score.hpp has the weights).
  static std::optional<policy::offence> offence_of(const log_event& e) {
    if (e.name == "auth") {
      if (e.fields.value("result", "") == "failure") return policy::offence::auth_failure;
      return std::nullopt;
    }
    if (e.name != "reject") return std::nullopt;
    std::string rule = e.fields.value("rule", "");
    // A single bare LF or a command pipelined behind STARTTLS is what broken clients do too: scored below the
    // threshold, so one slip does not ban a whole office NAT (repeats still do).
    // A bare LF around a dot line (a fake end of data) is smuggling.
    if (rule == "bare_lf")
      return e.fields.value("fake_end", false) ? policy::offence::smuggling : policy::offence::protocol_slip;
    if (rule == "starttls_pipelining") return policy::offence::protocol_slip;
    if (rule == "bare_cr" || rule == "nul" || rule == "pipelining_violation") return policy::offence::smuggling;
    if (rule == "unknown_user") return policy::offence::unknown_recipient;
    if (rule == "non_smtp_command" || rule == "xclient_denied") return policy::offence::non_smtp;
    if (rule == "too_many_errors" || rule == "too_many_unknown_recipients") return policy::offence::protocol_errors;
    if (rule == "auth_per_minute_per_ip") return policy::offence::rate_limited;
    return std::nullopt;
  }

  // Count an offence; when it bans the source, say so and close after the pending replies.
  void score(policy::offence o) {
    auto* g = srv_.deps().guard;
    if (!g || banned_now_) return;
    if (auto ban = g->record(addr_, o)) {
      banned_now_ = true;
      log::warning("ban", base_fields({{"source", ban->source},
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
      if (!queue_id_.empty() && (e.name == "reject" || e.name == "queued")) fields["queue_id"] = queue_id_;
      if (e.name == "reject" || (e.name == "auth" && fields.value("result", "") == "failure"))
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

  // Bytes the queue file's envelope needs besides the header section (message_file leaves room for them in
  // front of the body): every envelope value is known at DATA but the TLS and folder names.
  std::size_t envelope_room(const session& sess) const {
    const auto& tx = sess.current_transaction();
    std::size_t n = 1024 + tx.sender.size() + sess.helo().size() + sess.auth_user().size() + sid_.size() +
                    client_ip_.size() + tls_version_.size() + tls_cipher_.size();
    for (const auto& r : tx.recipients) n += r.size() + 16;
    return n;
  }

  // Before each command: a ban made since this session began (by another session, node or `mailfort ban add`)
  // ends it; a session past limits.session_lifetime_s ends too. Returns why it must close, or nullptr.
  const char* must_end(steady::time_point session_end) {
    if (auto* g = srv_.deps().guard; g && !banned_now_) {
      auto gen = g->generation();
      if (gen != ban_gen_seen_) {
        ban_gen_seen_ = gen;
        if (g->banned(addr_)) {
          log::warning("reject", base_fields({{"stage", "command"}, {"code", 421}, {"rule", "banned"}}));
          out_ += "421 4.7.0 " + cfg_.hostname + " Your address is banned for abuse; closing\r\n";
          closing_ = true;
          return "banned";
        }
      }
    }
    if (steady::now() >= session_end) {
      log::warning("reject", base_fields({{"stage", "command"}, {"code", 421}, {"rule", "session_lifetime"}}));
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

  // Makes the message durable: the envelope and the head part (our Received:, then `content.head`) are written
  // in front of the body already on disk under queue/tmp/ (or, for a small message, the whole file is written
  // by the commit thread as before); the commit thread fsyncs, renames into active/ and fsyncs the directory.
  asio::awaitable<std::pair<int, std::string>> do_spool(session& sess, queue::message_file& mf,
                                                        smtp::message_content& content, std::string folder,
                                                        const std::string& sender,
                                                        const std::vector<std::string>& recipients) {
    const auto& tx = sess.current_transaction();
    if (cfg_.queue.discard) {  // the benchmark's null backend: `config check` reports it as critical
      auto f = base_fields({{"queue_id", queue_id_},
                            {"size", content.head.size() + content.body_size},
                            {"from", tx.sender},
                            {"rcpts", tx.recipients.size()}});
      log::warning("discarded", std::move(f));
      co_return std::pair<int, std::string>{0, queue_id_};
    }
    queue::envelope env;
    env.id = queue_id_;
    env.sender = sender;
    for (const auto& r : recipients) env.recipients.push_back(queue::recipient{r, {}, {}});
    env.received_at =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    env.session_id = sid_;
    env.client_ip = client_ip_;
    env.client_port = client_port_;
    env.helo = sess.helo();
    env.listener = listener_name(kind_);
    env.auth_user = sess.auth_user();
    if (sess.tls_active()) env.tls = tls_version_ + " " + tls_cipher_;
    env.body_type = tx.eight_bit_mime ? "8BITMIME" : "7BIT";
    env.smtputf8 = tx.smtputf8;
    env.folder = std::move(folder);
    std::string head = sess.received_header(queue_id_, env.received_at);
    head += content.head;
    content.head.clear();
    content.head.shrink_to_fit();
    const std::uint64_t size = head.size() + content.body_size;
    auto* sp = srv_.deps().spool;
    auto ex = sock_.get_executor();
    // Wait for the commit thread: it completes `done` on its own thread, which posts back to this
    // connection's executor and wakes the coroutine by cancelling a timer (no shared state raced).
    struct waiter {
      explicit waiter(asio::any_io_executor e) : timer(std::move(e), steady::time_point::max()) {}
      asio::steady_timer timer;
      std::error_code ec;
      std::string id;
      bool done = false;
    };
    auto w = std::make_shared<waiter>(ex);
    auto done = [w](std::error_code e, const std::string& qid) {
      asio::post(w->timer.get_executor(), [w, e, qid] {
        w->ec = e;
        w->id = qid;
        w->done = true;
        w->timer.cancel();
      });
    };
    if (mf.on_disk()) {
      // The body is in tmp/<id> already: write the envelope and head in front of it, then commit.
      if (auto ec = mf.write_queue_file(env, head)) {
        done(ec, queue_id_);
      } else {
        mf.release();  // the spool owns the file now (renamed into active/, or removed on failure)
        sp->commit_async(queue_id_, done);
      }
    } else {
      head += mf.body_in_memory();
      sp->store_async(std::move(env), std::move(head), done);
    }
    while (!w->done) co_await w->timer.async_wait(k_tuple);
    std::error_code ec = w->ec;
    std::string id = w->id;
    if (!ec) {
      auto f = base_fields({{"queue_id", id}, {"size", size}, {"from", sender}, {"rcpts", recipients.size()}});
      if (!sess.auth_user().empty()) f["user"] = sess.auth_user();
      log::info("queued", std::move(f));
      if (srv_.deps().on_queued) srv_.deps().on_queued();
    } else {
      log::error("spool_error", base_fields({{"queue_id", queue_id_}, {"error", ec.message()}}));
    }
    co_return std::pair<int, std::string>{ec ? ec.value() : 0, id};
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
};

asio::awaitable<void> connection::run() {
  auto self = shared_from_this();
  auto start = steady::now();
  boost::system::error_code ec;
  auto remote = sock_.remote_endpoint(ec);
  if (ec) co_return;
  auto addr = remote.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  client_ip_ = addr.to_string();
  client_port_ = remote.port();
  if (auto local = sock_.local_endpoint(ec); !ec) local_ip_ = local.address().to_string();
  client_ = (addr.is_v6() ? "[" + client_ip_ + "]" : client_ip_) + ":" + std::to_string(client_port_);
  sock_.set_option(tcp::no_delay(true), ec);

  addr_ = addr;
  // Bans and connection rate, before any TLS work: a banned source costs one accept and one write.
  if (auto* g = srv_.deps().guard) {
    ban_gen_seen_ = g->generation();  // bans made after this point end the session at its next command
    auto v = g->on_connect(addr);
    if (!v.allowed) {
      log::warning("reject", base_fields({{"stage", "connect"}, {"code", 421}, {"rule", v.rule}, {"until", v.until}}));
      if (kind_ != listener_kind::submissions) {
        out_ = v.rule == "banned" ? "421 4.7.0 " + cfg_.hostname + " Your address is banned for abuse; try later\r\n"
                                  : "421 4.7.0 " + cfg_.hostname + " Too many connections from you; slow down\r\n";
        timer_.expires_after(std::chrono::seconds(5));
        co_await (asio::async_write(sock_, asio::buffer(out_), k_tuple) || timer_.async_wait(k_tuple));
      }
      sock_.close(ec);
      co_return;
    }
  }
  // Connection caps, before any TLS work (bad-input 45), keyed on the ban source prefix (an IPv6 /64).
  std::string cap_key = client_ip_;
  bool cap_exempt = false;
  if (auto* g = srv_.deps().guard) {
    cap_key = g->source_of(addr);
    cap_exempt = cfg_.ratelimit.exempt_trusted && g->rate_exempt(addr);
  }
  auto verdict = srv_.tracker().acquire(cap_key, kind_, cap_exempt);
  if (verdict != connection_tracker::verdict::ok) {
    const char* rule = verdict == connection_tracker::verdict::too_many_per_ip ? "too_many_connections_per_ip"
                                                                               : "too_many_connections";
    log::warning("reject", base_fields({{"stage", "connect"}, {"code", 421}, {"rule", rule}}));
    if (kind_ != listener_kind::submissions) {
      out_ = "421 4.7.0 " + cfg_.hostname + " Too many connections, try again later\r\n";
      timer_.expires_after(std::chrono::seconds(5));
      co_await (asio::async_write(sock_, asio::buffer(out_), k_tuple) || timer_.async_wait(k_tuple));
    }
    sock_.close(ec);
    co_return;
  }
  struct release_guard {
    connection_tracker& t;
    std::string key;
    listener_kind kind;
    bool exempt;
    ~release_guard() { t.release(key, kind, exempt); }
  } guard{srv_.tracker(), cap_key, kind_, cap_exempt};
  const auto session_end = start + std::chrono::seconds(cfg_.limits.session_lifetime_s);

  log::info("connect", base_fields());

  session_config scfg;
  scfg.hostname = cfg_.hostname;
  scfg.kind = kind_;
  scfg.tls_available = srv_.deps().tls != nullptr;
  scfg.primary_domain = cfg_.domains.empty() ? cfg_.hostname : cfg_.domains.front();
  scfg.allow_null_sender = cfg_.relay.allow_null_sender;
  for (const auto& n : srv_.deps().trusted_networks)
    if (n.contains(addr)) scfg.trusted_client = true;
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
  session sess(scfg, *srv_.deps().env, client_ip_, client_port_);
  line_reader lines(session::max_reader_line);
  std::string reason = "client_closed";

  if (kind_ == listener_kind::submissions) {
    if (!co_await handshake()) {
      reason = "tls_failed";
      goto done;
    }
    sess.on_tls_established(tls_version_, tls_cipher_);
  }
  if (kind_ == listener_kind::mx && cfg_.greeting.delay_ms > 0 && srv_.deps().guard &&
      !srv_.deps().guard->exempt(addr) && !srv_.deps().guard->greeting_passed(addr)) {
    // postscreen-style pause: a real MTA waits for the banner (RFC 5321 3.1); spam tools that talk
    // first reveal themselves.
    timer_.expires_after(std::chrono::milliseconds(cfg_.greeting.delay_ms));
    auto r = co_await (sock_.async_wait(tcp::socket::wait_read, k_tuple) || timer_.async_wait(k_tuple));
    if (r.index() == 0) {
      char c;
      std::size_t peeked = sock_.receive(asio::buffer(&c, 1), tcp::socket::message_peek, ec);
      if (ec || peeked == 0) {
        reason = "client_closed";
        goto done;
      }
      log::warning("reject", base_fields({{"stage", "greeting"}, {"code", 554}, {"rule", "early_talker"}}));
      out_ = "554 5.5.0 " + cfg_.hostname + " Protocol error: talking before the greeting\r\n";
      score(policy::offence::early_talker);
      co_await flush();
      reason = "early_talker";
      goto done;
    }
    srv_.deps().guard->mark_greeting_passed(addr);
  }
  {
    auto g = sess.greeting();
    absorb(g);
    if (!co_await flush()) goto done;
  }

  {
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
            break;
          case action::close:
            break;
          case action::start_tls: {
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
          }
          case action::verify_auth: {
            if (!co_await flush()) break;
            auto a = co_await do_verify_auth(sess);
            absorb(a);
            break;
          }
          case action::begin_data: {
            if (!pending.empty()) {
              // DATA must be the last command of a pipelined group (RFC 2920 3.1): content that
              // arrives before our 354 is a synchronisation error (bad-input 5).
              out_.resize(reply_mark);  // earlier replies stand; the 354 is withdrawn
              auto v = sess.on_data_pipelined();
              absorb(v);
              break;
            }
            if (!co_await flush()) break;
            queue_id_ = common::new_queue_id();
            data_reader reader(sess.data_limits_for_message());
            // The content goes to a sink: the header section in memory, the body to queue/tmp/<id> in 64 KiB
            // writes. Memory per message in flight stays a small constant, whatever its size.
            queue::message_file mf(srv_.deps().spool->dir() / "tmp", queue_id_, envelope_room(sess));
            std::string chunk;  // what one feed() stored: at most one input buffer
            chunk.reserve(inbuf_.size());
            // Bytes in flight, charged as they arrive against limits.inflight_bytes, given back at the end.
            struct charge {
              common::byte_budget* budget;
              std::uint64_t taken = 0;
              ~charge() {
                if (budget) budget->give_back(taken);
              }
            } charged{srv_.deps().inflight};
            bool over_budget = false;
            std::error_code sink_error;
            auto data_start = steady::now();
            auto hard_end = data_start + std::chrono::seconds(L.data_timeout_s);
            auto deadline = data_start + std::chrono::seconds(L.command_timeout_s);
            bool finished = false;
            while (!finished) {
              if (pending.empty()) {
                auto d = std::min(deadline, hard_end);
                std::size_t m = co_await read_some(d);
                if (m == 0) break;
                pending = std::string_view(inbuf_.data(), m);
                // Each chunk buys bytes/min_rate more time, never more than one command timeout ahead.
                auto now = steady::now();
                auto bonus =
                    std::chrono::microseconds(static_cast<long long>(m) * 1000000LL /
                                              static_cast<long long>(std::max<std::size_t>(1, L.min_data_rate)));
                deadline = std::min(deadline + bonus, now + std::chrono::seconds(L.command_timeout_s));
              }
              auto fr = reader.feed(pending, chunk);
              pending.remove_prefix(fr.consumed);
              if (!chunk.empty() && !over_budget && !sink_error) {
                if (charged.budget && !charged.budget->try_take(chunk.size())) {
                  over_budget = true;  // nothing more is kept; 452 4.3.1 at the end of data
                } else {
                  if (charged.budget) charged.taken += chunk.size();
                  sink_error = mf.append(chunk);
                }
              }
              chunk.clear();
              if (fr.status == data_status::done) finished = true;
            }
            if (!finished) {
              // Connection closed or timed out mid-DATA: nothing is queued (bad-input 47); the sink removes
              // its file.
              if (timed_out_) {
                auto t = sess.on_timeout(true);
                absorb(t);
                co_await flush();
                reason = "timeout";
              } else {
                log::info("reject",
                          base_fields({{"stage", "data"}, {"rule", "incomplete_data"}, {"queue_id", queue_id_}}));
              }
              closing_ = true;
              break;
            }
            auto e = sess.on_data_end(reader, reader.error() == data_error::none ? mf.size() : 0);
            if (e.action == action::spool) {
              absorb(e);
              if (!sink_error && !over_budget) sink_error = mf.finish();
              std::string folder;
              std::optional<step> refused;
              smtp::message_content content;
              content.head = std::move(mf.head());
              content.body_size = mf.body_size();
              content.read_body = [&mf](const std::function<void(std::string_view)>& fn) { return mf.read_body(fn); };
              if (over_budget) {
                refused = sess.on_policy_reject(452, "4.3.1", "Insufficient system storage; try again later",
                                                "inflight_budget");
              } else if (sink_error) {
                log::error("spool_error", base_fields({{"queue_id", queue_id_}, {"error", sink_error.message()}}));
                auto q = sess.on_spooled(sink_error.value(), {});
                refused = std::move(q);
              }
              // The built-in attachment policy (filter/attachments.hpp), on the CPU pool: it reads the whole body.
              if (!refused && cfg_.filter.attachment_policy) {
                auto rep = co_await asio::co_spawn(*srv_.deps().cpu_pool,
                                                   walk_attachments(cfg_.filter.blocked_extensions, &content.head, &mf),
                                                   asio::use_awaitable);
                for (const auto& a : rep.archives)
                  log::info("attachment_archive", base_fields({{"queue_id", queue_id_},
                                                               {"filename", common::printable(a.name, 256)},
                                                               {"type", a.content_type}}));
                if (rep.blocked) {
                  log::warning("attachment_refused",
                               base_fields({{"queue_id", queue_id_},
                                            {"filename", common::printable(rep.blocked->name, 256)},
                                            {"extension", common::printable(rep.blocked->extension, 32)},
                                            {"type", rep.blocked->content_type},
                                            {"why", rep.blocked->why}}));
                  refused = sess.on_policy_reject(550, "5.7.1",
                                                  "Message refused: an attachment is of a type we do not accept "
                                                  "(executable, script or macro document)",
                                                  "attachment_policy");
                }
              }
              // Milters ([[filter.milter]]), before the checks: they see the message as received, and the
              // checks (DKIM verification and signing) see it as the milters left it.
              const auto& tx = sess.current_transaction();
              std::string env_sender = tx.sender;
              std::vector<std::string> env_rcpts = tx.recipients;
              bool discarded = false;
              bool shutdown = false;
              std::string quarantined;
              if (!refused && filter::any_for(cfg_, listener_name(kind_))) {
                filter::transaction_info ti;
                ti.hostname = cfg_.hostname;
                ti.listener = listener_name(kind_);
                ti.daemon_addr = local_ip_;
                ti.client_ip = client_ip_;
                ti.client_port = client_port_;
                ti.helo = sess.helo();
                if (sess.tls_active()) {
                  ti.tls_version = tls_version_;
                  ti.tls_cipher = tls_cipher_;
                }
                ti.auth_user = sess.auth_user();
                ti.queue_id = queue_id_;
                ti.session_id = sid_;
                ti.local_domains = &cfg_.domains;
                ti.tmp_dir = srv_.deps().spool->dir() / "tmp";
                auto o = co_await filter::run_milters(sock_.get_executor(), cfg_, ti, content.head, mf, tx.sender,
                                                      tx.recipients);
                using fv = filter::outcome::verdict;
                if (o.action == fv::reject || o.action == fv::tempfail || o.action == fv::shutdown) {
                  std::string text;
                  for (const auto& l : o.reply.lines) text += (text.empty() ? "" : " ") + l;
                  refused = sess.on_policy_reject(o.reply.code, o.reply.enhanced, text, o.rule);
                  shutdown = o.action == fv::shutdown;
                } else if (o.action == fv::discard) {
                  discarded = true;
                } else {
                  if (o.new_body) {
                    if (auto ec = mf.adopt_body(*o.new_body)) {
                      log::error("spool_error", base_fields({{"queue_id", queue_id_}, {"error", ec.message()}}));
                      refused = sess.on_spooled(ec.value(), {});
                    }
                    content.body_size = mf.body_size();
                  }
                  if (o.envelope_changed) {
                    env_sender = std::move(o.sender);
                    env_rcpts = std::move(o.recipients);
                    if (env_rcpts.empty()) discarded = true;  // every recipient removed: nothing to deliver
                  }
                  if (!o.quarantine.empty() && srv_.deps().hold_message) {
                    quarantined = o.quarantine;  // held in the queue once spooled (before the runner sees it)
                  } else if (!o.quarantine.empty() || o.spam) {
                    folder = "Junk";
                  }
                }
              }
              if (refused || discarded) {
                // nothing more to check
              } else if (auto* checker = srv_.deps().inbound) {
                inbound_message im{client_ip_, sess.helo(), env_sender,       &env_rcpts,
                                   queue_id_,  sid_,        sess.auth_user(), scfg.trusted_client};
                if (!sess.auth_user().empty()) {
                  // Submission: header From: must be the user's own (550 5.7.1), then DKIM-signed.
                  inbound_verdict v = co_await checker->submit(sock_.get_executor(), im, content);
                  if (v.action == inbound_verdict::kind::reject)
                    refused = sess.on_policy_reject(v.code, v.enhanced, v.text, v.rule);
                } else if (kind_ == listener_kind::mx) {
                  if (im.trusted) co_await checker->submit(sock_.get_executor(), im, content);  // trusted: signed
                  inbound_verdict v = co_await checker->check(sock_.get_executor(), im, content);
                  if (v.action == inbound_verdict::kind::reject || v.action == inbound_verdict::kind::tempfail)
                    refused = sess.on_policy_reject(v.code, v.enhanced, v.text, v.rule);
                  else if (v.action == inbound_verdict::kind::quarantine)
                    folder = v.folder;
                }
              }
              if (refused) {
                absorb(*refused);
                if (shutdown) closing_ = true;
              } else if (discarded) {
                // A milter discarded it: the client is told it was accepted (as Postfix does), nothing is queued.
                auto q = sess.on_spooled(0, queue_id_);
                absorb(q);
              } else {
                if (!quarantined.empty()) {
                  // Held before the file reaches active/: the runner never sees it unheld.
                  srv_.deps().hold_message(queue_id_, quarantined);
                  log::warning("quarantined", base_fields({{"queue_id", queue_id_}, {"reason", quarantined}}));
                }
                auto [err, id] = co_await do_spool(sess, mf, content, folder, env_sender, env_rcpts);
                auto q = sess.on_spooled(err, id);
                absorb(q);
              }
            } else {
              absorb(e);
            }
            queue_id_.clear();
            cmd_deadline = steady::now() + std::chrono::seconds(L.command_timeout_s);
            break;
          }
        }
      }
      if (!co_await flush()) break;
      if (closing_) reason = reason == "client_closed" ? "server_closed" : reason;
    }
  }

done:
  if (closing_ && reason == "client_closed") reason = "server_closed";
  if (tls_ && !broken_) {
    // Best-effort close_notify, bounded.
    timer_.expires_after(std::chrono::seconds(2));
    co_await (tls_->async_shutdown(k_tuple) || timer_.async_wait(k_tuple));
  }
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
  log::info("disconnect", base_fields({{"reason", reason}, {"duration_ms", ms}, {"errors", sess.errors()}}));
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
      log::error("connection_error", {{"error", ex2.what()}});
    }
  });
}

}  // namespace mailfort::smtp
