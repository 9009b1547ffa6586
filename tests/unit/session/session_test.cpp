// tests/unit/session/session_test.cpp: the SMTP session state machine, rule by rule (capabilities, STARTTLS,
// AUTH, MAIL/RCPT/DATA, end of data, error accounting, Received header).
// SPDX-License-Identifier: MIT
//
// Each test names the bad-input (spec/bad-inputs.md) or RFC rule it pins down. The verb-by-state matrix is
// in session_matrix_test.cpp.
#include "session/session_fixture.hpp"
#include "smtp/data_reader.hpp"

#include <cerrno>
#include <string>
#include <vector>

namespace mailfort::smtp::test {
namespace {

std::vector<std::string> ehlo_lines(harness& h, std::string_view name = "client.example") {
  auto st = h.ehlo(name);
  EXPECT_EQ(st.replies.size(), 1u);
  if (st.replies.empty()) return {};
  EXPECT_EQ(st.replies[0].code, 250);
  return st.replies[0].lines;
}

bool has_line(const std::vector<std::string>& lines, std::string_view want) {
  return std::find(lines.begin(), lines.end(), want) != lines.end();
}

bool any_starts(const std::vector<std::string>& lines, std::string_view prefix) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

// EHLO, MAIL, RCPT (one local recipient), DATA: the session is now waiting for the message.
void into_data(harness& h, std::string_view mail = "MAIL FROM:<sender@example.net>",
               std::string_view rcpt = "RCPT TO:<alice@localhost>") {
  ASSERT_EQ(h.ehlo().replies.at(0).code, 250);
  ASSERT_TRUE(replied(h.send(mail), 250, "2.1.0"));
  ASSERT_TRUE(replied(h.send(rcpt), 250, "2.1.5"));
  ASSERT_TRUE(replied(h.send("DATA"), 354, "", action::begin_data));
  ASSERT_TRUE(h.s->in_data());
}

// Feed the raw DATA bytes to a real data_reader built from the session's limits, then end the data.
step end_data(harness& h, std::string_view bytes) {
  data_reader r(h.s->data_limits_for_message());
  std::string out;
  auto res = r.feed(bytes, out);
  EXPECT_EQ(res.status, data_status::done) << "the test body must end with CRLF.CRLF";
  EXPECT_EQ(res.consumed, bytes.size());
  return h.s->on_data_end(r, r.content_bytes());
}

// ---- greeting and EHLO ----------------------------------------------------------------------------------

TEST(session_greeting, banner_names_host_but_no_software) {
  harness h;
  ASSERT_EQ(h.greeting.replies.size(), 1u);
  EXPECT_TRUE(replied(h.greeting, 220, ""));
  EXPECT_EQ(format(h.greeting.replies[0]), "220 mx.test ESMTP\r\n");
}

TEST(session_ehlo, capabilities_per_listener_and_tls_state) {
  struct c {
    listener_kind kind;
    bool tls;
    bool starttls;
    bool auth;
  };
  for (auto x : {c{listener_kind::mx, false, true, false}, c{listener_kind::mx, true, false, false},
                 c{listener_kind::submission, false, true, false}, c{listener_kind::submission, true, false, true},
                 c{listener_kind::submissions, true, false, true}}) {
    SCOPED_TRACE(std::string(listener_name(x.kind)) + (x.tls ? "+tls" : ""));
    harness h(x.kind, x.tls);
    auto l = ehlo_lines(h);
    ASSERT_FALSE(l.empty());
    EXPECT_EQ(l[0], "mx.test");
    EXPECT_EQ(has_line(l, "STARTTLS"), x.starttls);
    EXPECT_EQ(has_line(l, "AUTH PLAIN LOGIN"), x.auth);
    if (!x.auth) {
      EXPECT_FALSE(any_starts(l, "AUTH"));
    }  // no AUTH in any form: plaintext passwords, MX brute force
    EXPECT_TRUE(has_line(l, "SIZE 26214400"));
    EXPECT_TRUE(has_line(l, "PIPELINING"));
    EXPECT_TRUE(has_line(l, "8BITMIME"));
    EXPECT_TRUE(has_line(l, "ENHANCEDSTATUSCODES"));
    EXPECT_FALSE(any_starts(l, "CHUNKING"));
    EXPECT_FALSE(any_starts(l, "DSN"));
    EXPECT_FALSE(any_starts(l, "XCLIENT"));
    EXPECT_FALSE(any_starts(l, "XFORWARD"));
  }
}

TEST(session_ehlo, no_auth_after_authentication_and_size_follows_limit) {
  options o{listener_kind::submission, true};
  o.limits.message_size = 12345;
  harness h(o);
  EXPECT_TRUE(has_line(ehlo_lines(h), "SIZE 12345"));
  h.login();
  auto l = ehlo_lines(h);
  EXPECT_FALSE(any_starts(l, "AUTH"));             // RFC 4954 4: no second AUTH
  EXPECT_EQ(h.s->auth_user(), "alice@localhost");  // a new EHLO does not log out
}

TEST(session_ehlo, no_starttls_without_certificate) {
  options o;
  o.tls_available = false;
  harness h(o);
  EXPECT_FALSE(has_line(ehlo_lines(h), "STARTTLS"));
  EXPECT_TRUE(rejected(h.send("STARTTLS"), 502, "5.5.1", "bad_sequence"));
}

TEST(session_ehlo, helo_is_one_line_without_extensions) {
  harness h(listener_kind::submission, true);
  auto st = h.send("HELO client.example");
  ASSERT_TRUE(replied(st, 250, ""));
  EXPECT_EQ(st.replies[0].lines, std::vector<std::string>{"mx.test"});
  EXPECT_EQ(h.s->helo(), "client.example");
}

TEST(session_ehlo, argument_checks) {  // bad-input 38
  options o;
  o.limits.hard_errors = 100;
  harness h(o);
  EXPECT_TRUE(rejected(h.send("EHLO"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("EHLO   "), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("HELO"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.ehlo(std::string(256, 'a')), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.ehlo("bad\x01name"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.ehlo("bad\x7fname"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.ehlo("caf\xc3\xa9.example"), 501, "5.5.4", "syntax"));
  EXPECT_EQ(h.s->helo(), "");
  EXPECT_TRUE(replied(h.ehlo(std::string(255, 'a')), 250, ""));
  EXPECT_TRUE(replied(h.ehlo("[192.0.2.1]"), 250, ""));
  EXPECT_EQ(h.s->helo(), "[192.0.2.1]");
}

TEST(session_ehlo, ehlo_in_a_transaction_resets_it) {  // RFC 5321 4.1.4
  harness h;
  h.ehlo();
  h.send("MAIL FROM:<a@example.net>");
  h.send("RCPT TO:<alice@localhost>");
  ASSERT_TRUE(h.s->current_transaction().active);
  h.ehlo();
  EXPECT_FALSE(h.s->current_transaction().active);
  EXPECT_TRUE(rejected(h.send("RCPT TO:<alice@localhost>"), 503, "5.5.1", "bad_sequence"));
}

// ---- STARTTLS -------------------------------------------------------------------------------------------

TEST(session_starttls, argument_sequence_and_action) {  // bad-input 11
  harness h;
  EXPECT_TRUE(rejected(h.send("STARTTLS"), 503, "5.5.1", "bad_sequence"));  // before EHLO
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("STARTTLS now"), 501, "5.5.4", "syntax"));
  auto st = h.send("STARTTLS");
  EXPECT_TRUE(replied(st, 220, "2.0.0", action::start_tls));
  EXPECT_FALSE(has_reject(st));
  EXPECT_FALSE(h.s->tls_active());  // only the I/O layer's handshake makes it so
  h.s->on_tls_established("TLSv1.3", "TLS_AES_128_GCM_SHA256");
  EXPECT_TRUE(h.s->tls_active());
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("STARTTLS"), 554, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(rejected(h.send("STARTTLS x"), 501, "5.5.4", "syntax"));
}

TEST(session_starttls, handshake_forgets_everything_before) {  // bad-input 12, RFC 3207 4.2
  harness h;
  h.ehlo("pre-tls.example");
  ASSERT_TRUE(replied(h.send("MAIL FROM:<a@example.net>"), 250, "2.1.0"));
  ASSERT_TRUE(replied(h.send("RCPT TO:<alice@localhost>"), 250, "2.1.5"));
  h.starttls();
  EXPECT_EQ(h.s->helo(), "");
  EXPECT_FALSE(h.s->current_transaction().active);
  EXPECT_TRUE(h.s->current_transaction().recipients.empty());
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net>"), 503, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(rejected(h.send("RCPT TO:<alice@localhost>"), 503, "5.5.1", "bad_sequence"));
  auto l = ehlo_lines(h, "post-tls.example");
  EXPECT_FALSE(has_line(l, "STARTTLS"));
  EXPECT_TRUE(replied(h.send("MAIL FROM:<a@example.net>"), 250, "2.1.0"));
}

TEST(session_starttls, submission_gets_auth_only_after_tls) {
  harness h(listener_kind::submission);
  EXPECT_FALSE(any_starts(ehlo_lines(h), "AUTH"));
  h.starttls();
  EXPECT_TRUE(rejected(h.send("AUTH PLAIN " + plain_blob("", "alice@localhost", "pw")), 503, "5.5.1",
                       "bad_sequence"));  // EHLO needed again after TLS
  EXPECT_TRUE(has_line(ehlo_lines(h), "AUTH PLAIN LOGIN"));
  h.login();
  EXPECT_TRUE(replied(h.send("MAIL FROM:<alice@localhost>"), 250, "2.1.0"));
}

TEST(session_starttls, pipelined_command_closes) {  // bad-input 9
  harness h;
  h.ehlo();
  ASSERT_EQ(h.send("STARTTLS").action, action::start_tls);
  auto st = h.s->on_starttls_pipelined();
  EXPECT_TRUE(rejected(st, 554, "5.5.0", "starttls_pipelining", action::close));
  EXPECT_TRUE(st.count_error);
  auto after = h.send("RSET");
  EXPECT_TRUE(after.replies.empty());
  EXPECT_EQ(after.action, action::close);
}

TEST(session_starttls, implicit_tls_listener_refuses_starttls) {
  harness h(listener_kind::submissions);
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("STARTTLS"), 554, "5.5.1", "bad_sequence"));
}

// ---- AUTH -----------------------------------------------------------------------------------------------

TEST(session_auth, never_on_mx) {  // bad-input 15
  for (bool tls : {false, true}) {
    harness h(listener_kind::mx, tls);
    h.ehlo();
    EXPECT_TRUE(rejected(h.send("AUTH LOGIN"), 502, "5.5.1", "auth_not_offered"));
    auto st = h.send("AUTH PLAIN " + plain_blob("", "alice@localhost", "pw"));
    EXPECT_TRUE(rejected(st, 502, "5.5.1", "auth_not_offered"));
    EXPECT_TRUE(h.s->pending_auth().password.empty());
  }
}

TEST(session_auth, before_tls_credentials_are_never_looked_at) {  // bad-input 14
  harness h(listener_kind::submission);
  h.ehlo();
  auto st = h.send("AUTH PLAIN " + plain_blob("", "alice@localhost", "secret"));
  EXPECT_TRUE(rejected(st, 530, "5.7.0", "auth_before_tls"));
  EXPECT_EQ(h.s->pending_auth().password, "");
  EXPECT_EQ(h.s->pending_auth().authcid, "");
  EXPECT_TRUE(rejected(h.send("AUTH LOGIN"), 530, "5.7.0", "auth_before_tls"));
  EXPECT_FALSE(h.s->in_sasl());
}

TEST(session_auth, plain_with_initial_response) {
  harness h(listener_kind::submission, true);
  h.ehlo();
  auto st = h.send("AUTH PLAIN " + plain_blob("", "alice@localhost", "s3cret pass"));
  EXPECT_TRUE(st.replies.empty()) << describe(st);
  EXPECT_EQ(st.action, action::verify_auth);
  EXPECT_FALSE(has_reject(st));
  const auto& c = h.s->pending_auth();
  EXPECT_EQ(c.mechanism, "PLAIN");
  EXPECT_EQ(c.authzid, "");
  EXPECT_EQ(c.authcid, "alice@localhost");
  EXPECT_EQ(c.password, "s3cret pass");
  // Mechanism names are case-insensitive (RFC 4954 4).
  harness g(listener_kind::submissions);
  g.ehlo();
  EXPECT_EQ(g.send("auth plain " + plain_blob("", "bob@localhost", "x")).action, action::verify_auth);
  EXPECT_EQ(g.s->pending_auth().authcid, "bob@localhost");
}

TEST(session_auth, plain_without_initial_response) {
  harness h(listener_kind::submissions);
  h.ehlo();
  auto c = h.send("AUTH PLAIN");
  EXPECT_TRUE(replied(c, 334, ""));
  EXPECT_EQ(format(c.replies.at(0)), "334 \r\n");
  EXPECT_TRUE(h.s->in_sasl());
  auto st = h.send(plain_blob("alice@localhost", "alice@localhost", "pw"));
  EXPECT_TRUE(st.replies.empty());
  EXPECT_EQ(st.action, action::verify_auth);
  EXPECT_FALSE(h.s->in_sasl());
  EXPECT_EQ(h.s->pending_auth().authzid, "alice@localhost");
  EXPECT_EQ(h.s->pending_auth().password, "pw");
  EXPECT_TRUE(replied(h.s->on_auth_result(std::string("alice@localhost")), 235, "2.7.0"));
}

TEST(session_auth, login_two_steps) {
  harness h(listener_kind::submission, true);
  h.ehlo();
  auto u = h.send("AUTH LOGIN");
  ASSERT_TRUE(replied(u, 334, ""));
  EXPECT_EQ(u.replies[0].lines, std::vector<std::string>{"VXNlcm5hbWU6"});  // "Username:"
  auto p = h.send(sasl::base64_encode("alice@localhost"));
  ASSERT_TRUE(replied(p, 334, ""));
  EXPECT_EQ(p.replies[0].lines, std::vector<std::string>{"UGFzc3dvcmQ6"});  // "Password:"
  EXPECT_TRUE(h.s->in_sasl());
  auto v = h.send(sasl::base64_encode("hunter2"));
  EXPECT_TRUE(v.replies.empty());
  EXPECT_EQ(v.action, action::verify_auth);
  EXPECT_EQ(h.s->pending_auth().mechanism, "LOGIN");
  EXPECT_EQ(h.s->pending_auth().authcid, "alice@localhost");
  EXPECT_EQ(h.s->pending_auth().password, "hunter2");
  auto ok = h.s->on_auth_result(std::string("alice@localhost"));
  EXPECT_TRUE(replied(ok, 235, "2.7.0"));
  EXPECT_EQ(h.s->auth_user(), "alice@localhost");
  // The password is forgotten once checked.
  EXPECT_EQ(h.s->pending_auth().password, "");
}

TEST(session_auth, login_with_initial_user_name) {
  harness h(listener_kind::submission, true);
  h.ehlo();
  auto p = h.send("AUTH LOGIN " + sasl::base64_encode("bob@localhost"));
  ASSERT_TRUE(replied(p, 334, ""));
  EXPECT_EQ(p.replies[0].lines.at(0), "UGFzc3dvcmQ6");
  EXPECT_EQ(h.send(sasl::base64_encode("pw")).action, action::verify_auth);
  EXPECT_EQ(h.s->pending_auth().authcid, "bob@localhost");
}

TEST(session_auth, cancel_with_star) {  // bad-input 18, RFC 4954 4
  for (const char* mech : {"AUTH PLAIN", "AUTH LOGIN"}) {
    harness h(listener_kind::submission, true);
    h.ehlo();
    ASSERT_TRUE(replied(h.send(mech), 334, ""));
    auto st = h.send("*");
    ASSERT_FALSE(st.replies.empty());
    EXPECT_EQ(st.replies[0].code, 501);
    EXPECT_EQ(rule_of(st), "auth_cancelled");
    EXPECT_FALSE(h.s->in_sasl());
    EXPECT_EQ(h.send("NOOP").replies.at(0).code, 250);
  }
  // "*" as the password step of LOGIN.
  harness h(listener_kind::submission, true);
  h.ehlo();
  h.send("AUTH LOGIN");
  h.send(sasl::base64_encode("alice@localhost"));
  auto st = h.send("*");
  EXPECT_EQ(st.replies.at(0).code, 501);
  EXPECT_NE(st.action, action::verify_auth);
  EXPECT_EQ(h.s->pending_auth().authcid, "");
}

TEST(session_auth, bad_base64_and_bad_blobs) {  // bad-input 18, 20
  harness h(listener_kind::submission, true);
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("AUTH PLAIN %%%"), 501, "5.5.2", "syntax"));
  EXPECT_TRUE(rejected(h.send("AUTH PLAIN YWJj"), 501, "5.5.2", "syntax"));  // "abc": no NUL
  EXPECT_TRUE(rejected(h.send("AUTH PLAIN " + sasl::base64_encode(std::string("a\0b", 3))), 501, "5.5.2", "syntax"));
  EXPECT_TRUE(
      rejected(h.send("AUTH PLAIN " + sasl::base64_encode(std::string("a\0b\0c\0d", 7))), 501, "5.5.2", "syntax"));
  EXPECT_TRUE(rejected(h.send("AUTH PLAIN " + plain_blob("", "", "pw")), 501, "5.5.2", "syntax"));  // empty authcid
  EXPECT_TRUE(rejected(h.send("AUTH PLAIN ="), 501, "5.5.2", "syntax"));  // "=": empty response
  ASSERT_TRUE(replied(h.send("AUTH PLAIN"), 334, ""));
  EXPECT_TRUE(rejected(h.send("not base64!"), 501, "5.5.2", "syntax"));
  ASSERT_TRUE(replied(h.send("AUTH LOGIN"), 334, ""));
  EXPECT_TRUE(rejected(h.send("%%%="), 501, "5.5.2", "syntax"));
  ASSERT_TRUE(replied(h.send("AUTH LOGIN"), 334, ""));
  EXPECT_TRUE(rejected(h.send(sasl::base64_encode(std::string("a\0b", 3))), 501, "5.5.2", "syntax"));  // NUL in name
  ASSERT_TRUE(replied(h.send("AUTH LOGIN"), 334, ""));
  ASSERT_TRUE(replied(h.send(sasl::base64_encode("alice@localhost")), 334, ""));
  EXPECT_TRUE(rejected(h.send("@@@@"), 501, "5.5.2", "syntax"));
  EXPECT_FALSE(h.s->in_sasl());
  EXPECT_EQ(h.s->auth_user(), "");
  EXPECT_EQ(h.send("NOOP").replies.at(0).code, 250);  // the session stays usable
}

