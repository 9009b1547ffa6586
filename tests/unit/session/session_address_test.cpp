// tests/unit/session/session_address_test.cpp: RCPT with aliases, role addresses and SRS (issue 20): expanded
// recipients stored and counted toward the limits, duplicates once, loops and forged SRS refused, the
// forwarding limit, and what the transaction remembers for DMARC and SRS.
// SPDX-License-Identifier: MIT
#include "session/session_fixture.hpp"

#include <string>
#include <vector>

namespace mailfort::smtp::test {
namespace {

using addr_kind = session_env::local_resolution::kind;

int addr_rcpt(harness& h, const std::string& a) {
  auto st = h.send("RCPT TO:<" + a + ">");
  return st.replies.empty() ? 0 : st.replies.back().code;
}

void addr_begin(harness& h) {
  h.ehlo();
  ASSERT_EQ(h.send("MAIL FROM:<x@remote.test>").replies.back().code, 250);
}

TEST(session_address, alias_expands_and_duplicates_are_dropped) {
  harness h;
  h.env.resolutions["sales@localhost"] = {addr_kind::ok, {"alice@localhost", "bob@localhost", "f@peer.test"}};
  addr_begin(h);
  EXPECT_EQ(addr_rcpt(h, "Sales@localhost"), 250);
  EXPECT_EQ(addr_rcpt(h, "alice@localhost"), 250);  // already a target: one copy
  const auto& tx = h.s->current_transaction();
  EXPECT_EQ(tx.recipients, (std::vector<std::string>{"alice@localhost", "bob@localhost", "f@peer.test"}));
  ASSERT_EQ(tx.forwarded.size(), 1u);
  EXPECT_EQ(tx.forwarded[0], (std::pair<std::string, std::string>{"f@peer.test", "sales@localhost"}));
  EXPECT_FALSE(tx.role_only);
}

TEST(session_address, expanded_recipients_count_toward_the_limit) {
  options o;
  o.limits.recipients = 2;
  harness h(o);
  h.env.resolutions["team@localhost"] = {addr_kind::ok, {"alice@localhost", "bob@localhost"}};
  addr_begin(h);
  EXPECT_EQ(addr_rcpt(h, "carol@example.org"), 250);
  auto st = h.send("RCPT TO:<team@localhost>");
  EXPECT_EQ(st.replies.back().code, 452);
  EXPECT_EQ(rule_of(st), "too_many_recipients");
  EXPECT_EQ(h.s->current_transaction().recipients.size(), 1u);
}

TEST(session_address, every_target_spends_the_hourly_limit) {
  harness h;
  h.env.resolutions["team@localhost"] = {addr_kind::ok, {"alice@localhost", "bob@localhost"}};
  addr_begin(h);
  h.env.recipient_limit = "recipients_per_hour_per_ip";
  EXPECT_EQ(addr_rcpt(h, "team@localhost"), 452);
}

TEST(session_address, loops_and_depth_are_refused_at_rcpt) {
  harness h;
  h.env.resolutions["a@localhost"] = {addr_kind::loop, {}};
  h.env.resolutions["deep@localhost"] = {addr_kind::too_deep, {}};
  h.env.resolutions["big@localhost"] = {addr_kind::too_many, {}};
  addr_begin(h);
  auto st = h.send("RCPT TO:<a@localhost>");
  EXPECT_EQ(st.replies.back().code, 550);
  EXPECT_EQ(st.replies.back().enhanced, "5.4.6");
  EXPECT_EQ(rule_of(st), "alias_loop");
  EXPECT_EQ(addr_rcpt(h, "deep@localhost"), 550);
  EXPECT_EQ(addr_rcpt(h, "big@localhost"), 550);
  EXPECT_TRUE(h.s->current_transaction().recipients.empty());
}

TEST(session_address, remote_forwarding_limit) {
  options o;
  harness h(o);
  h.env.resolutions["fans@localhost"] = {addr_kind::ok, {}};
  for (int i = 0; i < 11; ++i)
    h.env.resolutions["fans@localhost"].recipients.push_back("f" + std::to_string(i) + "@peer.test");
  h.env.resolutions["few@localhost"] = {addr_kind::ok, {"g@peer.test", "alice@localhost"}};
  addr_begin(h);
  auto st = h.send("RCPT TO:<fans@localhost>");
  EXPECT_EQ(st.replies.back().code, 550);
  EXPECT_EQ(rule_of(st), "forward_limit");
  EXPECT_EQ(addr_rcpt(h, "few@localhost"), 250);
}

TEST(session_address, role_addresses_mark_the_transaction) {
  harness h;
  h.env.resolutions["postmaster@example.org"] = {addr_kind::ok, {"carol@example.org"}};
  h.env.resolutions["abuse@localhost"] = {addr_kind::ok, {"alice@localhost"}};
  addr_begin(h);
  EXPECT_EQ(addr_rcpt(h, "postmaster@example.org"), 250);
  EXPECT_EQ(addr_rcpt(h, "abuse@localhost"), 250);
  EXPECT_TRUE(h.s->current_transaction().role_only);
  EXPECT_EQ(addr_rcpt(h, "bob@localhost"), 250);
  EXPECT_FALSE(h.s->current_transaction().role_only);
}

TEST(session_address, postmaster_never_refused_even_unresolved) {
  harness h;
  addr_begin(h);
  EXPECT_EQ(addr_rcpt(h, "postmaster@example.org"), 250);
  EXPECT_EQ(addr_rcpt(h, "abuse@example.org"), 550);  // abuse@ resolves only through the env (first user by default)
  EXPECT_EQ(h.s->current_transaction().recipients, std::vector<std::string>{"postmaster@example.org"});
}

TEST(session_address, srs_bounces_reversed_or_refused) {
  harness h;
  h.env.srs["SRS0=good=AB=orig.test=u@localhost"] = {session_env::srs_reversal::kind::ok, "u@orig.test", ""};
  h.env.srs["SRS0=bad=AB=orig.test=u@localhost"] = {session_env::srs_reversal::kind::invalid, "", "bad_hash"};
  h.ehlo();
  ASSERT_EQ(h.send("MAIL FROM:<>").replies.back().code, 250);
  auto st = h.send("RCPT TO:<SRS0=bad=AB=orig.test=u@localhost>");
  EXPECT_EQ(st.replies.back().code, 550);
  EXPECT_EQ(st.replies.back().enhanced, "5.7.1");
  EXPECT_EQ(rule_of(st), "srs_invalid");
  EXPECT_EQ(addr_rcpt(h, "SRS0=good=AB=orig.test=u@localhost"), 250);
  EXPECT_EQ(h.s->current_transaction().recipients, std::vector<std::string>{"u@orig.test"});
  EXPECT_TRUE(h.s->current_transaction().forwarded.empty());  // a bounce is not a forward
}

}  // namespace
}  // namespace mailfort::smtp::test
