// filter/milter_client.cpp: the milter v6 conversation at end of DATA (see milter_client.hpp).
// SPDX-License-Identifier: MIT
#include "filter/milter_client.hpp"

#include "common/ascii.hpp"
#include "log/logger.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive for a
// class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13), as in src/auth/.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::filter {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;
namespace m = milter;

namespace {

constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t k_max_packet = 1024 * 1024 + 16;  // a body chunk is <= 64 KiB; headers far less
constexpr std::size_t k_max_added_rcpts = 1000;

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lx = static_cast<char>((x >= 'A' && x <= 'Z') ? x + 32 : x);
           auto ly = static_cast<char>((y >= 'A' && y <= 'Z') ? y + 32 : y);
           return lx == ly;
         });
}

std::string domain_of(std::string_view a) {
  auto at = a.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(a.substr(at + 1));
}

// Postfix's default macro lists (milter_*_macros), by stage.
const std::array<std::vector<std::string>, m::k_stages>& default_macros() {
  static const std::array<std::vector<std::string>, m::k_stages> d = {{
      {"j", "{daemon_name}", "{daemon_addr}", "v", "_", "{client_addr}", "{client_port}"},  // connect
      {"{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"},    // helo
      {"i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}", "{mail_mailer}"},
      {"i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"},  // rcpt
      {"i"},                                                 // data
      {"i"},                                                 // eom
      {"i"},                                                 // eoh
  }};
  return d;
}

// The failure of one milter: why, at which step.
struct failure {
  std::string reason;
  std::string stage;
};

// One milter's verdict on the message, and what it asked to change.
struct milter_result {
  enum class kind : std::uint8_t { accept, cont, reject, tempfail, discard, shutdown, failed } action = kind::cont;
  smtp::reply reply;
  failure fail;
  std::vector<m::header_edit> edits;
  bool leadspc = false;
  std::optional<std::string> new_sender;
  std::vector<std::string> add_rcpts;
  std::vector<std::string> del_rcpts;
  std::string quarantine;
  std::unique_ptr<queue::message_file> new_body;
  std::uint64_t new_body_size = 0;
  bool body_pending_cr = false;
  std::string body_buf;
  std::vector<std::string> mods;  // names of the modifications, for the log
};

class conversation {
 public:
  conversation(asio::any_io_executor ex, const config::milter& mc, const config::config& cfg,
               const transaction_info& info)
      : ex_(std::move(ex)), mc_(mc), cfg_(cfg), info_(info), sock_(ex_), timer_(ex_), reader_(k_max_packet) {}