TEST(session_auth, unknown_or_missing_mechanism) {  // bad-input 18
  harness h(listener_kind::submission, true);
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("AUTH FOO"), 504, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("AUTH CRAM-MD5"), 504, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("AUTH"), 501, "5.5.4", "syntax"));
  EXPECT_FALSE(h.s->in_sasl());
}

TEST(session_auth, success_then_sender_ownership) {  // bad-input 21
  harness h(listener_kind::submission, true);
  h.ehlo();
  ASSERT_EQ(h.send("AUTH PLAIN " + plain_blob("", "Alice@LocalHost", "pw")).action, action::verify_auth);
  auto ok = h.s->on_auth_result(std::string("alice@localhost"));
  EXPECT_TRUE(replied(ok, 235, "2.7.0"));
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].name, "auth");
  EXPECT_EQ(ok.events[0].fields.value("result", ""), "success");
  EXPECT_EQ(ok.events[0].fields.dump().find("pw"), std::string::npos);
  EXPECT_EQ(h.s->auth_user(), "alice@localhost");
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<bob@localhost>"), 550, "5.7.1", "sender_not_owned"));
  EXPECT_TRUE(replied(h.send("MAIL FROM:<ALICE@localhost>"), 250, "2.1.0"));
  EXPECT_TRUE(replied(h.send("RSET"), 250, "2.0.0"));
  // The null sender is the server's to use (bounces), not a user's: refused unless relay.allow_null_sender.
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<>"), 550, "5.7.1", "null_sender_refused"));
}

