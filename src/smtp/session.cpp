// smtp/session.cpp: the SMTP server state machine (see session.hpp for the contract).
// SPDX-License-Identifier: MIT
#include "smtp/session.hpp"

#include "common/ascii.hpp"
#include "common/clock.hpp"
#include "sasl/sasl_decode.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace mailfort::smtp {

using common::iequals;
// Events and reject rules are the declared ones (log/events.hpp), never bare strings.
using ev = log::event_id;
using rule = log::reject_rule;

const char* listener_name(listener_kind k) {
  switch (k) {
    case listener_kind::mx:
      return "mx";
    case listener_kind::submission:
      return "submission";
    case listener_kind::submissions:
      return "submissions";
  }
  return "mx";
}

namespace {

// SIZE=digits, at most 20 digits, no wraparound (bad-input 30).
bool parse_size(std::string_view v, std::uint64_t& out) {
  if (v.empty() || v.size() > 20) return false;
  std::uint64_t n = 0;
  for (char c : v) {
    if (!common::is_digit(c)) return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  out = n;
  return true;
}

// RFC 3461 xtext: "+" HEXCHAR HEXCHAR or printable ASCII except "+" and "=". Decoded control bytes are
// refused (Exim CVE-2020-28021 shape: AUTH=x+0Ay smuggling a newline into the queue file).
bool valid_xtext(std::string_view v) {
  auto hexval = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < v.size(); ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c == '+') {
      if (i + 3 > v.size()) return false;
      int hi = hexval(v[i + 1]);
      int lo = hexval(v[i + 2]);
      if (hi < 0 || lo < 0) return false;
      int byte = hi * 16 + lo;
      if (byte < 0x21 || byte > 0x7e) return false;
      i += 2;
    } else if (c < 0x21 || c > 0x7e || c == '=') {
      return false;
    }
  }
  return true;
}

std::string lower(std::string_view s) { return common::to_lower(s); }

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

session::session(session_config cfg, const session_env& env, std::string client_ip, std::uint16_t client_port)
    : cfg_(std::move(cfg)), env_(env), client_ip_(std::move(client_ip)) {
  (void)client_port;  // part of the interface for later policy (per-connection limits); unused today
}

void session::add_event(step& s, log::event_id e, nlohmann::json fields) const {
  s.events.push_back(log_event{std::string(log::name(e)), std::move(fields)});
}

step session::greeting() {
  step s;
  state_ = state::greeted;
  // No software name or version in the banner: it only helps attackers pick exploits.
  s.replies.push_back(make_reply(220, "", cfg_.hostname + " ESMTP"));
  return s;
}

// Every client error goes through here: one reply, one "reject" event, the error counter, and 421 +
// close at the hard limit (RFC 5321 does not bound errors; Postfix uses 10 soft / 20 hard).
step session::error_reply(step s, log::reject_rule rule, int code, std::string_view enh, std::string_view text,
                          std::string_view stage) {
  ++errors_;
  s.count_error = true;
  s.replies.push_back(make_reply(code, enh, text));
  add_event(
      s, ev::reject,
      {{"stage", std::string(stage)}, {"code", code}, {"rule", log::rule_field(rule)}, {"text", std::string(text)}});
  if (errors_ >= cfg_.limits.hard_errors && s.action != action::close) {
    s.replies.push_back(make_reply(421, "4.7.0", cfg_.hostname + " Too many errors, closing connection"));
    add_event(
        s, ev::reject,
        {{"stage", "session"}, {"code", 421}, {"rule", log::rule_field(rule::too_many_errors)}, {"errors", errors_}});
    s.action = action::close;
    state_ = state::closed;
  }
  return s;
}

step session::junk(step s) {
  if (++junk_ > cfg_.limits.junk_commands) {
    s.replies.clear();
    s.replies.push_back(make_reply(421, "4.7.0", cfg_.hostname + " Too many commands without mail, closing"));
    add_event(s, ev::reject,
              {{"stage", "session"}, {"code", 421}, {"rule", log::rule_field(rule::too_many_errors)}, {"junk", junk_}});
    s.action = action::close;
    state_ = state::closed;
  }
  return s;
}