  asio::awaitable<milter_result> run(std::string& head, const queue::message_file& body, const std::string& sender,
                                     const std::vector<std::string>& recipients);

  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
  }

 private:
  // ---- I/O with deadlines --------------------------------------------------------------------------------
  asio::awaitable<bool> connect() {
    auto addr = m::parse_address(mc_.address);
    if (!addr) co_return fail("bad address", "connect");
    timer_.expires_after(std::chrono::seconds(mc_.connect_timeout_s));
    if (addr->unix_socket) {
      asio::generic::stream_protocol::endpoint ep{asio::local::stream_protocol::endpoint(addr->path)};
      auto r = co_await (sock_.async_connect(ep, k_tuple) || timer_.async_wait(k_tuple));
      if (r.index() == 1) co_return fail("connect timeout", "connect");
      if (auto [ec] = std::get<0>(r); ec) co_return fail("connect: " + ec.message(), "connect");
      co_return true;
    }
    asio::ip::tcp::resolver res(ex_);
    auto rr =
        co_await (res.async_resolve(addr->host, std::to_string(addr->port), k_tuple) || timer_.async_wait(k_tuple));
    if (rr.index() == 1) co_return fail("resolve timeout", "connect");
    auto [rec, results] = std::get<0>(rr);
    if (rec || results.empty()) co_return fail("resolve: " + rec.message(), "connect");
    std::string last = "no address";
    for (const auto& entry : results) {
      asio::generic::stream_protocol::endpoint ep{entry.endpoint()};
      boost::system::error_code ignored;
      sock_.close(ignored);
      auto r = co_await (sock_.async_connect(ep, k_tuple) || timer_.async_wait(k_tuple));
      if (r.index() == 1) co_return fail("connect timeout", "connect");
      if (auto [ec] = std::get<0>(r); !ec) {
        // Many small packets go out without waiting for a reply (rspamd's NR_* steps): without TCP_NODELAY,
        // Nagle holds each behind the peer's delayed ACK.
        int one = 1;
        ::setsockopt(sock_.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        co_return true;
      } else {
        last = ec.message();
      }
    }
    co_return fail("connect: " + last, "connect");
  }

  asio::awaitable<bool> send(const std::string& bytes, int timeout_s) {
    timer_.expires_after(std::chrono::seconds(timeout_s));
    auto r = co_await (asio::async_write(sock_, asio::buffer(bytes), k_tuple) || timer_.async_wait(k_tuple));
    if (r.index() == 1) co_return fail("write timeout", stage_);
    if (auto [ec, n] = std::get<0>(r); ec) co_return fail("write: " + ec.message(), stage_);
    co_return true;
  }

  // The next reply (progress replies extend the deadline and are skipped here). nullopt: failed (fail_ set).
  asio::awaitable<std::optional<m::reply>> receive(int timeout_s) {
    auto deadline = steady::now() + std::chrono::seconds(timeout_s);
    while (true) {
      m::packet p;
      auto st = reader_.next(p);
      if (st == m::packet_reader::status::error) {
        fail("garbage: bad packet length", stage_);
        co_return std::nullopt;
      }
      if (st == m::packet_reader::status::packet) {
        auto pr = m::parse_reply(p);
        if (!pr.value) {
          fail(std::string("garbage: ") + pr.why + " ('" + printable_command(p.command) + "')", stage_);
          co_return std::nullopt;
        }
        if (pr.value->kind == m::reply_kind::progress) {
          deadline = steady::now() + std::chrono::seconds(timeout_s);
          continue;
        }
        co_return std::move(*pr.value);
      }
      timer_.expires_at(deadline);
      auto r = co_await (sock_.async_read_some(asio::buffer(inbuf_), k_tuple) || timer_.async_wait(k_tuple));
      if (r.index() == 1) {
        fail("timeout", stage_);
        co_return std::nullopt;
      }
      auto [ec, n] = std::get<0>(r);
      if (ec || n == 0) {
        fail(ec == asio::error::eof ? "closed" : "read: " + ec.message(), stage_);
        co_return std::nullopt;
      }
      reader_.feed(std::string_view(inbuf_.data(), n));
    }
  }

  static std::string printable_command(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u < 0x7F) return std::string(1, c);
    static const char* hex = "0123456789abcdef";
    return std::string("\\x") + hex[u >> 4] + hex[u & 15];
  }

  bool fail(std::string reason, std::string stage) {
    if (fail_.reason.empty()) fail_ = failure{std::move(reason), std::move(stage)};
    return false;
  }

  // ---- macros -----------------------------------------------------------------------------------------------
  std::string macro_value(const std::string& name, std::string_view sender, std::string_view rcpt) const {
    if (name == "j") return std::string(info_.hostname);
    if (name == "{daemon_name}") return "mailfort";
    if (name == "{daemon_addr}") return std::string(info_.daemon_addr);
    if (name == "v") return "mailfort";
    if (name == "_") return "[" + std::string(info_.client_ip) + "] [" + std::string(info_.client_ip) + "]";
    if (name == "{client_addr}") return std::string(info_.client_ip);
    if (name == "{client_port}") return std::to_string(info_.client_port);
    if (name == "{client_name}") return "[" + std::string(info_.client_ip) + "]";
    if (name == "{tls_version}") return std::string(info_.tls_version);
    if (name == "{cipher}") return std::string(info_.tls_cipher);
    if (name == "i" || name == "{i}") return std::string(info_.queue_id);
    if (name == "{auth_type}") return info_.auth_user.empty() ? std::string() : std::string(info_.auth_mechanism);
    if (name == "{auth_authen}") return std::string(info_.auth_user);
    if (name == "{mail_addr}") return std::string(sender);
    if (name == "{mail_host}") return domain_of(sender);
    if (name == "{mail_mailer}") return "smtp";
    if (name == "{rcpt_addr}") return std::string(rcpt);
    if (name == "{rcpt_host}") return domain_of(rcpt);
    if (name == "{rcpt_mailer}") {
      const std::string d = domain_of(rcpt);
      if (info_.local_domains)
        for (const auto& l : *info_.local_domains)
          if (iequal(l, d)) return "local";
      return "smtp";
    }
    return {};
  }

  asio::awaitable<bool> send_macros(m::stage st, std::string_view sender, std::string_view rcpt) {
    const auto idx = static_cast<std::size_t>(st);
    const auto& names = asked_[idx] ? *asked_[idx] : default_macros()[idx];
    m::macro_list list;
    for (const auto& n : names) {
      auto v = macro_value(n, sender, rcpt);
      if (!v.empty()) list.emplace_back(n, std::move(v));
    }
    if (list.empty()) co_return true;
    co_return co_await send(m::encode_macros(m::stage_command(st), list), mc_.command_timeout_s);
  }

  // Sends one event and, unless the milter said it will not reply (NR_*), awaits its reply. Returns nullopt when
  // the conversation must stop here: a final verdict (result_ set) or a failure (fail_ set).
  enum class step_result : std::uint8_t { go_on, stop };
  asio::awaitable<step_result> event(const std::string& bytes, std::uint32_t nr_flag, int timeout_s, bool in_body) {
    if (!co_await send(bytes, timeout_s)) co_return step_result::stop;
    if (nr_flag != 0 && (protocol_ & nr_flag) != 0) co_return step_result::go_on;
    auto r = co_await receive(timeout_s);
    if (!r) co_return step_result::stop;
    switch (r->kind) {
      case m::reply_kind::continue_:
        co_return step_result::go_on;
      case m::reply_kind::skip:
        if (in_body) skip_body_ = true;
        co_return step_result::go_on;
      default:
        break;
    }
    if (m::is_modification(r->kind) || r->kind == m::reply_kind::negotiate) {
      fail(std::string("garbage: ") + m::reply_name(r->kind) + " before end of message", stage_);
      co_return step_result::stop;
    }
    final_verdict(*r);
    co_return step_result::stop;
  }

  // A final reply (accept, reject, tempfail, replycode, discard, shutdown, connfail) into result_.
  void final_verdict(const m::reply& r) {
    using k = milter_result::kind;
    switch (r.kind) {
      case m::reply_kind::accept:
        result_.action = k::accept;
        break;
      case m::reply_kind::continue_:
        result_.action = k::cont;
        break;
      case m::reply_kind::reject:
        result_.action = k::reject;
        result_.reply = smtp::make_reply(550, "5.7.1", "Command rejected");
        break;
      case m::reply_kind::tempfail:
      case m::reply_kind::connfail:
        result_.action = k::tempfail;
        result_.reply = smtp::make_reply(451, "4.7.1", "Service unavailable - try again later");
        break;
      case m::reply_kind::reply_code: {
        auto custom = m::parse_custom_reply(r.text);
        if (!custom) {
          fail("garbage: malformed reply code", stage_);
          result_.action = k::failed;
          return;
        }
        result_.action = custom->code >= 500 ? k::reject : k::tempfail;
        result_.reply = std::move(*custom);
        break;
      }
      case m::reply_kind::discard:
        result_.action = k::discard;
        break;
      case m::reply_kind::shutdown:
        result_.action = k::shutdown;
        result_.reply = smtp::make_reply(421, "4.7.0", std::string(info_.hostname) + " Service unavailable - closing");
        break;
      default:
        fail(std::string("garbage: unexpected ") + m::reply_name(r.kind), stage_);
        result_.action = k::failed;
        break;
    }
  }

  // A modification at end of message; false (fail_ set) when it was not negotiated or cannot be applied.
  bool modification(m::reply& r) {
    auto need = [&](std::uint32_t a) {
      if ((actions_ & a) != 0) return true;
      return fail(std::string("garbage: ") + m::reply_name(r.kind) + " not negotiated", stage_);
    };
    result_.mods.emplace_back(m::reply_name(r.kind));
    switch (r.kind) {
      case m::reply_kind::add_header:
        if (!need(m::act::add_headers)) return false;
        result_.edits.push_back({m::header_edit::op::add, 0, std::move(r.name), std::move(r.value)});
        return true;
      case m::reply_kind::insert_header:
        if (!need(m::act::add_headers)) return false;
        result_.edits.push_back({m::header_edit::op::insert, r.index, std::move(r.name), std::move(r.value)});
        return true;
      case m::reply_kind::change_header:
        if (!need(m::act::change_headers)) return false;
        result_.edits.push_back({m::header_edit::op::change, r.index, std::move(r.name), std::move(r.value)});
        return true;
      case m::reply_kind::change_from:
        if (!need(m::act::change_from)) return false;
        result_.new_sender = std::move(r.address);
        return true;
      case m::reply_kind::add_rcpt:
      case m::reply_kind::add_rcpt_par:
        if (!need(r.kind == m::reply_kind::add_rcpt ? m::act::add_rcpt : m::act::add_rcpt_par)) return false;
        if (result_.add_rcpts.size() >= k_max_added_rcpts) return fail("too many added recipients", stage_);
        result_.add_rcpts.push_back(std::move(r.address));
        return true;
      case m::reply_kind::del_rcpt:
        if (!need(m::act::del_rcpt)) return false;
        result_.del_rcpts.push_back(std::move(r.address));
        return true;
      case m::reply_kind::quarantine:
        if (!need(m::act::quarantine)) return false;
        result_.quarantine = r.text.empty() ? "quarantined by milter" : r.text;
        return true;
      case m::reply_kind::replace_body: {
        if (!need(m::act::change_body)) return false;
        if (!result_.new_body) {
          result_.new_body = std::make_unique<queue::message_file>(
              tmp_dir_, std::string(info_.queue_id) + ".milter" + std::to_string(index_), 4096);
          // The placeholder head makes the file's room for the real head like the original's.
          if (auto ec = result_.new_body->append(head_placeholder_)) return fail("replbody: " + ec.message(), stage_);
        }
        result_.body_buf.clear();
        m::normalize_body_chunk(r.text, result_.body_buf, result_.body_pending_cr);
        result_.new_body_size += result_.body_buf.size();
        if (result_.new_body_size > cfg_.limits.message_size) return fail("replacement body too large", stage_);
        if (auto ec = result_.new_body->append(result_.body_buf)) return fail("replbody: " + ec.message(), stage_);
        return true;
      }
      default:
        return fail("garbage: unexpected reply", stage_);
    }
  }

 public:
  std::filesystem::path tmp_dir_;
  std::size_t index_ = 0;
  std::string head_placeholder_;
  failure fail_;

 private:
  asio::any_io_executor ex_;
  const config::milter& mc_;
  const config::config& cfg_;
  const transaction_info& info_;
  asio::generic::stream_protocol::socket sock_;
  asio::steady_timer timer_;
  m::packet_reader reader_;
  std::array<char, 16384> inbuf_{};
  std::string stage_ = "connect";
  std::uint32_t actions_ = 0, protocol_ = 0;
  std::array<std::optional<std::vector<std::string>>, m::k_stages> asked_;
  bool skip_body_ = false;
  milter_result result_;
};