TEST(session_auth, null_sender_on_submission_when_allowed) {
  options o;
  o.kind = listener_kind::submission;
  o.tls = true;
  o.allow_null_sender = true;
  harness h(o);
  h.ehlo();
  h.login();
  EXPECT_TRUE(replied(h.send("MAIL FROM:<>"), 250, "2.1.0"));
}

TEST(session_auth, identity_is_the_canonical_name_the_database_matched) {  // issue 15 item 3
  harness h(listener_kind::submission, true);
  h.ehlo();
  // The login as typed has whitespace and capitals; the database matched alice@localhost: that is the identity
  // for limits, holds and logs, so the padded name is no separate account.
  ASSERT_EQ(h.send("AUTH PLAIN " + plain_blob("", " ALICE@localhost\t", "pw")).action, action::verify_auth);
  auto ok = h.s->on_auth_result(std::string("alice@localhost"));
  EXPECT_TRUE(replied(ok, 235, "2.7.0"));
  EXPECT_EQ(h.s->auth_user(), "alice@localhost");
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].fields.value("user", ""), "alice@localhost");
  EXPECT_EQ(ok.events[0].fields.value("login", ""), " ALICE@localhost\\x09");
  EXPECT_TRUE(replied(h.send("MAIL FROM:<alice@localhost>"), 250, "2.1.0"));
}

TEST(session_auth, failure_is_535_and_never_logs_the_password) {  // bad-input 17
  harness h(listener_kind::submission, true);
  h.ehlo();
  ASSERT_EQ(h.send("AUTH PLAIN " + plain_blob("", "alice@localhost", "TopSecret42")).action, action::verify_auth);
  auto bad = h.s->on_auth_result(std::nullopt);
  EXPECT_TRUE(rejected(bad, 535, "5.7.8", "auth_failed"));
  EXPECT_TRUE(bad.count_error);
  for (const auto& e : bad.events) EXPECT_EQ(e.fields.dump().find("TopSecret42"), std::string::npos) << e.name;
  EXPECT_EQ(h.s->auth_user(), "");
  EXPECT_EQ(h.s->pending_auth().password, "");
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<alice@localhost>"), 530, "5.7.0", "auth_required"));
  // A retry is allowed.
  EXPECT_EQ(h.send("AUTH PLAIN " + plain_blob("", "alice@localhost", "right")).action, action::verify_auth);
  EXPECT_TRUE(replied(h.s->on_auth_result(std::string("alice@localhost")), 235, "2.7.0"));
}

TEST(session_auth, authzid_other_than_authcid_is_refused) {  // bad-input 20
  harness h(listener_kind::submission, true);
  h.ehlo();
  ASSERT_EQ(h.send("AUTH PLAIN " + plain_blob("admin@localhost", "alice@localhost", "pw")).action, action::verify_auth);
  auto st = h.s->on_auth_result(std::string("alice@localhost"));  // the password was right, the identity switch is not
  EXPECT_TRUE(rejected(st, 535, "5.7.8", "auth_failed"));
  EXPECT_EQ(h.s->auth_user(), "");
  // authzid equal to authcid (any case) is fine.
  ASSERT_EQ(h.send("AUTH PLAIN " + plain_blob("ALICE@localhost", "alice@localhost", "pw")).action, action::verify_auth);
  EXPECT_TRUE(replied(h.s->on_auth_result(std::string("alice@localhost")), 235, "2.7.0"));
}

