// tests/unit/session/session_test.cpp: the session state machine, verb by verb, state by state.
// SPDX-License-Identifier: MIT
#include "sasl/sasl_decode.hpp"
#include "smtp/session.hpp"

#include <gtest/gtest.h>

#include <cerrno>

using namespace mailfort::smtp;

namespace {
class fake_env final : public session_env {
 public:
  bool is_local_domain(std::string_view d) const override { return d == "localhost" || d == "LOCALHOST" || d == "local.test"; }
  bool local_user_exists(std::string_view a) const override { return a == "alice@localhost" || a == "bob@localhost"; }
  bool may_send_as(std::string_view login, std::string_view sender) const override {
    return login.size() == sender.size() && std::equal(login.begin(), login.end(), sender.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
  }
};

struct harness {
  fake_env env;
  session_config cfg;
  std::unique_ptr<session> s;
  explicit harness(listener_kind k = listener_kind::mx, bool tls = false, session_limits lim = {}) {
    cfg.kind = k;
    cfg.hostname = "mx.test";
    cfg.limits = lim;
    s = std::make_unique<session>(cfg, env, "192.0.2.1", 4242);
    if (k == listener_kind::submissions || tls) s->on_tls_established("TLSv1.3", "TLS_AES_128_GCM_SHA256");
    s->greeting();
  }
  step cmd(std::string_view line) { return s->on_line(line_status::line, line); }
  int code(std::string_view line) {
    auto st = cmd(line);
    return st.replies.empty() ? 0 : st.replies.back().code;
  }
  std::string enh(std::string_view line) {
    auto st = cmd(line);
    return st.replies.empty() ? "" : st.replies.back().enhanced;
  }
};

std::string rule_of(const step& s) {
  for (const auto& e : s.events)
    if (e.name == "reject") return e.fields.value("rule", "");
  return "";
}

std::string ehlo_text(harness& h) {
  auto st = h.cmd("EHLO client");
  std::string all;
  for (const auto& l : st.replies.at(0).lines) all += l + "\n";
  return all;
}

std::string plain(std::string_view authz, std::string_view user, std::string_view pw) {
  std::string raw(authz);
  raw.push_back('\0');
  raw += user;
  raw.push_back('\0');
  raw += pw;
  return mailfort::sasl::base64_encode(raw);
}

step finish_data(harness& h, std::string_view body, data_limits lim = {}) {
  data_reader r(lim);
  std::string out;
  r.feed(body, out);
  return h.s->on_data_end(r, out.size());
}
}  // namespace

TEST(session, greeting_has_no_software_banner) {
  fake_env env;
  session s({}, env, "192.0.2.1", 1);
  auto g = s.greeting();
  ASSERT_EQ(g.replies.size(), 1u);
  EXPECT_EQ(g.replies[0].code, 220);
  EXPECT_EQ(format(g.replies[0]).find("mailfort"), std::string::npos);
}

TEST(session, ehlo_capabilities_per_listener) {
  harness mx;
  auto t = ehlo_text(mx);
  EXPECT_NE(t.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(t.find("AUTH"), std::string::npos);
  EXPECT_EQ(t.find("CHUNKING"), std::string::npos);
  EXPECT_NE(t.find("SIZE 26214400"), std::string::npos);
  harness mx_tls(listener_kind::mx, true);
  EXPECT_EQ(ehlo_text(mx_tls).find("AUTH"), std::string::npos);  // never AUTH on MX
  harness sub;
  t = ehlo_text(sub);
  EXPECT_NE(t.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(t.find("AUTH"), std::string::npos);  // not before TLS
  harness sub_tls(listener_kind::submission, true);
  t = ehlo_text(sub_tls);
  EXPECT_EQ(t.find("STARTTLS"), std::string::npos);
  EXPECT_NE(t.find("AUTH PLAIN LOGIN"), std::string::npos);
  harness subs(listener_kind::submissions);
  t = ehlo_text(subs);
  EXPECT_EQ(t.find("STARTTLS"), std::string::npos);
  EXPECT_NE(t.find("AUTH PLAIN LOGIN"), std::string::npos);
}

TEST(session, sequence_errors) {
  harness h;
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org>"), 503);
  EXPECT_EQ(h.code("RCPT TO:<alice@localhost>"), 503);
  EXPECT_EQ(h.code("DATA"), 503);
  EXPECT_EQ(h.code("EHLO"), 501);
  EXPECT_EQ(h.code("EHLO " + std::string(256, 'x')), 501);
  EXPECT_EQ(h.code("HELO client"), 250);
  EXPECT_EQ(h.code("RCPT TO:<alice@localhost>"), 503);
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org>"), 250);
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org>"), 503);
  EXPECT_EQ(h.code("DATA"), 554);
  EXPECT_EQ(h.code("RSET"), 250);
  EXPECT_EQ(h.code("RCPT TO:<alice@localhost>"), 503);
}

TEST(session, full_transaction_and_spool) {
  harness h;
  h.cmd("EHLO client");
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME"), 250);
  EXPECT_EQ(h.code("RCPT TO:<alice@localhost>"), 250);
  EXPECT_EQ(h.code("RCPT TO:<@relay.a,@relay.b:BOB@LOCALHOST>"), 250);
  EXPECT_EQ(h.code("RCPT TO:<postmaster>"), 250);
  auto d = h.cmd("DATA");
  EXPECT_EQ(d.replies.at(0).code, 354);
  EXPECT_EQ(d.action, action::begin_data);
  EXPECT_TRUE(h.s->in_data());
  const auto& tx = h.s->current_transaction();
  EXPECT_EQ(tx.recipients, (std::vector<std::string>{"alice@localhost", "bob@localhost", "postmaster@localhost"}));
  EXPECT_TRUE(tx.eight_bit_mime);
  auto e = finish_data(h, "Subject: x\r\n\r\nhi\r\n.\r\n");
  EXPECT_EQ(e.action, action::spool);
  auto hdr = h.s->received_header("0123456789abcdef0123", 1700000000);
  EXPECT_NE(hdr.find("with ESMTP id 0123456789abcdef0123"), std::string::npos);
  auto q = h.s->on_spooled(0, "0123456789abcdef0123");
  EXPECT_EQ(q.replies.at(0).code, 250);
  EXPECT_NE(q.replies[0].lines[0].find("0123456789abcdef0123"), std::string::npos);
  EXPECT_FALSE(h.s->current_transaction().active);
}

TEST(session, spool_failures) {
  for (auto [err, code] : {std::pair{ENOSPC, 452}, std::pair{EIO, 451}}) {
    harness h;
    h.cmd("EHLO c");
    h.cmd("MAIL FROM:<a@example.org>");
    h.cmd("RCPT TO:<alice@localhost>");
    h.cmd("DATA");
    finish_data(h, "x\r\n.\r\n");
    EXPECT_EQ(h.s->on_spooled(err, "").replies.at(0).code, code);
  }
}

TEST(session, data_errors) {
  struct c {
    const char* body;
    int code;
    const char* enh;
    const char* rule;
  };
  data_limits small;
  small.max_bytes = 10;
  for (auto x : {c{"a\nb\r\n.\r\n", 550, "5.5.2", "bare_lf"}, c{"a\rb\r\n.\r\n", 550, "5.5.2", "bare_cr"},
                 c{"0123456789012\r\n.\r\n", 552, "5.3.4", "message_too_large"}}) {
    harness h;
    h.cmd("EHLO c");
    h.cmd("MAIL FROM:<a@example.org>");
    h.cmd("RCPT TO:<alice@localhost>");
    h.cmd("DATA");
    auto e = finish_data(h, x.body, small);
    EXPECT_EQ(e.replies.at(0).code, x.code) << x.body;
    EXPECT_EQ(e.replies[0].enhanced, x.enh);
    EXPECT_EQ(rule_of(e), x.rule);
    EXPECT_NE(e.action, action::spool);
    EXPECT_EQ(h.code("NOOP"), 250);  // the session stays usable
  }
  harness h;
  h.cmd("EHLO c");
  h.cmd("MAIL FROM:<a@example.org>");
  h.cmd("RCPT TO:<alice@localhost>");
  h.cmd("DATA");
  auto e = finish_data(h, "Subject: long body line\r\n\r\n" + std::string(1200, 'x') + "\r\n.\r\n");
  EXPECT_EQ(e.replies.at(0).code, 500);
  EXPECT_EQ(rule_of(e), "line_too_long");
  auto smug = [&] {
    harness g;
    g.cmd("EHLO c");
    g.cmd("MAIL FROM:<a@example.org>");
    g.cmd("RCPT TO:<alice@localhost>");
    g.cmd("DATA");
    return finish_data(g, "x\n.\n\r\n.\r\n");
  }();
  EXPECT_TRUE(smug.events.back().fields.value("smuggling", false));
}

TEST(session, relay_rules_on_mx) {
  harness h;
  h.cmd("EHLO c");
  h.cmd("MAIL FROM:<spam@example.org>");
  for (const char* r : {"TO:<victim@example.net>", "TO:<victim%example.net@localhost>",
                        "TO:<\"victim@example.net\"@localhost>", "TO:<example.net!victim@localhost>",
                        "TO:<victim@[8.8.8.8]>", "TO:<victim@example.net.>", "TO:<victim@localhost@example.net>",
                        "TO:<alice@localhost.>", "TO:<@localhost:victim@example.net>"}) {
    auto st = h.cmd(std::string("RCPT ") + r);
    ASSERT_EQ(st.replies.size(), 1u) << r;
    EXPECT_TRUE(st.replies[0].code == 550 || st.replies[0].code == 554) << r;
    EXPECT_EQ(st.replies[0].enhanced, "5.7.1") << r;
    EXPECT_EQ(rule_of(st), "relay_denied") << r;
  }
  auto u = h.cmd("RCPT TO:<nobody@localhost>");
  EXPECT_EQ(u.replies.at(0).code, 550);
  EXPECT_EQ(u.replies[0].enhanced, "5.1.1");
}

TEST(session, trusted_client_may_relay_authenticated_user_may_relay) {
  fake_env env;
  session_config cfg;
  cfg.trusted_client = true;
  session s(cfg, env, "10.0.0.1", 1);
  s.greeting();
  s.on_line(line_status::line, "EHLO c");
  s.on_line(line_status::line, "MAIL FROM:<app@localhost>");
  EXPECT_EQ(s.on_line(line_status::line, "RCPT TO:<x@example.net>").replies.at(0).code, 250);
  harness sub(listener_kind::submissions);
  sub.cmd("EHLO c");
  EXPECT_EQ(sub.cmd("AUTH PLAIN " + plain("", "alice@localhost", "pw")).action, action::verify_auth);
  EXPECT_EQ(sub.s->on_auth_result(true).replies.at(0).code, 235);
  EXPECT_EQ(sub.code("MAIL FROM:<alice@localhost>"), 250);
  EXPECT_EQ(sub.code("RCPT TO:<friend@example.net>"), 250);
}

TEST(session, auth_rules) {
  harness mx(listener_kind::mx, true);
  mx.cmd("EHLO c");
  EXPECT_EQ(mx.code("AUTH LOGIN"), 502);
  harness pre(listener_kind::submission);
  pre.cmd("EHLO c");
  auto st = pre.cmd("AUTH PLAIN " + plain("", "alice@localhost", "pw"));
  EXPECT_EQ(st.replies.at(0).code, 530);
  EXPECT_NE(st.action, action::verify_auth);  // credentials never looked at
  EXPECT_EQ(pre.code("MAIL FROM:<alice@localhost>"), 530);

  harness h(listener_kind::submission, true);
  h.cmd("EHLO c");
  EXPECT_EQ(h.code("MAIL FROM:<alice@localhost>"), 530);
  EXPECT_EQ(h.code("AUTH FOO"), 504);
  EXPECT_EQ(h.code("AUTH PLAIN %%%"), 501);
  EXPECT_EQ(h.code("AUTH PLAIN"), 334);
  EXPECT_EQ(h.code("*"), 501);
  EXPECT_EQ(h.code("AUTH PLAIN " + mailfort::sasl::base64_encode(std::string("a\0b", 3))), 501);
  EXPECT_EQ(h.code("AUTH LOGIN"), 334);
  EXPECT_EQ(h.cmd(mailfort::sasl::base64_encode("alice@localhost")).replies.at(0).lines[0], "UGFzc3dvcmQ6");
  auto v = h.cmd(mailfort::sasl::base64_encode("secret"));
  EXPECT_EQ(v.action, action::verify_auth);
  EXPECT_EQ(h.s->pending_auth().authcid, "alice@localhost");
  EXPECT_EQ(h.s->pending_auth().password, "secret");
  auto bad = h.s->on_auth_result(false);
  EXPECT_EQ(bad.replies.at(0).code, 535);
  EXPECT_EQ(bad.replies[0].enhanced, "5.7.8");
  for (const auto& e : bad.events) EXPECT_EQ(e.fields.dump().find("secret"), std::string::npos);
  // authzid of someone else
  EXPECT_EQ(h.cmd("AUTH PLAIN " + plain("bob@localhost", "alice@localhost", "pw")).action, action::verify_auth);
  EXPECT_EQ(h.s->on_auth_result(true).replies.at(0).code, 535);
  EXPECT_EQ(h.cmd("AUTH PLAIN " + plain("alice@localhost", "alice@localhost", "pw")).action, action::verify_auth);
  EXPECT_EQ(h.s->on_auth_result(true).replies.at(0).code, 235);
  EXPECT_EQ(h.code("AUTH PLAIN " + plain("", "alice@localhost", "pw")), 503);  // second AUTH
  EXPECT_EQ(h.code("MAIL FROM:<bob@localhost>"), 553);
  EXPECT_EQ(h.code("MAIL FROM:<Alice@LocalHost>"), 250);
  EXPECT_EQ(h.code("AUTH LOGIN"), 503);  // inside a transaction
}

TEST(session, long_sasl_line_allowed_long_command_refused) {
  harness h(listener_kind::submission, true);
  h.cmd("EHLO c");
  auto st = h.cmd("AUTH PLAIN " + std::string(2000, 'A'));
  EXPECT_NE(rule_of(st), "command_too_long");
  EXPECT_EQ(h.code("NOOP " + std::string(600, 'A')), 500);
  EXPECT_EQ(h.s->on_line(line_status::too_long, "").replies.at(0).code, 500);
  auto o = h.s->on_line(line_status::overflow, "");
  EXPECT_EQ(o.replies.at(0).code, 421);
  EXPECT_EQ(o.action, action::close);
}

TEST(session, starttls_rules) {
  harness h;
  EXPECT_EQ(h.code("STARTTLS"), 503);  // before EHLO
  h.cmd("EHLO c");
  EXPECT_EQ(h.code("STARTTLS now"), 501);
  auto st = h.cmd("STARTTLS");
  EXPECT_EQ(st.replies.at(0).code, 220);
  EXPECT_EQ(st.action, action::start_tls);
  h.cmd("MAIL FROM:<a@example.org>");
  h.s->on_tls_established("TLSv1.3", "X");
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org>"), 503);  // pre-TLS EHLO forgotten
  h.cmd("EHLO c");
  EXPECT_EQ(h.code("STARTTLS"), 554);
  auto inj = h.s->on_starttls_pipelined();
  EXPECT_EQ(inj.replies.at(0).code, 554);
  EXPECT_EQ(inj.action, action::close);
  harness subs(listener_kind::submissions);
  subs.cmd("EHLO c");
  EXPECT_EQ(subs.code("STARTTLS"), 554);
}

TEST(session, error_limits_and_junk) {
  session_limits lim;
  lim.hard_errors = 5;
  harness h(listener_kind::mx, false, lim);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.code("XYZZY"), 500);
  auto last = h.cmd("XYZZY");
  ASSERT_EQ(last.replies.size(), 2u);
  EXPECT_EQ(last.replies[1].code, 421);
  EXPECT_EQ(last.action, action::close);
  EXPECT_EQ(h.cmd("NOOP").action, action::close);  // nothing after close
  session_limits jl;
  jl.junk_commands = 3;
  harness j(listener_kind::mx, false, jl);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(j.code("NOOP"), 250);
  EXPECT_EQ(j.code("NOOP"), 421);
}

TEST(session, hostile_verbs) {
  harness h;
  auto g = h.cmd("GET / HTTP/1.1");
  EXPECT_EQ(g.replies.at(0).code, 421);
  EXPECT_EQ(g.action, action::close);
  EXPECT_EQ(rule_of(g), "non_smtp_command");
  harness x;
  x.cmd("EHLO c");
  EXPECT_EQ(x.code("XCLIENT ADDR=1.2.3.4"), 550);
  EXPECT_EQ(x.code("VRFY alice"), 252);
  EXPECT_EQ(x.code("VRFY nobody"), 252);
  EXPECT_EQ(x.code("EXPN staff"), 502);
  EXPECT_EQ(x.s->on_line(line_status::bad_line_ending, "").replies.at(0).code, 500);
  auto q = x.cmd("QUIT");
  EXPECT_EQ(q.replies.at(0).code, 221);
  EXPECT_EQ(q.action, action::close);
  harness b;
  b.cmd("EHLO c");
  EXPECT_EQ(b.cmd("BDAT 10").action, action::close);  // CHUNKING not offered: no chunk read as commands
  harness t;
  auto to = t.s->on_timeout(false);
  EXPECT_EQ(to.replies.at(0).code, 421);
  EXPECT_EQ(to.replies[0].enhanced, "4.4.2");
}

TEST(session, mail_parameters) {
  session_limits lim;
  lim.message_size = 1000;
  lim.hard_errors = 100;
  harness h(listener_kind::mx, false, lim);
  h.cmd("EHLO c");
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org> SIZE=1001"), 552);
  for (const char* bad : {"SIZE=abc", "SIZE=-1", "SIZE=999999999999999999999", "BODY=9BIT", "AUTH=x+0Ay"})
    EXPECT_EQ(h.code(std::string("MAIL FROM:<a@example.org> ") + bad), 501) << bad;
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org> FOO=bar"), 555);
  EXPECT_EQ(h.code("MAIL FROM:<j\xc3\xb6rg@example.org>"), 553);
  EXPECT_EQ(h.code("MAIL FROM:<" + std::string(65, 'a') + "@example.org>"), 501);
  EXPECT_EQ(h.enh("MAIL FROM:<" + std::string(65, 'a') + "@example.org>"), "5.1.7");
  EXPECT_EQ(h.code("MAIL FROM:<a@example.org> SIZE=1000 AUTH=<>"), 250);
  EXPECT_EQ(h.code("RCPT TO:<alice@localhost> NOTIFY=SUCCESS"), 555);
  EXPECT_EQ(h.enh("RCPT TO:<" + std::string(65, 'a') + "@localhost>"), "5.1.3");
}

TEST(session, recipient_and_unknown_limits) {
  session_limits lim;
  lim.recipients = 2;
  lim.unknown_recipients = 3;
  lim.hard_errors = 100;
  harness h(listener_kind::mx, false, lim);
  h.cmd("EHLO c");
  h.cmd("MAIL FROM:<a@example.org>");
  EXPECT_EQ(h.code("RCPT TO:<alice@localhost>"), 250);
  EXPECT_EQ(h.code("RCPT TO:<bob@localhost>"), 250);
  EXPECT_EQ(h.code("RCPT TO:<alice@localhost>"), 452);
  EXPECT_EQ(h.s->current_transaction().recipients.size(), 2u);
  EXPECT_EQ(h.code("RSET"), 250);
  h.cmd("MAIL FROM:<a@example.org>");
  EXPECT_EQ(h.code("RCPT TO:<x1@localhost>"), 550);
  EXPECT_EQ(h.code("RCPT TO:<x2@localhost>"), 550);
  auto last = h.cmd("RCPT TO:<x3@localhost>");
  EXPECT_EQ(last.replies.back().code, 421);
  EXPECT_EQ(last.action, action::close);
}

TEST(session, received_header) {
  harness h(listener_kind::submission, true);
  h.cmd("EHLO weird\x01name");
  h.cmd("EHLO laptop.example");
  h.cmd("AUTH PLAIN " + plain("", "alice@localhost", "pw"));
  h.s->on_auth_result(true);
  h.cmd("MAIL FROM:<alice@localhost>");
  h.cmd("RCPT TO:<bob@localhost>");
  auto r = h.s->received_header("00112233445566778899", 1700000000);
  EXPECT_EQ(r.rfind("Received: from laptop.example ([192.0.2.1])\r\n\tby mx.test (mailfort) with ESMTPSA id 00112233445566778899", 0), 0u);
  EXPECT_NE(r.find("(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)"), std::string::npos);
  EXPECT_NE(r.find("for <bob@localhost>"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 2), "\r\n");
  for (std::size_t i = 0; i + 1 < r.size() - 2; ++i) {
    if (r[i] == '\r') {
      EXPECT_EQ(r.substr(i, 3), "\r\n\t");  // only folding line breaks
    }
  }
}