asio::awaitable<milter_result> conversation::run(std::string& head, const queue::message_file& body,
                                                 const std::string& sender,
                                                 const std::vector<std::string>& recipients) {
  using k = milter_result::kind;
  auto failed = [this]() {
    milter_result r;
    r.action = k::failed;
    r.fail = fail_;
    return r;
  };
  const int cmd_t = mc_.command_timeout_s;
  const int content_t = mc_.content_timeout_s;
  if (!co_await connect()) co_return failed();

  // Negotiation: we offer everything; the milter's answer decides what it gets.
  stage_ = "negotiate";
  if (!co_await send(m::encode_optneg(m::k_version, m::act::all, m::proto::all), cmd_t)) co_return failed();
  auto neg = co_await receive(cmd_t);
  if (!neg) co_return failed();
  if (neg->kind != m::reply_kind::negotiate) {
    fail("garbage: no negotiation reply", stage_);
    co_return failed();
  }
  if (neg->version < 2 || neg->version > m::k_version) {
    fail("unsupported protocol version " + std::to_string(neg->version), stage_);
    co_return failed();
  }
  // Postfix refuses a milter that claims actions it was not offered; rspamd claims all whatever it is offered,
  // and we offer all, so unknown bits are just dropped.
  actions_ = neg->actions & m::act::all;
  protocol_ = neg->protocol & m::proto::all;
  asked_ = neg->macros;
  result_.leadspc = (protocol_ & m::proto::hdr_leadspc) != 0;

  std::string_view rcpt0 = recipients.empty() ? std::string_view{} : std::string_view(recipients.front());
  // CONNECT
  stage_ = "connect";
  if (!co_await send_macros(m::stage::connect, sender, rcpt0)) co_return failed();
  if (!(protocol_ & m::proto::no_connect)) {
    const char family = info_.client_ip.find(':') != std::string_view::npos ? '6' : '4';
    if (co_await event(
            m::encode_connect("[" + std::string(info_.client_ip) + "]", family, info_.client_port, info_.client_ip),
            m::proto::nr_connect, cmd_t, false) == step_result::stop)
      goto stopped;
  }
  // HELO
  stage_ = "helo";
  if (!co_await send_macros(m::stage::helo, sender, rcpt0)) co_return failed();
  if (!(protocol_ & m::proto::no_helo) && !info_.helo.empty()) {
    // (packets built before co_await: GCC 12 miscompiles an initializer list inside a co_await expression)
    const std::string pkt = m::encode_strings(m::cmd::helo, {info_.helo});
    if (co_await event(pkt, m::proto::nr_helo, cmd_t, false) == step_result::stop) goto stopped;
  }
  // MAIL
  stage_ = "mail";
  if (!co_await send_macros(m::stage::mail, sender, rcpt0)) co_return failed();
  if (!(protocol_ & m::proto::no_mail)) {
    const std::string path = "<" + sender + ">";
    const std::string pkt = m::encode_strings(m::cmd::mail, {path});
    if (co_await event(pkt, m::proto::nr_mail, cmd_t, false) == step_result::stop) goto stopped;
  }
  // RCPT, each
  stage_ = "rcpt";
  for (const auto& r : recipients) {
    if (!co_await send_macros(m::stage::rcpt, sender, r)) co_return failed();
    if (!(protocol_ & m::proto::no_rcpt)) {
      const std::string path = "<" + r + ">";
      const std::string pkt = m::encode_strings(m::cmd::rcpt, {path});
      if (co_await event(pkt, m::proto::nr_rcpt, cmd_t, false) == step_result::stop) goto stopped;
    }
  }
  // DATA
  stage_ = "data";
  if (!co_await send_macros(m::stage::data, sender, rcpt0)) co_return failed();
  if (!(protocol_ & m::proto::no_data)) {
    if (co_await event(m::encode('T', ""), m::proto::nr_data, cmd_t, false) == step_result::stop) goto stopped;
  }
  {
    // Headers, then end of headers.
    stage_ = "header";
    auto sh = m::split(head);
    if (!(protocol_ & m::proto::no_headers)) {
      for (const auto& f : sh.fields) {
        const std::string pkt =
            m::encode_strings(m::cmd::header, {f.name, m::value_for_milter(f.value, result_.leadspc)});
        if (co_await event(pkt, m::proto::nr_header, cmd_t, false) == step_result::stop) goto stopped;
      }
    }
    stage_ = "eoh";
    if (!co_await send_macros(m::stage::eoh, sender, rcpt0)) co_return failed();
    if (!(protocol_ & m::proto::no_eoh)) {
      if (co_await event(m::encode('N', ""), m::proto::nr_eoh, cmd_t, false) == step_result::stop) goto stopped;
    }
    // Body: what follows the header section in `head` (rare: a non-field line), then the file, in chunks.
    stage_ = "body";
    if (!(protocol_ & m::proto::no_body)) {
      std::string chunk;
      std::string_view lead = std::string_view(head).substr(sh.body_start);
      while (!lead.empty() && !skip_body_) {
        auto n = std::min(lead.size(), m::k_chunk);
        if (co_await event(m::encode(m::cmd::body, lead.substr(0, n)), m::proto::nr_body, content_t, true) ==
            step_result::stop)
          goto stopped;
        lead.remove_prefix(n);
      }
      std::uint64_t pos = 0;
      while (pos < body.body_size() && !skip_body_) {
        if (auto ec = body.read_body_at(pos, m::k_chunk, chunk)) {
          fail("reading the message: " + ec.message(), stage_);
          co_return failed();
        }
        if (chunk.empty()) break;
        pos += chunk.size();
        if (co_await event(m::encode(m::cmd::body, chunk), m::proto::nr_body, content_t, true) == step_result::stop)
          goto stopped;
      }
    }
    // End of message: modifications, then one final reply.
    stage_ = "eom";
    head_placeholder_ = head.substr(0, sh.fields_end) + "\r\n";
    if (!co_await send_macros(m::stage::eom, sender, rcpt0)) co_return failed();
    if (!co_await send(m::encode(m::cmd::eob, ""), content_t)) co_return failed();
    while (true) {
      auto r = co_await receive(content_t);
      if (!r) co_return failed();
      if (m::is_modification(r->kind)) {
        if (!modification(*r)) co_return failed();
        continue;
      }
      if (r->kind == m::reply_kind::skip || r->kind == m::reply_kind::negotiate) {
        fail(std::string("garbage: ") + m::reply_name(r->kind) + " at end of message", stage_);
        co_return failed();
      }
      final_verdict(*r);
      break;
    }
    if (result_.action == k::failed) co_return failed();
    if (result_.new_body) {
      if (result_.body_pending_cr) {
        if (auto ec = result_.new_body->append("\r\n")) {
          fail("replbody: " + ec.message(), stage_);
          co_return failed();
        }
      }
      if (auto ec = result_.new_body->finish()) {
        fail("replbody: " + ec.message(), stage_);
        co_return failed();
      }
    }
  }
  // Polite end; the connection is closed either way.
  co_await send(m::encode(m::cmd::quit, ""), 5);
  co_return std::move(result_);

stopped:
  if (!fail_.reason.empty() || result_.action == k::failed) co_return failed();
  co_await send(m::encode(m::cmd::quit, ""), 5);
  // A verdict before end of message: no modifications apply.
  result_.edits.clear();
  co_return std::move(result_);
}