TEST(session_auth, second_auth_and_auth_in_transaction) {  // bad-input 19
  harness h(listener_kind::submission, true);
  h.ehlo();
  h.login();
  EXPECT_TRUE(rejected(h.send("AUTH PLAIN " + plain_blob("", "bob@localhost", "pw")), 503, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(rejected(h.send("AUTH LOGIN"), 503, "5.5.1", "bad_sequence"));
  EXPECT_EQ(h.s->auth_user(), "alice@localhost");
  // On submission a transaction needs a login, so "already authenticated" answers first; still 503 5.5.1.
  ASSERT_TRUE(replied(h.send("MAIL FROM:<alice@localhost>"), 250, "2.1.0"));
  EXPECT_TRUE(rejected(h.send("AUTH LOGIN"), 503, "5.5.1", "bad_sequence"));
}

TEST(session_auth, rate_limit_closes) {  // bad-input 17: the guard decides, the session obeys
  harness h(listener_kind::submission, true);
  h.env.auth_limit = "auth_failures_per_ip";
  h.ehlo();
  auto st = h.send("AUTH PLAIN " + plain_blob("", "alice@localhost", "pw"));
  EXPECT_TRUE(rejected(st, 421, "4.7.0", "auth_failures_per_ip", action::close));
  EXPECT_EQ(h.s->pending_auth().password, "");
}

TEST(session_auth, sasl_framing_errors) {  // bad-input 18
  {
    harness h(listener_kind::submission, true);
    h.ehlo();
    h.send("AUTH PLAIN");
    auto st = h.s->on_line(line_status::too_long, "");
    EXPECT_TRUE(rejected(st, 500, "5.5.6", "command_too_long"));
    EXPECT_FALSE(h.s->in_sasl());
    EXPECT_EQ(h.send("NOOP").replies.at(0).code, 250);
  }
  {
    harness h(listener_kind::submission, true);
    h.ehlo();
    h.send("AUTH LOGIN");
    EXPECT_TRUE(rejected(h.s->on_line(line_status::bad_line_ending, ""), 500, "5.5.2", "syntax"));
    EXPECT_FALSE(h.s->in_sasl());
  }
  {
    harness h(listener_kind::submission, true);
    h.ehlo();
    h.send("AUTH LOGIN");
    EXPECT_TRUE(replied(h.s->on_line(line_status::overflow, ""), 421, "4.7.0", action::close));
  }
}

TEST(session_auth, long_auth_line_is_not_a_long_command) {  // RFC 4954 4: 12288 octets
  harness h(listener_kind::submission, true);
  h.ehlo();
  std::string pw(1400, 'p');
  std::string line = "AUTH PLAIN " + plain_blob("", "alice@localhost", pw);
  ASSERT_GT(line.size(), 1900u);
  auto st = h.send(line);
  EXPECT_NE(rule_of(st), "command_too_long");
  EXPECT_EQ(st.action, action::verify_auth) << describe(st);
  EXPECT_EQ(h.s->pending_auth().password, pw);
  // 2000 'A's is valid base64 of NUL-free garbage: refused as a PLAIN blob, not for its length.
  harness g(listener_kind::submission, true);
  g.ehlo();
  auto r = g.send("AUTH PLAIN " + std::string(2000, 'A'));
  EXPECT_NE(rule_of(r), "command_too_long");
  // A SASL response line of 2000 characters is also fine.
  harness k(listener_kind::submission, true);
  k.ehlo();
  k.send("AUTH PLAIN");
  EXPECT_EQ(k.send(plain_blob("", "alice@localhost", pw)).action, action::verify_auth);
}

// ---- MAIL / RCPT / DATA ---------------------------------------------------------------------------------

TEST(session_mail, submission_requires_auth) {  // bad-input 16
  for (auto kind : {listener_kind::submission, listener_kind::submissions}) {
    harness h(kind, true);
    h.ehlo();
    EXPECT_TRUE(rejected(h.send("MAIL FROM:<alice@localhost>"), 530, "5.7.0", "auth_required"));
    EXPECT_FALSE(h.s->current_transaction().active);
  }
  harness p(listener_kind::submission);
  p.ehlo();
  EXPECT_TRUE(rejected(p.send("MAIL FROM:<alice@localhost>"), 530, "5.7.0", "auth_required"));
}

TEST(session_mail, sequence_errors) {  // bad-input 38
  harness h;
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net>"), 503, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(rejected(h.send("RCPT TO:<alice@localhost>"), 503, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(rejected(h.send("DATA"), 503, "5.5.1", "bad_sequence"));
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("RCPT TO:<alice@localhost>"), 503, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(rejected(h.send("DATA"), 503, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(replied(h.send("MAIL FROM:<a@example.net>"), 250, "2.1.0"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<b@example.net>"), 503, "5.5.1", "bad_sequence"));
  EXPECT_EQ(h.s->current_transaction().sender, "a@example.net");
  EXPECT_TRUE(rejected(h.send("DATA"), 554, "5.5.1", "bad_sequence"));
  EXPECT_TRUE(rejected(h.send("RCPT TO:<nobody@localhost>"), 550, "5.1.1", "unknown_user"));
  EXPECT_TRUE(rejected(h.send("DATA"), 554, "5.5.1", "bad_sequence"));  // all recipients were rejected
  EXPECT_TRUE(rejected(h.send("DATA now"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("RSET everything"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(h.s->current_transaction().active);
  EXPECT_TRUE(replied(h.send("RSET"), 250, "2.0.0"));
  EXPECT_FALSE(h.s->current_transaction().active);
  EXPECT_TRUE(rejected(h.send("RCPT TO:<alice@localhost>"), 503, "5.5.1", "bad_sequence"));
}

TEST(session_mail, null_sender_and_transaction_fields) {  // bad-input 23
  harness h;
  h.ehlo();
  ASSERT_TRUE(replied(h.send("MAIL FROM:<> BODY=8BITMIME SIZE=1234 SMTPUTF8"), 250, "2.1.0"));
  const auto& tx = h.s->current_transaction();
  EXPECT_TRUE(tx.active);
  EXPECT_EQ(tx.sender, "");
  EXPECT_EQ(tx.declared_size, 1234u);
  EXPECT_TRUE(tx.eight_bit_mime);
  EXPECT_TRUE(tx.smtputf8);
  h.send("RSET");
  ASSERT_TRUE(replied(h.send("MAIL FROM:<a@example.net> BODY=7BIT"), 250, "2.1.0"));
  EXPECT_FALSE(h.s->current_transaction().eight_bit_mime);
}

TEST(session_mail, size_parameter) {  // bad-input 30, RFC 1870
  options o;
  o.limits.message_size = 1000;
  o.limits.hard_errors = 100;
  harness h(o);
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> SIZE=1001"), 552, "5.3.4", "message_too_large"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> SIZE=999999999999"), 552, "5.3.4", "message_too_large"));
  for (const char* bad : {"SIZE=abc", "SIZE=-1", "SIZE=", "SIZE", "SIZE=1e3", "SIZE=+5", "SIZE=18446744073709551616",
                          "SIZE=99999999999999999999", "SIZE=100000000000000000000"}) {
    EXPECT_TRUE(rejected(h.send(std::string("MAIL FROM:<a@example.net> ") + bad), 501, "5.5.4", "syntax")) << bad;
  }
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> SIZE=1 SIZE=2"), 501, "5.5.4", "syntax"));
  EXPECT_FALSE(h.s->current_transaction().active);
  EXPECT_TRUE(replied(h.send("MAIL FROM:<a@example.net> size=1000"), 250, "2.1.0"));  // keywords are case-insensitive
  EXPECT_EQ(h.s->current_transaction().declared_size, 1000u);
}

TEST(session_mail, other_parameters) {  // bad-input 32, 33
  options o;
  o.limits.hard_errors = 100;
  harness h(o);
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> FOO=bar"), 555, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> RET=HDRS"), 555, "5.5.4", "syntax"));  // no DSN
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> ENVID=x"), 555, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> BODY=9BIT"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> BODY=7BIT BODY=8BITMIME"), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> SMTPUTF8=yes"), 501, "5.5.4", "syntax"));
  // xtext that decodes to a control byte (Exim CVE-2020-28021 shape) or is malformed.
  for (const char* bad : {"AUTH=x+0Ay", "AUTH=x+0D+0A", "AUTH=x+00", "AUTH=x+2", "AUTH=x+zz", "AUTH=x+0a"}) {
    EXPECT_TRUE(rejected(h.send(std::string("MAIL FROM:<a@example.net> ") + bad), 501, "5.5.4", "syntax")) << bad;
  }
  // A 10 kB value makes the whole line too long first (500 5.5.2, bad-input 26)...
  EXPECT_TRUE(
      rejected(h.send("MAIL FROM:<a@example.net> AUTH=" + std::string(10000, 'a')), 500, "5.5.2", "command_too_long"));
  EXPECT_TRUE(replied(h.send("MAIL FROM:<a@example.net> AUTH=<>"), 250, "2.1.0"));
  h.send("RSET");
  EXPECT_TRUE(replied(h.send("MAIL FROM:<a@example.net> AUTH=a+2Bb@example.net"), 250, "2.1.0"));
  // RCPT takes no parameters at all (no DSN): NOTIFY/ORCPT are unknown.
  EXPECT_TRUE(
      rejected(h.send("RCPT TO:<alice@localhost> NOTIFY=SUCCESS ORCPT=rfc822;x+0Ay@z"), 555, "5.5.4", "syntax"));
  EXPECT_TRUE(h.s->current_transaction().recipients.empty());
}

TEST(session_mail, long_auth_value_is_refused_even_with_a_long_line_limit) {  // bad-input 32
  // ...and with a line limit that lets it through, the parameter check itself refuses it.
  options o;
  o.limits.command_line = 20000;
  harness h(o);
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> AUTH=" + std::string(600, 'a')), 501, "5.5.4", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@example.net> AUTH=" + std::string(10000, 'a')), 501, "5.5.4", "syntax"));
  EXPECT_FALSE(h.s->current_transaction().active);
}

