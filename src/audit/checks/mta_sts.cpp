// audit/checks/mta_sts.cpp: [pure] MTA-STS (RFC 8461): record, policy fetch and validity, mode, MX patterns
// against the real MX set; and the TLS-RPT record (RFC 8460) that reports its failures.
// SPDX-License-Identifier: MIT
#include "audit/domain_observations.hpp"

namespace mailfort::audit {

void check_mta_sts(const domain_observations& o, std::vector<finding>& out) {
  const auto& s = o.mta_sts;
  std::string subj = "_mta-sts." + o.domain;
  fix_text fix = {"mailfort dns-records --domain " + o.domain +
                      " prints the TXT record and the policy to serve at https://mta-sts." + o.domain +
                      "/.well-known/mta-sts.txt",
                  "", ""};
  using st = mta_sts_obs::state;
  switch (s.st) {
    case st::none:
      if (o.mx == domain_observations::mx_state::ok)
        out.push_back({"mta_sts.missing", severity::low, control_area::mta_sts,
                       "No MTA-STS: senders cannot insist on authenticated TLS (downgrade to cleartext possible)", subj,
                       "", fix});
      return;
    case st::lookup_failed:
      out.push_back({"mta_sts.lookup_failed", severity::low, control_area::mta_sts, "The MTA-STS TXT lookup fails",
                     subj, s.detail, fix});
      return;
    case st::record_invalid:
      out.push_back({"mta_sts.record_invalid", severity::medium, control_area::mta_sts,
                     "The _mta-sts TXT record is invalid", subj, s.record, fix});
      return;
    case st::fetch_failed:
      out.push_back({"mta_sts.fetch_failed", severity::high, control_area::mta_sts,
                     "The MTA-STS policy cannot be fetched over verified HTTPS", "https://mta-sts." + o.domain,
                     s.detail, fix});
      return;
    case st::policy_invalid:
      out.push_back({"mta_sts.policy_invalid", severity::high, control_area::mta_sts, "The MTA-STS policy is invalid",
                     "https://mta-sts." + o.domain, s.detail, fix});
      return;
    case st::ok:
      break;
  }
  if (s.mode == "testing")
    out.push_back({"mta_sts.mode.testing", severity::low, control_area::mta_sts,
                   "MTA-STS is in testing mode: failures are reported, not enforced", subj, "mode: testing", fix});
  else if (s.mode == "none")
    out.push_back({"mta_sts.mode.none", severity::medium, control_area::mta_sts,
                   "MTA-STS policy has mode none (withdrawn)", subj, "mode: none", fix});
  if (!s.unmatched_mx.empty() && s.mode != "none") {
    std::string hosts, pats;
    for (const auto& h : s.unmatched_mx) hosts += (hosts.empty() ? "" : ", ") + h;
    for (const auto& p : s.patterns) pats += (pats.empty() ? "" : ", ") + p;
    out.push_back({"mta_sts.mx_mismatch", s.mode == "enforce" ? severity::critical : severity::high,
                   control_area::mta_sts,
                   "MX hosts not covered by the MTA-STS policy: compliant senders refuse to deliver to them", subj,
                   "MX not matched: " + hosts + "; policy mx: " + pats, fix});
  }
}

void check_tls_rpt(const domain_observations& o, std::vector<finding>& out) {
  std::string subj = "_smtp._tls." + o.domain;
  switch (o.tls_rpt.st) {
    case tls_rpt_obs::state::none:
      if (o.mx == domain_observations::mx_state::ok)
        out.push_back({"tls_rpt.missing",
                       severity::low,
                       control_area::tls_rpt,
                       "No TLS-RPT record: TLS delivery failures towards this domain go unreported",
                       subj,
                       "",
                       {"publish TXT \"v=TLSRPTv1; rua=mailto:tls-reports@" + o.domain + "\"", "", ""}});
      break;
    case tls_rpt_obs::state::invalid:
      out.push_back({"tls_rpt.invalid",
                     severity::low,
                     control_area::tls_rpt,
                     "The TLS-RPT record is invalid",
                     subj,
                     o.tls_rpt.record,
                     {"publish TXT \"v=TLSRPTv1; rua=mailto:tls-reports@" + o.domain + "\"", "", ""}});
      break;
    default:
      break;
  }
}

}  // namespace mailfort::audit