nlohmann::json base(const transaction_info& info, const config::milter& mc) {
  return {{"session", std::string(info.session_id)},
          {"queue_id", std::string(info.queue_id)},
          {"client_ip", std::string(info.client_ip)},
          {"listener", std::string(info.listener)},
          {"milter", mc.name}};
}

const char* kind_name(milter_result::kind k) {
  switch (k) {
    case milter_result::kind::accept:
      return "accept";
    case milter_result::kind::cont:
      return "continue";
    case milter_result::kind::reject:
      return "reject";
    case milter_result::kind::tempfail:
      return "tempfail";
    case milter_result::kind::discard:
      return "discard";
    case milter_result::kind::shutdown:
      return "shutdown";
    case milter_result::kind::failed:
      return "failed";
  }
  return "?";
}

bool applies(const config::milter& mc, std::string_view listener) {
  return std::find(mc.listeners.begin(), mc.listeners.end(), listener) != mc.listeners.end();
}

std::string joined(const smtp::reply& r) {
  std::string t;
  for (const auto& l : r.lines) {
    if (!t.empty()) t += ' ';
    t += l;
  }
  return t;
}

}  // namespace

bool any_for(const config::config& cfg, std::string_view listener) {
  return std::any_of(cfg.filter.milters.begin(), cfg.filter.milters.end(),
                     [&](const config::milter& mc) { return applies(mc, listener); });
}