step session::on_line(line_status status, std::string_view line) {
  step s;
  if (state_ == state::closed) {
    s.action = action::close;
    return s;
  }
  if (in_sasl()) {
    switch (status) {
      case line_status::line:
        return do_sasl_line(line);
      case line_status::too_long:
        state_ = state::greeted;
        return error_reply(std::move(s), rule::command_too_long, 500, "5.5.6",
                           "Authentication exchange line is too long", "auth");
      case line_status::overflow:
        break;
      case line_status::bad_line_ending:
        state_ = state::greeted;
        return error_reply(std::move(s), rule::syntax, 500, "5.5.2", "Bare <CR> or <LF> in authentication exchange",
                           "auth");
      case line_status::need_more:
        return s;
    }
  }
  switch (status) {
    case line_status::need_more:
      return s;
    case line_status::line:
      break;
    case line_status::too_long:
      return error_reply(std::move(s), rule::command_too_long, 500, "5.5.2", "Line too long", "command");
    case line_status::bad_line_ending:
      // Never split a line at a bare CR or LF into two commands (command smuggling).
      return error_reply(std::move(s), rule::syntax, 500, "5.5.2", "Bare <CR> or <LF> in command line", "command");
    case line_status::overflow:
      s.replies.push_back(make_reply(421, "4.7.0", cfg_.hostname + " Line too long, closing connection"));
      add_event(s, ev::reject,
                {{"stage", "command"}, {"code", 421}, {"rule", log::rule_field(rule::command_too_long)}});
      s.action = action::close;
      state_ = state::closed;
      return s;
  }
  command cmd = parse_command(line);
  // Only AUTH lines may use the SASL line length (RFC 4954 4); everything else keeps 512 octets.
  if (line.size() + 2 > cfg_.limits.command_line && cmd.verb != verb::auth) {
    return error_reply(std::move(s), rule::command_too_long, 500, "5.5.2", "Line too long", "command");
  }
  return dispatch(cmd);
}

step session::dispatch(const command& cmd) {
  step s;
  switch (cmd.verb) {
    case verb::ehlo:
      return do_helo(cmd, true);
    case verb::helo:
      return do_helo(cmd, false);
    case verb::mail:
      return do_mail(cmd);
    case verb::rcpt:
      return do_rcpt(cmd);
    case verb::data:
      return do_data(cmd);
    case verb::auth:
      return do_auth(cmd);
    case verb::starttls:
      return do_starttls(cmd);
    case verb::rset:
      if (!trim(cmd.args).empty())
        return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Syntax: RSET", "command");
      reset_transaction();
      s.replies.push_back(make_reply(250, "2.0.0", "Ok"));
      return junk(std::move(s));
    case verb::noop:
      s.replies.push_back(make_reply(250, "2.0.0", "Ok"));
      return junk(std::move(s));
    case verb::quit:
      s.replies.push_back(make_reply(221, "2.0.0", "Bye"));
      s.action = action::close;
      state_ = state::closed;
      return s;
    case verb::help:
      s.replies.push_back(make_reply(214, "2.0.0", "See RFC 5321"));
      return junk(std::move(s));
    case verb::vrfy:
      // Never confirm or deny a mailbox (RFC 5321 7.3): address harvesting.
      s.replies.push_back(make_reply(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery"));
      add_event(s, ev::vrfy, {{"rule", log::rule_field(rule::vrfy_refused)}});
      return junk(std::move(s));
    case verb::expn:
      s = error_reply(std::move(s), rule::expn_refused, 502, "5.5.1", "EXPN not available", "command");
      return junk(std::move(s));
    case verb::bdat:
      // CHUNKING is not advertised; refuse and close rather than risk reading a chunk as commands.
      s.replies.push_back(make_reply(502, "5.5.1", "BDAT not supported"));
      add_event(s, ev::reject, {{"stage", "command"}, {"code", 502}, {"rule", log::rule_field(rule::bad_sequence)}});
      ++errors_;
      s.count_error = true;
      s.action = action::close;
      state_ = state::closed;
      return s;
    case verb::xclient:
    case verb::proxy:
      return error_reply(std::move(s), rule::xclient_denied, 550, "5.7.0", "Error: insufficient authorization",
                         "command");
    case verb::http:
      // An HTTP or POP/IMAP client: a cross-protocol attack (ALPACA) or a scanner. Drop it.
      s.replies.push_back(make_reply(421, "4.7.0", cfg_.hostname + " This is an SMTP server; closing"));
      add_event(s, ev::reject,
                {{"stage", "command"},
                 {"code", 421},
                 {"rule", log::rule_field(rule::non_smtp_command)},
                 {"command", common::printable(cmd.name, 40)}});
      ++errors_;
      s.count_error = true;
      s.action = action::close;
      state_ = state::closed;
      return s;
    case verb::unknown:
      return error_reply(std::move(s), rule::syntax, 500, "5.5.2", "Error: command not recognized", "command");
    case verb::invalid:
      return error_reply(std::move(s), rule::syntax, 500, "5.5.2", "Error: invalid characters in command", "command");
  }
  return error_reply(std::move(s), rule::syntax, 500, "5.5.2", "Error: command not recognized", "command");
}

step session::do_helo(const command& cmd, bool extended) {
  step s;
  std::string name = trim(cmd.args);
  if (name.empty()) return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Syntax: EHLO hostname", "helo");
  if (name.size() > 255) return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "HELO name too long", "helo");
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Invalid HELO name", "helo");
  }
  // A repeated HELO/EHLO (the same TLS state) is a junk command: it resets nothing an idle holder needs.
  const bool repeated = helo_done_;
  helo_ = name;
  helo_done_ = true;
  extended_ = extended;
  reset_transaction();
  if (!extended) {
    s.replies.push_back(make_reply(250, "", cfg_.hostname));
    return repeated ? junk(std::move(s)) : s;
  }
  reply r;
  r.code = 250;
  r.lines.push_back(cfg_.hostname);
  r.lines.push_back("PIPELINING");
  r.lines.push_back("SIZE " + std::to_string(cfg_.limits.message_size));
  r.lines.push_back("8BITMIME");
  r.lines.push_back("SMTPUTF8");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  if (!tls_active_ && cfg_.tls_available && cfg_.kind != listener_kind::submissions) r.lines.push_back("STARTTLS");
  // AUTH only inside TLS and only on submission ports: never expose passwords in plaintext, and MX
  // has nothing to authenticate (brute-force surface).
  if (needs_auth() && tls_active_ && auth_user_.empty()) r.lines.push_back("AUTH PLAIN LOGIN");
  s.replies.push_back(std::move(r));
  return repeated ? junk(std::move(s)) : s;
}

