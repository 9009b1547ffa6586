// policy/offences.cpp: the table of refusals that count towards a ban (see offences.hpp).
// SPDX-License-Identifier: MIT
#include "policy/offences.hpp"

#include "log/events.hpp"

namespace mailfort::policy {

namespace {

using log::event_id;
using log::reject_rule;

bool is(std::string_view n, event_id e) { return n == log::name(e); }
bool is(std::string_view n, reject_rule x) { return n == log::name(x); }

}  // namespace

std::optional<offence> offence_of(const refusal& r) {
  if (is(r.event, event_id::auth)) {
    if (r.result == "failure") return offence::auth_failure;
    return std::nullopt;
  }
  if (!is(r.event, event_id::reject)) return std::nullopt;
  // A single bare LF or a command pipelined behind STARTTLS is what broken clients do too: scored below the
  // threshold, so one slip does not ban a whole office NAT (repeats still do).
  // A bare LF around a dot line (a fake end of data) is smuggling.
  if (is(r.rule, reject_rule::bare_lf)) return r.fake_end ? offence::smuggling : offence::protocol_slip;
  if (is(r.rule, reject_rule::starttls_pipelining)) return offence::protocol_slip;
  if (is(r.rule, reject_rule::bare_cr) || is(r.rule, reject_rule::nul) || is(r.rule, reject_rule::pipelining_violation))
    return offence::smuggling;
  if (is(r.rule, reject_rule::unknown_user)) return offence::unknown_recipient;
  if (is(r.rule, reject_rule::non_smtp_command) || is(r.rule, reject_rule::xclient_denied)) return offence::non_smtp;
  if (is(r.rule, reject_rule::too_many_errors) || is(r.rule, reject_rule::too_many_unknown_recipients))
    return offence::protocol_errors;
  if (is(r.rule, reject_rule::auth_per_minute_per_ip)) return offence::rate_limited;
  return std::nullopt;
}

}  // namespace mailfort::policy