asio::awaitable<outcome> run_milters(asio::any_io_executor ex, const config::config& cfg, const transaction_info& info,
                                     std::string& head, const queue::message_file& body, std::string sender,
                                     std::vector<std::string> recipients) {
  outcome out;
  out.sender = std::move(sender);
  out.recipients = std::move(recipients);
  std::size_t index = 0;
  for (const auto& mc : cfg.filter.milters) {
    if (!applies(mc, info.listener)) continue;
    ++index;
    const auto start = steady::now();
    milter_result r;
    {
      conversation c(ex, mc, cfg, info);
      c.tmp_dir_ = info.tmp_dir;
      c.index_ = index;
      try {
        // A body replaced by an earlier milter is the one the next milter sees.
        r = co_await c.run(head, out.new_body ? *out.new_body : body, out.sender, out.recipients);
      } catch (const std::exception& e) {
        r = milter_result{};
        r.action = milter_result::kind::failed;
        r.fail = failure{std::string("error: ") + e.what(), "?"};
      }
      c.close();
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
    if (r.action == milter_result::kind::failed) {
      auto f = base(info, mc);
      f["stage"] = r.fail.stage;
      f["reason"] = r.fail.reason;
      f["action"] = mc.default_action;
      f["duration_ms"] = ms;
      log::warning("milter_error", std::move(f));
      if (mc.default_action == "accept") continue;  // as if this milter were not configured
      out.milter = mc.name;
      out.rule = "milter_failure";
      out.new_body.reset();
      if (mc.default_action == "reject") {
        out.action = outcome::verdict::reject;
        out.reply = smtp::make_reply(550, "5.7.1", "Command rejected");
      } else {
        out.action = outcome::verdict::tempfail;
        out.reply = smtp::make_reply(451, "4.7.1", "Service unavailable - try again later");
      }
      co_return out;
    }
    auto f = base(info, mc);
    f["verdict"] = kind_name(r.action);
    f["duration_ms"] = ms;
    if (!r.mods.empty()) f["modifications"] = r.mods;
    if (r.action == milter_result::kind::reject || r.action == milter_result::kind::tempfail ||
        r.action == milter_result::kind::shutdown) {
      f["code"] = r.reply.code;
      f["text"] = joined(r.reply);
    }
    if (!r.quarantine.empty()) f["quarantine"] = r.quarantine;
    // A malware verdict: a refusal by an antivirus milter, or one that marked the message infected first
    // (clamav-milter adds `X-Virus-Status: Infected (<signature>)` before its 550).
    const bool refused = r.action == milter_result::kind::reject || r.action == milter_result::kind::tempfail ||
                         r.action == milter_result::kind::shutdown;
    std::string virus;
    bool malware = false;
    if (refused) {
      for (const auto& e : r.edits) {
        std::string_view v(e.value);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        if (iequal(e.name, "X-Virus-Status") && v.size() >= 8 && iequal(v.substr(0, 8), "infected")) {
          malware = true;
          const auto open = v.find('('), close = v.rfind(')');
          if (open != std::string_view::npos && close != std::string_view::npos && close > open)
            virus = common::printable(v.substr(open + 1, close - open - 1), 128);
        }
      }
      if (mc.antivirus && r.action == milter_result::kind::reject) malware = true;
    }
    if (malware) {
      f["malware"] = true;
      if (!virus.empty()) f["virus"] = virus;
    }
    log::info("milter", std::move(f));
    if (malware && !info.auth_user.empty()) {
      // Outbound malware from an authenticated account: possibly hijacked (alert `outbound_malware`).
      auto g = base(info, mc);
      g["user"] = std::string(info.auth_user);
      if (!virus.empty()) g["virus"] = virus;
      g["action"] = kind_name(r.action);
      log::error("outbound_malware", std::move(g));
    }
    switch (r.action) {
      case milter_result::kind::reject:
      case milter_result::kind::tempfail:
      case milter_result::kind::shutdown:
        out.action = r.action == milter_result::kind::reject     ? outcome::verdict::reject
                     : r.action == milter_result::kind::tempfail ? outcome::verdict::tempfail
                                                                 : outcome::verdict::shutdown;
        out.reply = std::move(r.reply);
        out.milter = mc.name;
        out.rule = "milter";
        out.new_body.reset();
        co_return out;
      case milter_result::kind::discard:
        out.action = outcome::verdict::discard;
        out.milter = mc.name;
        out.new_body.reset();
        co_return out;
      default:
        break;
    }
    // Accepted or continued: its modifications apply.
    // rspamd's "add header" action (and SpamAssassin-style milters) flag spam in a header: file it into Junk.
    for (const auto& e : r.edits) {
      std::string_view v(e.value);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      if ((iequal(e.name, "X-Spam") || iequal(e.name, "X-Spam-Flag")) && v.size() >= 3 && iequal(v.substr(0, 3), "yes"))
        out.spam = true;
    }
    if (!r.edits.empty()) {
      auto edited = m::apply_header_edits(head, r.edits, r.leadspc);
      if (edited) head = std::move(*edited);
    }
    if (r.new_body) {
      // The body as the next milter and the spool see it; a non-field line left in the head was body.
      auto sh = m::split(head);
      head = head.substr(0, sh.fields_end) + "\r\n";
      out.new_body = std::move(r.new_body);
    }
    if (r.new_sender) {
      out.sender = *r.new_sender;
      out.envelope_changed = true;
    }
    for (const auto& d : r.del_rcpts) {
      auto it = std::remove_if(out.recipients.begin(), out.recipients.end(),
                               [&](const std::string& x) { return iequal(x, d); });
      if (it != out.recipients.end()) out.envelope_changed = true;
      out.recipients.erase(it, out.recipients.end());
    }
    for (auto& a : r.add_rcpts) {
      if (std::none_of(out.recipients.begin(), out.recipients.end(),
                       [&](const std::string& x) { return iequal(x, a); })) {
        out.recipients.push_back(std::move(a));
        out.envelope_changed = true;
      }
    }
    if (!r.quarantine.empty()) out.quarantine = r.quarantine;
  }
  co_return out;
}

}  // namespace mailfort::filter