step session::do_starttls(const command& cmd) {
  step s;
  if (!trim(cmd.args).empty())
    return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Syntax: STARTTLS", "starttls");
  if (tls_active_)
    return error_reply(std::move(s), rule::bad_sequence, 554, "5.5.1", "Error: TLS already active", "starttls");
  if (!cfg_.tls_available || cfg_.kind == listener_kind::submissions)
    return error_reply(std::move(s), rule::bad_sequence, 502, "5.5.1", "STARTTLS not available", "starttls");
  if (!helo_done_)
    return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1", "Error: send EHLO first", "starttls");
  s.replies.push_back(make_reply(220, "2.0.0", "Ready to start TLS"));
  s.action = action::start_tls;
  return s;
}

void session::on_tls_established(std::string version, std::string cipher) {
  // RFC 3207 4.2: forget everything learned before TLS.
  tls_active_ = true;
  tls_version_ = std::move(version);
  tls_cipher_ = std::move(cipher);
  helo_done_ = false;
  extended_ = false;
  helo_.clear();
  auth_user_.clear();
  creds_ = {};
  reset_transaction();
  if (state_ != state::closed && state_ != state::connected) state_ = state::greeted;
}

step session::on_starttls_pipelined() {
  step s;
  s.replies.push_back(make_reply(554, "5.5.0", "Error: command pipelined after STARTTLS, closing"));
  add_event(s, ev::reject,
            {{"stage", "starttls"}, {"code", 554}, {"rule", log::rule_field(rule::starttls_pipelining)}});
  ++errors_;
  s.count_error = true;
  s.action = action::close;
  state_ = state::closed;
  return s;
}

step session::on_data_pipelined() {
  step s;
  s.replies.push_back(make_reply(554, "5.5.0", "Error: message content sent before 354, closing"));
  add_event(s, ev::reject, {{"stage", "data"}, {"code", 554}, {"rule", log::rule_field(rule::pipelining_violation)}});
  ++errors_;
  s.count_error = true;
  s.action = action::close;
  state_ = state::closed;
  reset_transaction();
  return s;
}

step session::do_auth(const command& cmd) {
  step s;
  if (cfg_.kind == listener_kind::mx)
    return error_reply(std::move(s), rule::auth_not_offered, 502, "5.5.1", "Error: authentication not enabled", "auth");
  if (!tls_active_) {
    // Credentials are never looked at before TLS.
    return error_reply(std::move(s), rule::auth_before_tls, 530, "5.7.0", "Must issue a STARTTLS command first",
                       "auth");
  }
  if (!helo_done_) return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1", "Error: send EHLO first", "auth");
  if (!auth_user_.empty())
    return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1", "Error: already authenticated", "auth");
  if (tx_.active)
    return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1",
                       "Error: AUTH not allowed during a mail transaction", "auth");
  if (auto lim = env_.check_limit(session_env::limit_kind::auth, client_ip_, ""); !lim.empty()) {
    s.replies.push_back(make_reply(421, "4.7.0", cfg_.hostname + " Too many authentication attempts, closing"));
    add_event(s, ev::reject, {{"stage", "auth"}, {"code", 421}, {"rule", lim}});
    s.action = action::close;
    state_ = state::closed;
    return s;
  }
  std::string args = trim(cmd.args);
  auto sp = args.find(' ');
  std::string mech = common::to_lower(sp == std::string::npos ? args : args.substr(0, sp));
  std::string initial = sp == std::string::npos ? std::string() : trim(std::string_view(args).substr(sp + 1));
  creds_ = {};
  if (mech == "plain") {
    creds_.mechanism = "PLAIN";
    if (initial.empty()) {
      state_ = state::auth_plain;
      s.replies.push_back(make_reply(334, "", ""));
      return s;
    }
    if (initial == "=") initial.clear();
    state_ = state::auth_plain;
    return do_sasl_line(initial);
  }
  if (mech == "login") {
    creds_.mechanism = "LOGIN";
    if (initial.empty()) {
      state_ = state::auth_login_user;
      s.replies.push_back(make_reply(334, "", "VXNlcm5hbWU6"));  // "Username:"
      return s;
    }
    state_ = state::auth_login_user;
    return do_sasl_line(initial);
  }
  if (mech.empty()) return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Syntax: AUTH mechanism", "auth");
  return error_reply(std::move(s), rule::syntax, 504, "5.5.4", "Unrecognized authentication mechanism", "auth");
}