TEST(session_mail, address_syntax_and_lengths) {  // bad-input 24, 31, 34, 35
  options o;
  o.limits.hard_errors = 100;
  harness h(o);
  h.ehlo();
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<" + std::string(65, 'a') + "@example.net>"), 501, "5.1.7", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<a@" + std::string(250, 'b') + ".example>"), 501, "5.1.7", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:a@example.net"), 501, "5.1.7", "syntax"));  // no angle brackets
  EXPECT_TRUE(rejected(h.send("MAIL TO:<a@example.net>"), 501, "5.1.7", "syntax"));
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<;sleep 66;>"), 501, "5.1.7", "syntax"));
  auto nul = h.send(std::string("MAIL FROM:<a\0b@example.net>", 27));
  ASSERT_FALSE(nul.replies.empty());
  EXPECT_TRUE(nul.replies[0].code == 500 || nul.replies[0].code == 501) << describe(nul);
  EXPECT_TRUE(rejected(h.send("MAIL FROM:<j\xc3\xb6rg@example.net>"), 553, "5.6.7", "needs_smtputf8"));
  auto bad_utf8 = h.send("MAIL FROM:<j\xc3\x28rg@example.net> SMTPUTF8");
  ASSERT_FALSE(bad_utf8.replies.empty());
  EXPECT_TRUE(bad_utf8.replies[0].code == 501 || bad_utf8.replies[0].code == 553) << describe(bad_utf8);
  EXPECT_FALSE(h.s->current_transaction().active);
  ASSERT_TRUE(replied(h.send("MAIL FROM:<j\xc3\xb6rg@example.net> SMTPUTF8"), 250, "2.1.0"));
  EXPECT_TRUE(rejected(h.send("RCPT TO:<" + std::string(65, 'a') + "@localhost>"), 501, "5.1.3", "syntax"));
  EXPECT_TRUE(rejected(h.send("RCPT TO:<a@" + std::string(256, 'b') + ">"), 501, "5.1.3", "syntax"));
  EXPECT_TRUE(rejected(h.send("RCPT TO:alice@localhost"), 501, "5.1.3", "syntax"));
  EXPECT_TRUE(rejected(h.send("RCPT TO:<>"), 501, "5.1.3", "syntax"));
  for (const char* shell : {"RCPT TO:<$(reboot)@localhost>", "RCPT TO:<a|b@localhost>", "RCPT TO:<;sleep 66;>"}) {
    auto st = h.send(shell);
    ASSERT_FALSE(st.replies.empty()) << shell;
    EXPECT_GE(st.replies[0].code, 500) << shell << ": " << describe(st);
  }
  EXPECT_TRUE(h.s->current_transaction().recipients.empty());
}

TEST(session_mail, smtputf8_recipient_needs_declaration) {  // bad-input 34
  harness h;
  h.ehlo();
  h.send("MAIL FROM:<a@example.net>");
  EXPECT_TRUE(rejected(h.send("RCPT TO:<j\xc3\xb6rg@localhost>"), 553, "5.6.7", "needs_smtputf8"));
}

TEST(session_rcpt, local_recipients_postmaster_and_source_route) {  // bad-input 23, RFC 5321 4.5.1 / App. C
  harness h;
  h.ehlo();
  h.send("MAIL FROM:<a@example.net>");
  EXPECT_TRUE(replied(h.send("RCPT TO:<alice@localhost>"), 250, "2.1.5"));
  EXPECT_TRUE(replied(h.send("RCPT TO:<BOB@LocalHost>"), 250, "2.1.5"));
  EXPECT_TRUE(replied(h.send("RCPT TO:<@relay.a,@relay.b:carol@example.org>"), 250, "2.1.5"));
  EXPECT_TRUE(replied(h.send("RCPT TO:<postmaster>"), 250, "2.1.5"));
  EXPECT_TRUE(replied(h.send("RCPT TO:<PostMaster>"), 250, "2.1.5"));
  EXPECT_TRUE(replied(h.send("RCPT TO:<postmaster@example.org>"), 250, "2.1.5"));  // no such user, still accepted
  EXPECT_TRUE(replied(h.send("RCPT TO: <alice@localhost>"), 250, "2.1.5"));        // space after colon tolerated
  const auto& r = h.s->current_transaction().recipients;
  // Duplicates (postmaster twice, alice twice) are acknowledged but stored once: one copy each.
  EXPECT_EQ(r, (std::vector<std::string>{"alice@localhost", "bob@localhost", "carol@example.org",
                                         "postmaster@localhost", "postmaster@example.org"}));
}

TEST(session_rcpt, relay_tricks_on_mx) {  // bad-input 22
  options o;
  o.limits.hard_errors = 100;
  harness h(o);
  h.ehlo();
  h.send("MAIL FROM:<spammer@example.net>");
  for (const char* to : {"<victim@example.net>", "<victim%example.net@localhost>", "<\"victim@example.net\"@localhost>",
                         "<@localhost:victim@example.net>", "<example.net!victim@localhost>", "<victim@[8.8.8.8]>",
                         "<victim@[IPv6:2001:db8::1]>", "<victim@example.net.>", "<alice@localhost.>",
                         "<victim@localhost@example.net>", "<VICTIM@EXAMPLE.NET>"}) {
    SCOPED_TRACE(to);
    auto st = h.send(std::string("RCPT TO:") + to);
    ASSERT_EQ(st.replies.size(), 1u) << describe(st);
    EXPECT_TRUE(st.replies[0].code == 554 || st.replies[0].code == 550) << describe(st);
    EXPECT_EQ(st.replies[0].enhanced, "5.7.1");
    EXPECT_EQ(rule_of(st), "relay_denied");
  }
  // The plain remote case on MX is 554 (Postfix's wording).
  EXPECT_TRUE(rejected(h.send("RCPT TO:<victim@example.net>"), 554, "5.7.1", "relay_denied"));
  EXPECT_TRUE(h.s->current_transaction().recipients.empty());
}

// bad-input 22 lists <"victim@example.net"> (no domain at all) with 554/550 5.7.1. A path without a domain
// is a syntax error by RFC 5321 4.1.2, so 501 5.1.3 is an equally safe answer: either way it is refused.
TEST(session_rcpt, quoted_at_without_domain_is_refused) {
  harness h;
  h.ehlo();
  h.send("MAIL FROM:<spammer@example.net>");
  auto st = h.send("RCPT TO:<\"victim@example.net\">");
  ASSERT_FALSE(st.replies.empty());
  const auto& r = st.replies[0];
  EXPECT_TRUE(((r.code == 554 || r.code == 550) && r.enhanced == "5.7.1") || (r.code == 501 && r.enhanced == "5.1.3"))
      << describe(st);
  EXPECT_TRUE(h.s->current_transaction().recipients.empty());
}

TEST(session_rcpt, unknown_users_then_close) {  // bad-input 37
  options o;
  o.limits.unknown_recipients = 3;
  o.limits.hard_errors = 100;
  harness h(o);
  h.ehlo();
  h.send("MAIL FROM:<a@example.net>");
  auto first = h.send("RCPT TO:<nobody@localhost>");
  EXPECT_TRUE(rejected(first, 550, "5.1.1", "unknown_user"));
  EXPECT_EQ(first.events.at(0).fields.value("to", ""), "nobody@localhost");
  EXPECT_TRUE(rejected(h.send("RCPT TO:<\"quoted user\"@localhost>"), 550, "5.1.1", "unknown_user"));
  auto last = h.send("RCPT TO:<x3@example.org>");
  ASSERT_EQ(last.replies.size(), 2u) << describe(last);
  EXPECT_EQ(last.replies[0].code, 550);
  EXPECT_EQ(last.replies[1].code, 421);
  EXPECT_EQ(last.replies[1].enhanced, "4.7.0");
  EXPECT_EQ(last.action, action::close);
  EXPECT_EQ(h.send("RCPT TO:<alice@localhost>").action, action::close);
}

TEST(session_rcpt, recipient_limit_keeps_earlier_ones) {  // bad-input 36, RFC 5321 4.5.3.1.8
  options o;
  o.limits.recipients = 3;
  harness h(o);
  h.ehlo();
  h.send("MAIL FROM:<a@example.net>");
  for (const char* to : {"alice@localhost", "bob@localhost", "postmaster"})
    EXPECT_TRUE(replied(h.send(std::string("RCPT TO:<") + to + ">"), 250, "2.1.5"));
  auto over = h.send("RCPT TO:<alice@example.net>");
  EXPECT_TRUE(rejected(over, 452, "4.5.3", "too_many_recipients"));
  EXPECT_EQ(h.s->current_transaction().recipients.size(), 3u);
  EXPECT_TRUE(replied(h.send("DATA"), 354, "", action::begin_data));
}

// bad-input 36: "5000 RCPT TO ... 452 4.5.3 for each extra ...; 421 + close at the hard error limit".
TEST(session_rcpt, excess_recipients_reach_the_hard_error_limit) {
  options o;
  o.limits.recipients = 2;
  o.limits.hard_errors = 5;
  harness h(o);
  h.ehlo();
  h.send("MAIL FROM:<a@example.net>");
  h.send("RCPT TO:<alice@localhost>");
  h.send("RCPT TO:<bob@localhost>");
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    auto st = h.send("RCPT TO:<alice@localhost>");
    ASSERT_FALSE(st.replies.empty());
    EXPECT_EQ(st.replies[0].code, 452);
    closed = st.action == action::close;
    if (closed) {
      EXPECT_EQ(st.replies.back().code, 421);
    }
  }
  EXPECT_TRUE(closed) << "a client that keeps sending RCPT past the limit is never disconnected";
}

