// tests/unit/policy/offences_test.cpp: which refusals count towards a ban, and as what.
// SPDX-License-Identifier: MIT
#include "policy/offences.hpp"

#include <gtest/gtest.h>

using namespace mailfort::policy;

namespace {
std::optional<offence> rule(std::string_view r, bool fake_end = false) {
  return offence_of({.event = "reject", .rule = r, .fake_end = fake_end});
}
}  // namespace

TEST(offences, failed_logins_count) {
  EXPECT_EQ(offence_of({.event = "auth", .result = "failure"}), offence::auth_failure);
  EXPECT_EQ(offence_of({.event = "auth", .result = "success"}), std::nullopt);
}

TEST(offences, reject_rules) {
  EXPECT_EQ(rule("bare_lf"), offence::protocol_slip);
  EXPECT_EQ(rule("bare_lf", true), offence::smuggling);
  EXPECT_EQ(rule("starttls_pipelining"), offence::protocol_slip);
  EXPECT_EQ(rule("bare_cr"), offence::smuggling);
  EXPECT_EQ(rule("nul"), offence::smuggling);
  EXPECT_EQ(rule("pipelining_violation"), offence::smuggling);
  EXPECT_EQ(rule("unknown_user"), offence::unknown_recipient);
  EXPECT_EQ(rule("non_smtp_command"), offence::non_smtp);
  EXPECT_EQ(rule("xclient_denied"), offence::non_smtp);
  EXPECT_EQ(rule("too_many_errors"), offence::protocol_errors);
  EXPECT_EQ(rule("too_many_unknown_recipients"), offence::protocol_errors);
  EXPECT_EQ(rule("auth_per_minute_per_ip"), offence::rate_limited);
}

TEST(offences, policy_refusals_and_other_events_do_not_count) {
  EXPECT_EQ(rule("dmarc_reject"), std::nullopt);
  EXPECT_EQ(rule("queue_full"), std::nullopt);
  EXPECT_EQ(offence_of({.event = "queued", .rule = "unknown_user"}), std::nullopt);
}