step session::do_sasl_line(std::string_view line) {
  step s;
  std::string text = trim(line);
  if (text == "*") {
    state_ = state::greeted;
    creds_ = {};
    return error_reply(std::move(s), rule::auth_cancelled, 501, "5.7.0", "Authentication cancelled", "auth");
  }
  if (state_ == state::auth_plain) {
    state_ = state::greeted;
    auto r = sasl::decode_plain(text);
    if (r.error == sasl::plain_error::bad_base64)
      return error_reply(std::move(s), rule::syntax, 501, "5.5.2", "Cannot decode response", "auth");
    if (r.error != sasl::plain_error::ok)
      return error_reply(std::move(s), rule::syntax, 501, "5.5.2", "Invalid PLAIN response", "auth");
    creds_.authzid = std::move(r.creds.authzid);
    creds_.authcid = std::move(r.creds.authcid);
    creds_.password = std::move(r.creds.password);
    s.action = action::verify_auth;
    return s;
  }
  auto decoded = sasl::base64_decode(text);
  if (!decoded) {
    state_ = state::greeted;
    creds_ = {};
    return error_reply(std::move(s), rule::syntax, 501, "5.5.2", "Cannot decode response", "auth");
  }
  if (state_ == state::auth_login_user) {
    if (decoded->empty() || decoded->size() > 320 || decoded->find('\0') != std::string::npos) {
      state_ = state::greeted;
      return error_reply(std::move(s), rule::syntax, 501, "5.5.2", "Invalid user name", "auth");
    }
    creds_.authcid = std::move(*decoded);
    state_ = state::auth_login_pass;
    s.replies.push_back(make_reply(334, "", "UGFzc3dvcmQ6"));  // "Password:"
    return s;
  }
  // auth_login_pass
  state_ = state::greeted;
  if (decoded->size() > 1024 || decoded->find('\0') != std::string::npos) {
    creds_ = {};
    return error_reply(std::move(s), rule::syntax, 501, "5.5.2", "Invalid password", "auth");
  }
  creds_.password = std::move(*decoded);
  s.action = action::verify_auth;
  return s;
}

step session::on_auth_result(const std::optional<std::string>& canonical_user) {
  step s;
  const bool ok = canonical_user.has_value() && !canonical_user->empty();
  std::string user = ok ? *canonical_user : lower(creds_.authcid);
  // authzid must be empty or the same identity: no acting as another user (bad-input 20). It is compared
  // with the name the database matched, as typed (lower-cased), so whitespace cannot make an alias here either.
  bool authz_ok = creds_.authzid.empty() || lower(creds_.authzid) == user;
  if (ok && authz_ok) {
    auth_user_ = user;
    auth_mechanism_ = creds_.mechanism;
    nlohmann::json f = {{"result", "success"}, {"mechanism", creds_.mechanism}, {"user", user}};
    if (creds_.authcid != user) f["login"] = common::printable(creds_.authcid, 320);  // as typed
    add_event(s, ev::auth, std::move(f));
    s.replies.push_back(make_reply(235, "2.7.0", "Authentication successful"));
  } else {
    ++auth_failures_;
    add_event(s, ev::auth,
              {{"result", "failure"},
               {"mechanism", creds_.mechanism},
               {"user", common::printable(user, 320)},
               {"reason", ok ? "authzid_mismatch" : "bad_credentials"}});
    creds_ = {};
    return error_reply(std::move(s), rule::auth_failed, 535, "5.7.8", "Authentication credentials invalid", "auth");
  }
  creds_ = {};
  return s;
}