TEST(session_rcpt, relaying_needs_auth_or_trust) {
  {
    harness h(listener_kind::submission, true);
    h.ehlo();
    h.login();
    h.send("MAIL FROM:<alice@localhost>");
    EXPECT_TRUE(replied(h.send("RCPT TO:<friend@example.net>"), 250, "2.1.5"));
    EXPECT_TRUE(replied(h.send("RCPT TO:<bob@localhost>"), 250, "2.1.5"));
    EXPECT_TRUE(rejected(h.send("RCPT TO:<nobody@localhost>"), 550, "5.1.1", "unknown_user"));
    EXPECT_EQ(h.s->current_transaction().recipients, (std::vector<std::string>{"friend@example.net", "bob@localhost"}));
  }
  {
    options o;
    o.trusted = true;
    harness h(o);
    h.ehlo();
    h.send("MAIL FROM:<app@localhost>");
    EXPECT_TRUE(replied(h.send("RCPT TO:<x@example.net>"), 250, "2.1.5"));
    // Even trusted clients do not get the relay tricks at local domains.
    EXPECT_TRUE(rejected(h.send("RCPT TO:<x%example.net@localhost>"), 550, "5.7.1", "relay_denied"));
  }
}

TEST(session_rcpt, rate_limits_from_the_guard) {  // bad-input 46
  harness h;
  h.env.message_limit = "messages_per_ip";
  h.ehlo();
  auto m = h.send("MAIL FROM:<a@example.net>");
  EXPECT_TRUE(replied(m, 450, "4.7.1"));
  EXPECT_EQ(rule_of(m), "messages_per_ip");
  EXPECT_FALSE(h.s->current_transaction().active);
  h.env.message_limit.clear();
  h.env.recipient_limit = "recipients_per_hour";
  ASSERT_TRUE(replied(h.send("MAIL FROM:<a@example.net>"), 250, "2.1.0"));
  auto r = h.send("RCPT TO:<alice@localhost>");
  EXPECT_TRUE(replied(r, 452, "4.5.3"));
  EXPECT_EQ(rule_of(r), "recipients_per_hour");
  EXPECT_TRUE(h.s->current_transaction().recipients.empty());
}

TEST(session_mail, messages_per_connection) {  // bad-input 46
  options o;
  o.limits.messages_per_connection = 1;
  harness h(o);
  into_data(h);
  ASSERT_EQ(end_data(h, "Subject: a\r\n\r\nx\r\n.\r\n").action, action::spool);
  ASSERT_TRUE(replied(h.s->on_spooled(0, "Q1"), 250, "2.0.0"));
  auto st = h.send("MAIL FROM:<a@example.net>");
  EXPECT_TRUE(rejected(st, 421, "4.7.0", "messages_per_connection", action::close));
}

// ---- end of DATA ----------------------------------------------------------------------------------------

TEST(session_data, good_message_is_spooled_then_250_with_id) {
  harness h;
  into_data(h);
  EXPECT_EQ(h.s->data_limits_for_message().max_bytes, 25u * 1024 * 1024);
  auto st = end_data(h, "Subject: hi\r\n\r\n..dot stuffed\r\n.\r\n");
  EXPECT_TRUE(st.replies.empty()) << describe(st);  // never 250 before the spool says it is durable
  EXPECT_EQ(st.action, action::spool);
  EXPECT_FALSE(h.s->in_data());
  EXPECT_TRUE(h.s->current_transaction().active);  // the envelope is still needed by the spool
  auto q = h.s->on_spooled(0, "0123456789ABCDEF");
  EXPECT_TRUE(replied(q, 250, "2.0.0"));
  EXPECT_NE(q.replies[0].lines.at(0).find("0123456789ABCDEF"), std::string::npos);
  EXPECT_FALSE(h.s->current_transaction().active);
  EXPECT_TRUE(replied(h.send("MAIL FROM:<b@example.net>"), 250, "2.1.0"));  // next transaction
}

TEST(session_data, spool_errors) {  // bad-input 53
  struct c {
    int err;
    int code;
    const char* enh;
    const char* rule;
  };
  for (auto x : {c{ENOSPC, 452, "4.3.1", "queue_full"}, c{EDQUOT, 452, "4.3.1", "queue_full"},
                 c{EIO, 451, "4.3.0", "queue_error"}, c{EACCES, 451, "4.3.0", "queue_error"}}) {
    harness h;
    into_data(h);
    ASSERT_EQ(end_data(h, "x\r\n.\r\n").action, action::spool);
    auto st = h.s->on_spooled(x.err, "");
    EXPECT_TRUE(rejected(st, x.code, x.enh, x.rule)) << x.err;
    for (const auto& r : st.replies) EXPECT_NE(r.code, 250);
    EXPECT_FALSE(h.s->current_transaction().active);
    EXPECT_EQ(h.send("NOOP").replies.at(0).code, 250);
  }
}

TEST(session_data, cleanup_outcomes_become_replies) {
  using k = cleanup_outcome::kind;
  {
    harness h;
    into_data(h);
    ASSERT_EQ(end_data(h, "x\r\n.\r\n").action, action::spool);
    auto st = h.s->on_cleanup({.what = k::queued, .queue_id = "Q1"});
    EXPECT_TRUE(replied(st, 250, "2.0.0"));
    EXPECT_NE(st.replies[0].lines.at(0).find("Q1"), std::string::npos);
    EXPECT_FALSE(h.s->current_transaction().active);
  }
  {
    harness h;  // a milter discarded it: the client is told it was accepted
    into_data(h);
    ASSERT_EQ(end_data(h, "x\r\n.\r\n").action, action::spool);
    EXPECT_TRUE(replied(h.s->on_cleanup({.what = k::discarded, .queue_id = "Q2"}), 250, "2.0.0"));
  }
  {
    harness h;
    into_data(h);
    ASSERT_EQ(end_data(h, "x\r\n.\r\n").action, action::spool);
    EXPECT_TRUE(rejected(h.s->on_cleanup({.what = k::store_failed, .errc = ENOSPC}), 452, "4.3.1", "queue_full"));
  }
  {
    harness h;
    into_data(h);
    ASSERT_EQ(end_data(h, "x\r\n.\r\n").action, action::spool);
    auto st = h.s->on_cleanup({.what = k::refused,
                               .code = 550,
                               .enhanced = "5.7.1",
                               .text = "Rejected by DMARC policy",
                               .rule = "dmarc_reject"});
    EXPECT_TRUE(rejected(st, 550, "5.7.1", "dmarc_reject"));
    EXPECT_FALSE(h.s->current_transaction().active);
    EXPECT_EQ(h.send("NOOP").replies.at(0).code, 250);
  }
}

TEST(session_data, rejected_content) {  // bad-input 1-3, 28, 29, 30, 48
  struct c {
    std::string body;
    int code;
    const char* enh;
    const char* rule;
    bool smuggling;
  };
  const std::string hops = [] {
    std::string s;
    for (int i = 0; i < 5; ++i) s += "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n";
    return s + "\r\nbody\r\n.\r\n";
  }();
  const std::vector<c> cases = {
      {"Subject: x\r\n\r\nhi\n.\nMAIL FROM:<x@victim>\r\n.\r\n", 550, "5.5.2", "bare_lf", true},
      {"Subject: x\r\n\r\nhi\r\n.\nRCPT TO:<x@victim>\r\n.\r\n", 550, "5.5.2", "bare_lf", true},
      {"Subject: x\r\n\r\nhi\r.\r\nx\r\n.\r\n", 550, "5.5.2", "bare_cr", true},
      {std::string("Subject: x\r\n\r\nhi\r\n\0.\r\n.\r\n", sizeof("Subject: x\r\n\r\nhi\r\n\0.\r\n.\r\n") - 1), 550,
       "5.5.2", "nul", true},
      {"Subject: x\r\n\r\n" + std::string(1200, 'x') + "\r\n.\r\n", 500, "5.5.0", "line_too_long", false},
      {"Subject: x\r\n\r\n" + std::string(200, 'y') + "\r\n" + std::string(200, 'y') + "\r\n.\r\n", 552, "5.3.4",
       "message_too_large", false},
      {"X-A: " + std::string(990, 'h') + "\r\n" + "X-B: " + std::string(990, 'h') + "\r\n\r\n.\r\n", 552, "5.3.4",
       "header_too_large", false},
      {hops, 554, "5.4.6", "too_many_hops", false},
      {" Injected: folds into our Received:\r\nSubject: x\r\n\r\nhi\r\n.\r\n", 550, "5.6.0", "leading_whitespace",
       false},  // issue 15 item 7
  };
  for (const auto& x : cases) {
    SCOPED_TRACE(x.rule);
    options o;
    o.limits.message_size = 300;
    o.limits.header_section = 1500;
    o.limits.max_hops = 5;
    if (std::string(x.rule) == "line_too_long" || std::string(x.rule) == "header_too_large")
      o.limits.message_size = 100000;
    harness h(o);
    into_data(h);
    auto st = end_data(h, x.body);
    EXPECT_TRUE(rejected(st, x.code, x.enh, x.rule));
    EXPECT_NE(st.action, action::spool);
    EXPECT_TRUE(st.count_error);
    ASSERT_FALSE(st.events.empty());
    EXPECT_EQ(st.events[0].fields.value("smuggling", false), x.smuggling);
    EXPECT_FALSE(h.s->in_data());
    EXPECT_FALSE(h.s->current_transaction().active);  // nothing queued
    // The session stays usable (RFC 5321 3.8) and the old envelope is gone.
    EXPECT_TRUE(rejected(h.send("RCPT TO:<alice@localhost>"), 503, "5.5.1", "bad_sequence"));
    EXPECT_TRUE(replied(h.send("MAIL FROM:<a@example.net>"), 250, "2.1.0"));
  }
}

