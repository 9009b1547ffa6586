// audit/checks/pipelining.cpp: [pure] RFC 2920 pipelining sanity: PIPELINING advertised, a valid pipelined
// group answered in full, and the DATA sync point enforced.
// SPDX-License-Identifier: MIT
// The other pipelining probes have their own checks: commands before the greeting (protocol.early_talker,
// checks/banner.cpp) and commands pipelined behind STARTTLS (tls.starttls.injection, checks/tls.cpp).
// RFC 2920 3.1: DATA ends a group; the client waits for the 354 before sending content. A server that takes
// bytes sent before its 354 as message content is the lenient behaviour spamware relies on (and the reason
// Postfix added smtpd_forbid_unauth_pipelining): low, not a hole by itself.
#include "audit/smtp_observations.hpp"

namespace mailfort::audit {

void check_pipelining(const smtp_observations& o, std::vector<finding>& out) {
  const auto& p = o.pipelining;
  if (o.ehlo && !o.ehlo->pipelining)
    out.push_back({"protocol.pipelining.missing",
                   severity::info,
                   control_area::protocol,
                   "PIPELINING is not advertised (RFC 2920): every command costs a round trip",
                   subject_of(o),
                   "EHLO keywords: no PIPELINING",
                   {"mailfort always advertises PIPELINING", "remove pipelining from smtpd_discard_ehlo_keywords",
                    "pipelining_advertise_hosts = *"}});
  if (p.grp == pipelining_obs::group::broken)
    out.push_back({"protocol.pipelining.broken",
                   severity::medium,
                   control_area::protocol,
                   "PIPELINING is advertised but a valid pipelined command group is not answered in full",
                   subject_of(o),
                   p.group_evidence,
                   {"mailfort answers every pipelined command in order",
                    "check for a proxy or filter in front of smtpd that breaks pipelining; "
                    "smtpd_discard_ehlo_keywords = pipelining as a stopgap",
                    "pipelining_advertise_hosts = : (empty) as a stopgap; fix the proxy in front"}});
  if (p.data == pipelining_obs::data_sync::tolerated)
    out.push_back({"protocol.pipelining.data_sync",
                   severity::low,
                   control_area::protocol,
                   "Bytes sent before the 354 reply to DATA are accepted as message content (RFC 2920 sync point)",
                   subject_of(o),
                   p.data_evidence,
                   {"mailfort refuses content sent before its 354 (554 5.5.0, connection closed)",
                    "smtpd_forbid_unauth_pipelining = yes (default from Postfix 3.9; available in 3.8.1, 3.7.6, "
                    "3.6.10, 3.5.20)",
                    "smtp_enforce_sync = true (the default)"}});
}

}  // namespace mailfort::audit