step session::do_mail(const command& cmd) {
  step s;
  if (!helo_done_)
    return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1", "Error: send HELO/EHLO first", "mail");
  if (tx_.active)
    return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1", "Error: nested MAIL command", "mail");
  if (needs_auth() && auth_user_.empty()) {
    if (!tls_active_)
      return error_reply(std::move(s), rule::auth_required, 530, "5.7.0", "Must issue a STARTTLS command first",
                         "mail");
    return error_reply(std::move(s), rule::auth_required, 530, "5.7.0", "Authentication required", "mail");
  }
  if (messages_ >= cfg_.limits.messages_per_connection) {
    s.replies.push_back(make_reply(421, "4.7.0", cfg_.hostname + " Too many messages in one connection, closing"));
    add_event(s, ev::reject,
              {{"stage", "mail"}, {"code", 421}, {"rule", log::rule_field(rule::messages_per_connection)}});
    s.action = action::close;
    state_ = state::closed;
    return s;
  }
  auto r = parse_mail_from(cmd.args);
  switch (r.error) {
    case addr_error::ok:
      break;
    case addr_error::local_too_long:
    case addr_error::domain_too_long:
    case addr_error::path_too_long:
      return error_reply(std::move(s), rule::syntax, 501, "5.1.7", "Path too long", "mail");
    case addr_error::needs_smtputf8:
      return error_reply(std::move(s), rule::needs_smtputf8, 553, "5.6.7",
                         "Must declare SMTPUTF8 to send unicode address", "mail");
    case addr_error::invalid_utf8:
      return error_reply(std::move(s), rule::syntax, 553, "5.6.7", "Invalid UTF-8 in address", "mail");
    case addr_error::bad_parameter:
    case addr_error::parameter_too_long:
      return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Invalid parameter syntax", "mail");
    case addr_error::syntax:
    case addr_error::multiple_at:
      return error_reply(std::move(s), rule::syntax, 501, "5.1.7", "Bad sender address syntax", "mail");
  }
  transaction tx;
  bool seen_size = false, seen_body = false, seen_utf8 = false, seen_auth = false;
  for (const auto& p : r.value.params) {
    if (p.keyword == "SIZE" && !seen_size) {
      seen_size = true;
      if (!p.has_value || !parse_size(p.value, tx.declared_size))
        return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Bad SIZE parameter", "mail");
      if (tx.declared_size > cfg_.limits.message_size)
        return error_reply(std::move(s), rule::message_too_large, 552, "5.3.4", "Message size exceeds fixed limit",
                           "mail");
    } else if (p.keyword == "BODY" && !seen_body) {
      seen_body = true;
      if (iequals(p.value, "8BITMIME"))
        tx.eight_bit_mime = true;
      else if (!iequals(p.value, "7BIT"))
        return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Bad BODY parameter", "mail");
    } else if (p.keyword == "SMTPUTF8" && !seen_utf8 && !p.has_value) {
      seen_utf8 = true;
      tx.smtputf8 = true;
    } else if (p.keyword == "AUTH" && !seen_auth) {
      // RFC 4954 5: accepted and ignored (we never relay it onward), but it must be valid xtext.
      seen_auth = true;
      if (!p.has_value || p.value.size() > 500 || !valid_xtext(p.value))
        return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Bad AUTH parameter", "mail");
    } else if (p.keyword == "SIZE" || p.keyword == "BODY" || p.keyword == "SMTPUTF8" || p.keyword == "AUTH") {
      return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Duplicate or malformed parameter", "mail");
    } else {
      return error_reply(std::move(s), rule::syntax, 555, "5.5.4", "Unsupported parameter", "mail");
    }
  }
  tx.sender = r.value.null ? std::string() : r.value.box.address();
  // Submission (issue 15 item 4): the envelope sender must be one the login may send as; the null sender
  // (a bounce, which no one may forge for a user) only when relay.allow_null_sender says so.
  if (needs_auth() && r.value.null && !cfg_.allow_null_sender)
    return error_reply(std::move(s), rule::null_sender_refused, 550, "5.7.1",
                       "Sender address rejected: the null sender <> is not accepted on submission", "mail");
  if (!auth_user_.empty() && !r.value.null && !env_.may_send_as(auth_user_, tx.sender)) {
    return error_reply(std::move(s), rule::sender_not_owned, 550, "5.7.1",
                       "Sender address rejected: not owned by the authenticated user " + auth_user_, "mail");
  }
  if (auto lim = env_.check_limit(session_env::limit_kind::message, client_ip_, auth_user_); !lim.empty()) {
    s.replies.push_back(make_reply(450, "4.7.1", "Too much mail from you; try again later"));
    add_event(s, ev::reject, {{"stage", "mail"}, {"code", 450}, {"rule", lim}});
    return junk(std::move(s));  // a refused MAIL is not mail: it must not keep a session alive
  }
  if (!env_.inflight_room(tx.declared_size)) {
    // Not the client's fault: no error is counted (RFC 5321 4.5.3.1.10 / RFC 1870 6.1: 452 at MAIL).
    s.replies.push_back(make_reply(452, "4.3.1", "Insufficient system storage; try again later"));
    add_event(s, ev::reject, {{"stage", "mail"}, {"code", 452}, {"rule", log::rule_field(rule::inflight_budget)}});
    return s;
  }
  tx.active = true;
  tx_ = std::move(tx);
  junk_ = 0;
  add_event(s, ev::mail, {{"from", tx_.sender}, {"size", tx_.declared_size}});
  s.replies.push_back(make_reply(250, "2.1.0", "Ok"));
  return s;
}

