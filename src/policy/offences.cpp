// policy/offences.cpp: the table of refusals that count towards a ban (see offences.hpp).
// SPDX-License-Identifier: MIT
#include "policy/offences.hpp"

namespace mailfort::policy {

std::optional<offence> offence_of(const refusal& r) {
  if (r.event == "auth") {
    if (r.result == "failure") return offence::auth_failure;
    return std::nullopt;
  }
  if (r.event != "reject") return std::nullopt;
  // A single bare LF or a command pipelined behind STARTTLS is what broken clients do too: scored below the
  // threshold, so one slip does not ban a whole office NAT (repeats still do).
  // A bare LF around a dot line (a fake end of data) is smuggling.
  if (r.rule == "bare_lf") return r.fake_end ? offence::smuggling : offence::protocol_slip;
  if (r.rule == "starttls_pipelining") return offence::protocol_slip;
  if (r.rule == "bare_cr" || r.rule == "nul" || r.rule == "pipelining_violation") return offence::smuggling;
  if (r.rule == "unknown_user") return offence::unknown_recipient;
  if (r.rule == "non_smtp_command" || r.rule == "xclient_denied") return offence::non_smtp;
  if (r.rule == "too_many_errors" || r.rule == "too_many_unknown_recipients") return offence::protocol_errors;
  if (r.rule == "auth_per_minute_per_ip") return offence::rate_limited;
  return std::nullopt;
}

}  // namespace mailfort::policy
