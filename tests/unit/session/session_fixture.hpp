// tests/unit/session/session_fixture.hpp: a fake session_env and a small driver around smtp::session.
// SPDX-License-Identifier: MIT
//
// The fake world: local domains "localhost" and "example.org"; users alice@localhost, bob@localhost and
// carol@example.org; a login may send only as itself (case-insensitively) or with <>; every rate limit
// passes unless a test names the limit that should fire.
#pragma once
#include "sasl/sasl_decode.hpp"
#include "smtp/session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace mailfort::smtp::test {

inline std::string lower_copy(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return r;
}

class fake_env final : public session_env {
 public:
  std::set<std::string> domains{"localhost", "example.org"};
  std::set<std::string> users{"alice@localhost", "bob@localhost", "carol@example.org"};
  // Name of the limit that fires for each kind; empty: allowed.
  std::string auth_limit, message_limit, recipient_limit;
  // Bytes left in the budget of messages in flight (limits.inflight_bytes).
  std::uint64_t inflight_left = ~std::uint64_t{0};
  bool inflight_room(std::uint64_t bytes) const override { return std::max<std::uint64_t>(bytes, 1) <= inflight_left; }

  // Issue 20: what an alias, role address or catch-all resolves to (other addresses: the users above), and
  // bounces to SRS addresses.
  std::map<std::string, local_resolution> resolutions;
  std::map<std::string, srs_reversal> srs;
  local_resolution resolve_local(std::string_view a) const override {
    if (auto it = resolutions.find(std::string(a)); it != resolutions.end()) return it->second;
    return session_env::resolve_local(a);
  }
  srs_reversal reverse_srs(std::string_view a) const override {
    if (auto it = srs.find(std::string(a)); it != srs.end()) return it->second;
    return {};
  }

  bool is_local_domain(std::string_view d) const override { return domains.count(lower_copy(d)) != 0; }
  bool local_user_exists(std::string_view a) const override { return users.count(std::string(a)) != 0; }
  bool may_send_as(std::string_view login, std::string_view sender) const override {
    return lower_copy(login) == lower_copy(sender);
  }
  std::string check_limit(limit_kind k, std::string_view, std::string_view) const override {
    switch (k) {
      case limit_kind::auth:
        return auth_limit;
      case limit_kind::message:
        return message_limit;
      case limit_kind::recipient:
        return recipient_limit;
    }
    return {};
  }
};

// base64(authzid NUL authcid NUL password), the AUTH PLAIN response.
inline std::string plain_blob(std::string_view authz, std::string_view user, std::string_view pw) {
  std::string raw(authz);
  raw.push_back('\0');
  raw += user;
  raw.push_back('\0');
  raw += pw;
  return sasl::base64_encode(raw);
}

struct options {
  listener_kind kind = listener_kind::mx;
  bool tls = false;  // run the handshake before the greeting (always done for submissions)
  bool tls_available = true;
  bool trusted = false;
  session_limits limits{};
  bool allow_null_sender = false;
};

// Owns the env (the session keeps a reference) and the session; neither copyable nor movable.
class harness {
 public:
  explicit harness(options o = {}) {
    cfg_.hostname = "mx.test";
    cfg_.primary_domain = "localhost";
    cfg_.kind = o.kind;
    cfg_.tls_available = o.tls_available;
    cfg_.trusted_client = o.trusted;
    cfg_.limits = o.limits;
    cfg_.allow_null_sender = o.allow_null_sender;
    s = std::make_unique<session>(cfg_, env, "192.0.2.1", 40000);
    if (o.tls || o.kind == listener_kind::submissions) s->on_tls_established("TLSv1.3", "TLS_AES_256_GCM_SHA384");
    greeting = s->greeting();
  }
  explicit harness(listener_kind k, bool tls = false) : harness(options{k, tls}) {}
  harness(const harness&) = delete;
  harness& operator=(const harness&) = delete;

  step send(std::string_view line) { return s->on_line(line_status::line, line); }
  step ehlo(std::string_view name = "client.example") { return send("EHLO " + std::string(name)); }
  // STARTTLS + a successful handshake (RFC 3207: everything before is forgotten).
  void starttls() {
    auto st = send("STARTTLS");
    ASSERT_EQ(st.action, action::start_tls);
    s->on_tls_established("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256");
  }
  // AUTH PLAIN with an initial response, then the verifier says yes.
  void login(std::string_view user = "alice@localhost") {
    auto st = send("AUTH PLAIN " + plain_blob("", user, "pw"));
    ASSERT_EQ(st.action, action::verify_auth);
    auto r = s->on_auth_result(lower_copy(user));  // the user database's canonical name
    ASSERT_EQ(r.replies.size(), 1u);
    ASSERT_EQ(r.replies[0].code, 235);
  }

  fake_env env;
  std::unique_ptr<session> s;
  step greeting;

 private:
  session_config cfg_;
};

// The rule of the first "reject" event, or "" when none.
inline std::string rule_of(const step& st) {
  for (const auto& e : st.events)
    if (e.name == "reject") return e.fields.value("rule", std::string());
  return {};
}

inline bool has_reject(const step& st) {
  return std::any_of(st.events.begin(), st.events.end(), [](const log_event& e) { return e.name == "reject"; });
}

inline const char* action_name(action a) {
  switch (a) {
    case action::none:
      return "none";
    case action::close:
      return "close";
    case action::start_tls:
      return "start_tls";
    case action::verify_auth:
      return "verify_auth";
    case action::begin_data:
      return "begin_data";
    case action::spool:
      return "spool";
  }
  return "?";
}

inline std::string describe(const step& st) {
  std::string d = "action=" + std::string(action_name(st.action)) + " replies:";
  for (const auto& r : st.replies) d += " [" + format(r) + "]";
  for (const auto& e : st.events) d += " event:" + e.name + e.fields.dump();
  return d;
}

// The first reply has this code and enhanced code, and the step asks for this action.
inline ::testing::AssertionResult replied(const step& st, int code, std::string_view enh, action a = action::none) {
  if (st.replies.empty()) return ::testing::AssertionFailure() << "no reply; " << describe(st);
  const auto& r = st.replies.front();
  if (r.code != code || r.enhanced != enh || st.action != a)
    return ::testing::AssertionFailure() << "expected " << code << " " << enh << " action=" << action_name(a)
                                         << ", got " << describe(st);
  return ::testing::AssertionSuccess();
}

// A rejection: the reply as above, plus a "reject" event with this rule and the error flag.
inline ::testing::AssertionResult rejected(const step& st, int code, std::string_view enh, std::string_view rule,
                                           action a = action::none) {
  auto r = replied(st, code, enh, a);
  if (!r) return r;
  if (rule_of(st) != rule) return ::testing::AssertionFailure() << "expected rule " << rule << ", got " << describe(st);
  return ::testing::AssertionSuccess();
}

}  // namespace mailfort::smtp::test