TEST(session_data, limits_come_from_the_config) {
  options o;
  o.limits.message_size = 5000;
  o.limits.text_line = 200;
  o.limits.header_section = 3000;
  o.limits.max_hops = 7;
  harness h(o);
  auto l = h.s->data_limits_for_message();
  EXPECT_EQ(l.max_bytes, 5000u);
  EXPECT_EQ(l.max_line, 200u);
  EXPECT_EQ(l.max_header, 3000u);
  EXPECT_EQ(l.max_hops, 7u);
}

TEST(session_data, content_before_354_closes) {  // bad-input 5
  harness h;
  into_data(h);
  auto st = h.s->on_data_pipelined();
  EXPECT_TRUE(rejected(st, 554, "5.5.0", "pipelining_violation", action::close));
  EXPECT_FALSE(h.s->current_transaction().active);
  EXPECT_EQ(h.send("NOOP").action, action::close);
}

TEST(session_data, timeout_in_data_drops_the_transaction) {  // bad-input 43
  harness h;
  into_data(h);
  auto st = h.s->on_timeout(true);
  EXPECT_TRUE(rejected(st, 421, "4.4.2", "timeout", action::close));
  EXPECT_EQ(st.events.at(0).fields.value("stage", ""), "data");
  EXPECT_FALSE(h.s->current_transaction().active);
}

// ---- error accounting -----------------------------------------------------------------------------------

TEST(session_errors, unknown_verbs_until_hard_limit) {  // bad-input 39, defaults 10 soft / 20 hard
  harness h;
  EXPECT_EQ(h.s->soft_error_limit(), 10u);
  for (int i = 1; i < 20; ++i) {
    auto st = h.send("XYZZY");
    ASSERT_TRUE(rejected(st, 500, "5.5.2", "syntax")) << i;
    ASSERT_EQ(st.replies.size(), 1u) << i;
    EXPECT_TRUE(st.count_error);
    EXPECT_EQ(h.s->errors(), static_cast<std::size_t>(i));
  }
  auto last = h.send("XYZZY");
  ASSERT_EQ(last.replies.size(), 2u);
  EXPECT_EQ(last.replies[0].code, 500);
  EXPECT_EQ(last.replies[1].code, 421);
  EXPECT_EQ(last.replies[1].enhanced, "4.7.0");
  EXPECT_EQ(last.action, action::close);
  EXPECT_EQ(last.events.back().fields.value("rule", ""), "too_many_errors");
  auto after = h.send("EHLO x");
  EXPECT_TRUE(after.replies.empty());
  EXPECT_EQ(after.action, action::close);
}

TEST(session_errors, any_error_counts_toward_the_limit) {
  options o;
  o.limits.hard_errors = 4;
  harness h(o);
  h.send("RCPT TO:<a@localhost>");  // 503
  h.send("EXPN x");                 // 502
  h.send("XCLIENT ADDR=1.2.3.4");   // 550
  auto st = h.send("MAIL FROM:<a@example.net>");
  EXPECT_EQ(st.replies.back().code, 421);
  EXPECT_EQ(st.action, action::close);
}

TEST(session_errors, junk_commands) {  // bad-input 39
  options o;
  o.limits.junk_commands = 5;
  harness h(o);
  h.ehlo();
  for (const char* j : {"NOOP", "RSET", "VRFY alice", "HELP", "NOOP"})
    EXPECT_LT(h.send(j).replies.at(0).code, 300) << j;
  auto st = h.send("NOOP");
  EXPECT_TRUE(rejected(st, 421, "4.7.0", "too_many_errors", action::close));
  EXPECT_EQ(st.replies.size(), 1u);
  // A MAIL command resets the count: real mail is not junk.
  harness g(o);
  g.ehlo();
  for (int i = 0; i < 5; ++i) g.send("NOOP");
  g.send("MAIL FROM:<a@example.net>");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(replied(g.send("NOOP"), 250, "2.0.0"));
}

// Issue 15 item 2: an idle slot holder cannot reset or dodge the junk count with EHLO or with MAILs that a rate
// limit refuses.
TEST(session_errors, repeated_helo_and_refused_mail_are_junk) {
  options o;
  o.limits.junk_commands = 3;
  harness h(o);
  EXPECT_TRUE(replied(h.ehlo(), 250, ""));  // the first EHLO is not junk
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.ehlo().replies.at(0).code, 250) << i;
  EXPECT_TRUE(rejected(h.send("HELO again.example"), 421, "4.7.0", "too_many_errors", action::close));

  harness g(o);
  g.ehlo();
  g.env.message_limit = "messages_per_hour_per_ip";
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(replied(g.send("MAIL FROM:<a@example.net>"), 450, "4.7.1")) << i;
  auto st = g.send("MAIL FROM:<a@example.net>");
  EXPECT_TRUE(replied(st, 421, "4.7.0", action::close));
  EXPECT_TRUE(std::any_of(st.events.begin(), st.events.end(), [](const log_event& e) {
    return e.fields.value("rule", std::string()) == "too_many_errors";
  }));

  // the EHLO required after STARTTLS is not a repeat
  harness t(o);
  t.ehlo();
  t.starttls();
  for (int i = 0; i < 3; ++i) t.send("NOOP");
  EXPECT_TRUE(replied(t.ehlo(), 250, ""));
}

TEST(session_errors, non_smtp_clients_are_dropped) {  // bad-input 41
  for (const char* line : {"GET / HTTP/1.1", "POST /submit HTTP/1.0", "CONNECT host:25 HTTP/1.1", "Host: x",
                           "User-Agent: curl", "USER root", "PASS toor"}) {
    harness h;
    auto st = h.send(line);
    EXPECT_TRUE(rejected(st, 421, "4.7.0", "non_smtp_command", action::close)) << line;
    EXPECT_TRUE(st.count_error);
  }
}

TEST(session_errors, xclient_xforward_proxy_refused) {  // bad-input 42
  for (const char* line : {"XCLIENT ADDR=1.2.3.4", "XFORWARD ADDR=1.2.3.4", "PROXY TCP4 1.2.3.4 5.6.7.8 1 25"}) {
    harness h;
    h.ehlo();
    EXPECT_TRUE(rejected(h.send(line), 550, "5.7.0", "xclient_denied")) << line;
    EXPECT_TRUE(replied(h.send("MAIL FROM:<a@example.net>"), 250, "2.1.0"));  // identity unchanged, usable
  }
}

TEST(session_errors, framing_errors_from_the_line_reader) {  // bad-input 25, 26, 27
  harness h;
  h.ehlo();
  EXPECT_TRUE(rejected(h.s->on_line(line_status::too_long, ""), 500, "5.5.2", "command_too_long"));
  EXPECT_TRUE(rejected(h.s->on_line(line_status::bad_line_ending, ""), 500, "5.5.2", "syntax"));
  EXPECT_TRUE(h.s->on_line(line_status::need_more, "").replies.empty());
  EXPECT_TRUE(replied(h.send("NOOP"), 250, "2.0.0"));  // the session continues
  auto o = h.s->on_line(line_status::overflow, "");
  EXPECT_TRUE(rejected(o, 421, "4.7.0", "command_too_long", action::close));
}

TEST(session_errors, command_length_limit_is_512_with_crlf) {  // bad-input 26, RFC 5321 4.5.3.1.4
  harness h;
  h.ehlo();
  std::string ok_line = "NOOP " + std::string(505, 'A');  // 510 + CRLF = 512
  ASSERT_EQ(ok_line.size(), 510u);
  EXPECT_TRUE(replied(h.send(ok_line), 250, "2.0.0"));
  EXPECT_TRUE(rejected(h.send(ok_line + "A"), 500, "5.5.2", "command_too_long"));
  EXPECT_TRUE(rejected(h.send("NOOP " + std::string(4000, 'A')), 500, "5.5.2", "command_too_long"));
  EXPECT_TRUE(
      rejected(h.send("MAIL FROM:<a@example.net> X=" + std::string(600, 'x')), 500, "5.5.2", "command_too_long"));
  EXPECT_FALSE(h.s->current_transaction().active);
}