step session::do_rcpt(const command& cmd) {
  step s;
  if (!tx_.active)
    return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1", "Error: need MAIL command", "rcpt");
  auto r = parse_rcpt_to(cmd.args, tx_.smtputf8);
  switch (r.error) {
    case addr_error::ok:
      break;
    case addr_error::local_too_long:
    case addr_error::domain_too_long:
    case addr_error::path_too_long:
      return error_reply(std::move(s), rule::syntax, 501, "5.1.3", "Path too long", "rcpt");
    case addr_error::needs_smtputf8:
      return error_reply(std::move(s), rule::needs_smtputf8, 553, "5.6.7",
                         "Must declare SMTPUTF8 to send unicode address", "rcpt");
    case addr_error::invalid_utf8:
      return error_reply(std::move(s), rule::syntax, 553, "5.6.7", "Invalid UTF-8 in address", "rcpt");
    case addr_error::multiple_at:
      return error_reply(std::move(s), rule::relay_denied, 550, "5.7.1", "Relay access denied", "rcpt");
    case addr_error::bad_parameter:
    case addr_error::parameter_too_long:
      return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Invalid parameter syntax", "rcpt");
    case addr_error::syntax:
      return error_reply(std::move(s), rule::syntax, 501, "5.1.3", "Bad recipient address syntax", "rcpt");
  }
  if (!r.value.params.empty())
    return error_reply(std::move(s), rule::syntax, 555, "5.5.4", "Unsupported parameter", "rcpt");
  if (tx_.recipients.size() >= cfg_.limits.recipients) {
    // RFC 5321 4.5.3.1.8: temporary, earlier recipients stay accepted. Counted as an error, so a
    // client that keeps going is disconnected at the hard limit (bad-input 36).
    return error_reply(std::move(s), rule::too_many_recipients, 452, "4.5.3", "Too many recipients", "rcpt");
  }
  std::string rcpt;
  std::vector<std::string> targets;  // what the recipient resolves to (issue 20: aliases, subaddresses, roles)
  bool role = false;                 // postmaster@ or abuse@ of a local domain
  const mailbox& box = r.value.box;
  using res_kind = session_env::local_resolution::kind;
  auto resolve = [&](const std::string& address, bool role_address) -> session_env::local_resolution {
    auto res = env_.resolve_local(address);
    // postmaster@ is never refused (RFC 5321 4.5.1): with nothing to resolve it to, its own mailbox.
    if (res.result == res_kind::unknown && role_address && lower(address).rfind("postmaster@", 0) == 0)
      return {res_kind::ok, {address}};
    return res;
  };
  session_env::local_resolution res;
  // A bounce to one of our SRS addresses goes back to the original sender; a forged or expired one is refused
  // (it would make SRS an open relay).
  session_env::srs_reversal srs;
  if (!r.value.postmaster && !box.address_literal && !box.trailing_dot) srs = env_.reverse_srs(box.address());
  if (srs.result == session_env::srs_reversal::kind::invalid) {
    s = error_reply(std::move(s), rule::srs_invalid, 550, "5.7.1",
                    "Recipient address rejected: invalid or expired SRS address", "rcpt");
    s.events.back().fields["to"] = common::printable(box.address(), 320);
    s.events.back().fields["srs"] = srs.reason;
    return s;
  }
  if (srs.result == session_env::srs_reversal::kind::ok) {
    rcpt = box.address();
    res = {res_kind::ok, {srs.address}};
  } else if (r.value.postmaster) {
    rcpt = "postmaster@" + lower(cfg_.primary_domain);
    role = true;
    res = resolve(rcpt, true);
  } else {
    bool local = !box.address_literal && !box.trailing_dot && env_.is_local_domain(box.domain);
    std::string full = box.address();
    if (local) {
      // Relay tricks aimed at a local domain (percent hack, bang path, quoted "@"): a local MTA that
      // re-parses them would forward the mail elsewhere. Refuse them as relay attempts.
      if (box.has_percent || box.has_bang || box.has_quoted_at)
        return error_reply(std::move(s), rule::relay_denied, 550, "5.7.1", "Relay access denied", "rcpt");
      rcpt = lower(box.local) + "@" + lower(box.domain);
      role = lower(box.local) == "postmaster" || lower(box.local) == "abuse";
      if (!box.quoted && !box.has_8bit) res = resolve(rcpt, role);
      if (res.result == res_kind::unknown && box.quoted && lower(box.local) == "postmaster")
        res = {res_kind::ok, {rcpt}};
      if (res.result == res_kind::unknown) {
        ++unknown_rcpts_;
        s = error_reply(std::move(s), rule::unknown_user, 550, "5.1.1", "Recipient address rejected: User unknown",
                        "rcpt");
        s.events.back().fields["to"] = common::printable(full, 320);
        if (unknown_rcpts_ >= cfg_.limits.unknown_recipients && s.action != action::close) {
          s.replies.push_back(make_reply(421, "4.7.0", cfg_.hostname + " Too many unknown recipients, closing"));
          add_event(s, ev::reject,
                    {{"stage", "rcpt"}, {"code", 421}, {"rule", log::rule_field(rule::too_many_unknown_recipients)}});
          s.action = action::close;
          state_ = state::closed;
        }
        return s;
      }
    } else {
      if (!may_relay() || box.address_literal || box.trailing_dot) {
        s = error_reply(std::move(s), rule::relay_denied, cfg_.kind == listener_kind::mx ? 554 : 550, "5.7.1",
                        "Relay access denied", "rcpt");
        s.events.back().fields["to"] = common::printable(full, 320);
        return s;
      }
      rcpt = full;
      res = {res_kind::ok, {full}};
    }
  }
  switch (res.result) {
    case res_kind::ok:
      targets = std::move(res.recipients);
      break;
    case res_kind::loop:
    case res_kind::too_deep:
    case res_kind::unknown: {
      // A loop is refused at RCPT, so the sending server bounces it once; nothing circulates here.
      s = error_reply(std::move(s), rule::alias_loop, 550, "5.4.6",
                      "Recipient address rejected: alias expansion loops or nests too deep", "rcpt");
      s.events.back().fields["to"] = rcpt;
      return s;
    }
    case res_kind::too_many:
      s = error_reply(std::move(s), rule::too_many_recipients, 550, "5.5.3",
                      "Recipient address rejected: the alias expands to too many recipients", "rcpt");
      s.events.back().fields["to"] = rcpt;
      return s;
  }
  // The same mailbox twice in one transaction gets one copy (Postfix's duplicate_filter_limit does the
  // same): the second RCPT is acknowledged, not counted against the rate limit, and not stored. An alias's
  // targets already present are dropped the same way.
  std::vector<std::string> fresh;
  for (auto& t : targets)
    if (std::find(tx_.recipients.begin(), tx_.recipients.end(), t) == tx_.recipients.end() &&
        std::find(fresh.begin(), fresh.end(), t) == fresh.end())
      fresh.push_back(std::move(t));
  if (fresh.empty()) {
    add_event(s, ev::rcpt, {{"to", rcpt}, {"duplicate", true}});
    s.replies.push_back(make_reply(250, "2.1.5", "Ok (duplicate recipient, one copy delivered)"));
    return s;
  }
  // Recipients after expansion count toward limits.recipients and the hourly limits.
  if (tx_.recipients.size() + fresh.size() > cfg_.limits.recipients)
    return error_reply(std::move(s), rule::too_many_recipients, 452, "4.5.3", "Too many recipients", "rcpt");
  std::size_t remote = 0;
  // A reversed SRS bounce is not a forward: it neither counts as one nor gets its sender rewritten.
  const bool expanded =
      srs.result != session_env::srs_reversal::kind::ok && (fresh.size() != 1 || fresh.front() != rcpt);
  if (expanded)
    for (const auto& t : fresh) {
      auto at = t.rfind('@');
      if (at != std::string::npos && !env_.is_local_domain(std::string_view(t).substr(at + 1))) ++remote;
    }
  if (tx_.forwarded_remote + remote > cfg_.max_remote_targets) {
    s = error_reply(std::move(s), rule::forward_limit, 550, "5.7.1",
                    "Recipient address rejected: too many remote forwarding targets for one message", "rcpt");
    s.events.back().fields["to"] = rcpt;
    return s;
  }
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    if (auto lim = env_.check_limit(session_env::limit_kind::recipient, client_ip_, auth_user_); !lim.empty()) {
      s.replies.push_back(make_reply(452, "4.5.3", "Too many recipients from you this hour; try again later"));
      add_event(s, ev::reject, {{"stage", "rcpt"}, {"code", 452}, {"rule", lim}});
      return s;
    }
  }
  tx_.forwarded_remote += remote;
  tx_.role_only = tx_.role_only && role;
  if (remote != 0)
    for (const auto& t : fresh) {
      auto at = t.rfind('@');
      if (at != std::string::npos && !env_.is_local_domain(std::string_view(t).substr(at + 1)))
        tx_.forwarded.emplace_back(t, rcpt);
    }
  nlohmann::json f = {{"to", rcpt}};
  if (expanded) f["expanded"] = fresh;
  tx_.recipients.insert(tx_.recipients.end(), fresh.begin(), fresh.end());
  add_event(s, ev::rcpt, std::move(f));
  s.replies.push_back(make_reply(250, "2.1.5", "Ok"));
  return s;
}

