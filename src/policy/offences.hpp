// policy/offences.hpp: [pure] which refusals count towards a ban, and as what offence (the weights are in
// ban_score.hpp). The session and the connection only report what happened (a "reject" event with its rule, an
// "auth" event with its result); this table is the one place that says which of those are abuse.
// SPDX-License-Identifier: MIT
#pragma once
#include "policy/ban_score.hpp"

#include <optional>
#include <string_view>

namespace mailfort::policy {

// A logged event as far as the ban score cares about it.
struct refusal {
  std::string_view event;   // "reject", "auth", ...
  std::string_view rule;    // reject: the rule that fired ("bare_lf", "unknown_user", ...)
  std::string_view result;  // auth: "success" or "failure"
  bool fake_end = false;    // reject bare_lf: the bare LF was around a dot line (a fake end of data)
};

// The offence an event counts as, or nullopt when it is not held against the source.
std::optional<offence> offence_of(const refusal& r);

}  // namespace mailfort::policy