TEST(session_errors, invalid_bytes_in_commands) {  // bad-input 24
  harness h;
  h.ehlo();
  EXPECT_TRUE(rejected(h.send(std::string("NO\0OP", 5)), 500, "5.5.2", "syntax"));
  EXPECT_TRUE(rejected(h.send("\x01NOOP"), 500, "5.5.2", "syntax"));
  EXPECT_TRUE(rejected(h.send(""), 500, "5.5.2", "syntax"));
}

TEST(session_errors, quit_vrfy_expn_help_timeout_bdat) {  // bad-input 40, 43
  harness h;
  h.ehlo();
  auto v = h.send("VRFY alice");
  EXPECT_TRUE(replied(v, 252, "2.1.5"));
  EXPECT_EQ(h.send("VRFY nobody").replies.at(0).lines, v.replies[0].lines);  // never confirms or denies
  EXPECT_TRUE(rejected(h.send("EXPN staff"), 502, "5.5.1", "expn_refused"));
  EXPECT_TRUE(replied(h.send("HELP"), 214, "2.0.0"));
  auto q = h.send("QUIT");
  EXPECT_TRUE(replied(q, 221, "2.0.0", action::close));
  EXPECT_FALSE(has_reject(q));
  harness t;
  auto to = t.s->on_timeout(false);
  EXPECT_TRUE(rejected(to, 421, "4.4.2", "timeout", action::close));
  EXPECT_EQ(format(to.replies[0]), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  harness b;
  b.ehlo();
  EXPECT_TRUE(replied(b.send("BDAT 10 LAST"), 502, "5.5.1", action::close));  // no chunk read as commands
}

// ---- Received header ------------------------------------------------------------------------------------

// Only the folding CRLF+TAB and the final CRLF may appear.
void expect_one_header(const std::string& r) {
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(r.rfind("Received: ", 0), 0u) << r;
  EXPECT_EQ(r.substr(r.size() - 2), "\r\n");
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto c = static_cast<unsigned char>(r[i]);
    if (c == '\r') {
      ASSERT_LT(i + 1, r.size());
      EXPECT_EQ(r[i + 1], '\n') << "bare CR at " << i;
      if (i + 2 < r.size()) {
        EXPECT_EQ(r[i + 2], '\t') << "unfolded line break at " << i;
      }
    } else if (c == '\n') {
      EXPECT_TRUE(i > 0 && r[i - 1] == '\r') << "bare LF at " << i;
    } else {
      EXPECT_TRUE(c == '\t' || (c >= 0x20 && c < 0x7f)) << "byte " << int(c) << " at " << i;
    }
  }
}

TEST(session_received, esmtpsa_with_tls_and_auth) {
  harness h(listener_kind::submission, true);
  h.ehlo("laptop.example");
  h.login();
  h.send("MAIL FROM:<alice@localhost>");
  h.send("RCPT TO:<bob@localhost>");
  auto r = h.s->received_header("QID0123456789", 1700000000);
  expect_one_header(r);
  EXPECT_NE(r.find("from laptop.example ([192.0.2.1])"), std::string::npos) << r;
  EXPECT_NE(r.find("by mx.test"), std::string::npos) << r;
  EXPECT_NE(r.find("with ESMTPSA id QID0123456789"), std::string::npos) << r;
  EXPECT_NE(r.find("TLSv1.3"), std::string::npos) << r;
  EXPECT_NE(r.find("TLS_AES_256_GCM_SHA384"), std::string::npos) << r;
  EXPECT_NE(r.find("for <bob@localhost>"), std::string::npos) << r;
  EXPECT_NE(r.find("Tue, 14 Nov 2023 22:13:20 +0000"), std::string::npos) << r;
}

TEST(session_received, protocol_names) {  // RFC 3848
  {
    harness h(listener_kind::mx, true);
    h.ehlo();
    h.send("MAIL FROM:<a@example.net>");
    h.send("RCPT TO:<alice@localhost>");
    auto r = h.s->received_header("Q1", 0);
    expect_one_header(r);
    EXPECT_NE(r.find("with ESMTPS id Q1"), std::string::npos) << r;
    EXPECT_NE(r.find("TLSv1.3"), std::string::npos) << r;
    EXPECT_NE(r.find("TLS_AES_256_GCM_SHA384"), std::string::npos) << r;
  }
  {
    harness h;
    h.ehlo();
    auto r = h.s->received_header("Q2", 0);
    expect_one_header(r);
    EXPECT_NE(r.find("with ESMTP id Q2"), std::string::npos) << r;
    EXPECT_EQ(r.find("ESMTPS"), std::string::npos) << r;
    EXPECT_EQ(r.find("TLS"), std::string::npos) << r;
  }
  {
    harness h;
    h.send("HELO old.example");
    auto r = h.s->received_header("Q3", 0);
    expect_one_header(r);
    EXPECT_NE(r.find("with SMTP id Q3"), std::string::npos) << r;
  }
  {
    // STARTTLS upgrade on the MX: ESMTPS, with the negotiated version and cipher.
    harness h;
    h.ehlo();
    h.starttls();
    h.ehlo();
    h.send("MAIL FROM:<a@example.net>");
    h.send("RCPT TO:<alice@localhost>");
    h.send("RCPT TO:<bob@localhost>");
    auto r = h.s->received_header("Q4", 0);
    expect_one_header(r);
    EXPECT_NE(r.find("with ESMTPS id Q4"), std::string::npos) << r;
    EXPECT_NE(r.find("TLSv1.2"), std::string::npos) << r;
    EXPECT_NE(r.find("ECDHE-RSA-AES128-GCM-SHA256"), std::string::npos) << r;
    EXPECT_EQ(r.find("for <"), std::string::npos) << r;  // several recipients: none is disclosed
  }
}

TEST(session_received, weird_helo_is_rendered_printable) {
  harness h;
  h.ehlo("x\\y(z);\"q\"");
  ASSERT_EQ(h.s->helo(), "x\\y(z);\"q\"");
  auto r = h.s->received_header("Q5", 0);
  expect_one_header(r);
  EXPECT_NE(r.find("from x\\x5cy(z);"), std::string::npos) << r;  // the backslash is escaped
  for (std::size_t i = r.find('\\'); i != std::string::npos; i = r.find('\\', i + 1))
    EXPECT_EQ(r.substr(i, 2), "\\x") << r;  // every backslash starts an escape
  // A HELO with control bytes never becomes the HELO name at all.
  harness g;
  g.ehlo("good.example");
  EXPECT_EQ(g.ehlo("evil\r\nX-Injected: yes").replies.at(0).code, 501);
  auto r2 = g.s->received_header("Q6", 0);
  expect_one_header(r2);
  EXPECT_EQ(r2.find("Injected"), std::string::npos) << r2;
}

TEST(session_received, quoted_recipient_cannot_break_the_header) {
  harness h(listener_kind::submission, true);
  h.ehlo();
  h.login();
  h.send("MAIL FROM:<alice@localhost>");
  ASSERT_TRUE(replied(h.send("RCPT TO:<\"a\\\\b c\"@example.net>"), 250, "2.1.5"));
  auto r = h.s->received_header("Q7", 0);
  expect_one_header(r);
}

// limits.inflight_bytes (issue 15): a declared SIZE beyond the budget left is refused at MAIL, and DATA is
// refused while less than one write buffer is left; neither counts as a client error.
TEST(session_data, inflight_budget_452) {
  harness h;
  h.env.inflight_left = 100000;
  h.ehlo();
  auto m = h.send("MAIL FROM:<a@example.net> SIZE=200000");
  EXPECT_TRUE(replied(m, 452, "4.3.1"));
  EXPECT_EQ(rule_of(m), "inflight_budget");
  EXPECT_FALSE(h.s->current_transaction().active);
  ASSERT_TRUE(replied(h.send("MAIL FROM:<a@example.net> SIZE=50000"), 250, "2.1.0"));
  ASSERT_TRUE(replied(h.send("RCPT TO:<alice@localhost>"), 250, "2.1.5"));
  h.env.inflight_left = 1000;
  auto d = h.send("DATA");
  EXPECT_TRUE(replied(d, 452, "4.3.1"));
  EXPECT_EQ(rule_of(d), "inflight_budget");
  EXPECT_EQ(h.s->errors(), 0u);
  h.env.inflight_left = 1u << 20;
  EXPECT_TRUE(replied(h.send("DATA"), 354, "", action::begin_data));
}

}  // namespace
}  // namespace mailfort::smtp::test