namespace {
constexpr std::uint64_t k_min_inflight = 64 * 1024;  // one write buffer of queue::message_file
}  // namespace

step session::do_data(const command& cmd) {
  step s;
  if (!trim(cmd.args).empty()) return error_reply(std::move(s), rule::syntax, 501, "5.5.4", "Syntax: DATA", "data");
  if (!tx_.active)
    return error_reply(std::move(s), rule::bad_sequence, 503, "5.5.1", "Error: need MAIL command", "data");
  if (tx_.recipients.empty())
    return error_reply(std::move(s), rule::bad_sequence, 554, "5.5.1", "Error: no valid recipients", "data");
  if (!env_.inflight_room(std::max<std::uint64_t>(tx_.declared_size, k_min_inflight))) {
    // The budget of bytes in flight is spent (not even one write buffer's worth is left, or less than the
    // declared SIZE): the transaction stays, the client may retry DATA later or QUIT.
    s.replies.push_back(make_reply(452, "4.3.1", "Insufficient system storage; try again later"));
    add_event(s, ev::reject, {{"stage", "data"}, {"code", 452}, {"rule", log::rule_field(rule::inflight_budget)}});
    return s;
  }
  state_ = state::data;
  s.replies.push_back(make_reply(354, "", "End data with <CR><LF>.<CR><LF>"));
  s.action = action::begin_data;
  return s;
}

data_limits session::data_limits_for_message() const {
  data_limits l;
  l.max_bytes = static_cast<std::size_t>(cfg_.limits.message_size);
  l.max_line = cfg_.limits.text_line;
  l.max_header = cfg_.limits.header_section;
  l.max_hops = cfg_.limits.max_hops;
  return l;
}

step session::on_data_end(const data_reader& reader, std::size_t content_bytes) {
  step s;
  state_ = state::greeted;
  auto fail = [&](log::reject_rule rule, int code, std::string_view enh, std::string_view text) {
    reset_transaction();
    return error_reply(std::move(s), rule, code, enh, text, "data");
  };
  switch (reader.error()) {
    case data_error::none:
      break;
    case data_error::bare_lf: {
      auto r = fail(rule::bare_lf, 550, "5.5.2", "Message rejected: bare <LF> received (SMTP smuggling)");
      r.events.back().fields["smuggling"] = true;
      r.events.back().fields["fake_end"] = reader.fake_end();  // a dot line: a real attempt, not sloppy line ends
      return r;
    }
    case data_error::bare_cr: {
      auto r = fail(rule::bare_cr, 550, "5.5.2", "Message rejected: bare <CR> received (SMTP smuggling)");
      r.events.back().fields["smuggling"] = true;
      return r;
    }
    case data_error::nul: {
      auto r = fail(rule::nul, 550, "5.5.2", "Message rejected: NUL byte received");
      r.events.back().fields["smuggling"] = true;
      return r;
    }
    case data_error::line_too_long:
      return fail(rule::line_too_long, 500, "5.5.0", "Message rejected: line too long");
    case data_error::header_too_large:
      return fail(rule::header_too_large, 552, "5.3.4", "Message header section exceeds fixed limit");
    case data_error::too_large:
      return fail(rule::message_too_large, 552, "5.3.4", "Message size exceeds fixed limit");
    case data_error::too_many_hops:
      return fail(rule::too_many_hops, 554, "5.4.6", "Too many hops (mail loop?)");
    case data_error::leading_whitespace:
      return fail(rule::leading_whitespace, 550, "5.6.0",
                  "Message rejected: it begins with white space (not a header)");
  }
  (void)content_bytes;
  s.action = action::spool;
  return s;
}

step session::on_spooled(int errc, const std::string& queue_id) {
  step s;
  if (errc == 0) {
    ++messages_;
    s.replies.push_back(make_reply(250, "2.0.0", "Ok: queued as " + queue_id));
  } else if (errc == ENOSPC || errc == EDQUOT) {
    s.replies.push_back(make_reply(452, "4.3.1", "Insufficient system storage"));
    add_event(s, ev::reject,
              {{"stage", "data"}, {"code", 452}, {"rule", log::rule_field(rule::queue_full)}, {"errno", errc}});
  } else {
    s.replies.push_back(make_reply(451, "4.3.0", "Local error in processing, try again later"));
    add_event(s, ev::reject,
              {{"stage", "data"}, {"code", 451}, {"rule", log::rule_field(rule::queue_error)}, {"errno", errc}});
  }
  reset_transaction();
  return s;
}

step session::on_policy_reject(int code, const std::string& enhanced, const std::string& text,
                               const std::string& rule) {
  step s;
  s.replies.push_back(make_reply(code, enhanced, text));
  add_event(s, ev::reject, {{"stage", "data"}, {"code", code}, {"rule", rule}, {"text", text}});
  reset_transaction();
  return s;
}

step session::on_cleanup(const cleanup_outcome& o) {
  switch (o.what) {
    case cleanup_outcome::kind::queued:
    case cleanup_outcome::kind::discarded:
      return on_spooled(0, o.queue_id);
    case cleanup_outcome::kind::store_failed:
      return on_spooled(o.errc, {});
    case cleanup_outcome::kind::refused:
      break;
  }
  return on_policy_reject(o.code, o.enhanced, o.text, o.rule);
}

step session::on_timeout(bool in_data) {
  step s;
  s.replies.push_back(make_reply(421, "4.4.2", cfg_.hostname + " Error: timeout exceeded"));
  add_event(s, ev::reject,
            {{"stage", in_data ? "data" : "command"}, {"code", 421}, {"rule", log::rule_field(rule::timeout)}});
  s.action = action::close;
  state_ = state::closed;
  reset_transaction();
  return s;
}

std::string session::received_header(const std::string& queue_id, std::int64_t unix_time) const {
  // RFC 3848 protocol names: ESMTP + S (TLS) + A (authenticated).
  std::string proto = extended_ ? "ESMTP" : "SMTP";
  if (extended_ && tls_active_) proto += "S";
  if (extended_ && !auth_user_.empty()) proto += "A";
  std::string h = "Received: from " + common::printable(helo_, 255) + " ([" + client_ip_ + "])\r\n\tby " +
                  cfg_.hostname + " (mailfort) with " + proto + " id " + queue_id;
  if (tls_active_) h += "\r\n\t(using " + tls_version_ + " with cipher " + tls_cipher_ + ")";
  if (tx_.recipients.size() == 1) h += "\r\n\tfor <" + common::printable(tx_.recipients[0], 320) + ">";
  h += "; ";
  h += common::rfc5322_date(unix_time);
  h += "\r\n";
  return h;
}

}  // namespace mailfort::smtp
