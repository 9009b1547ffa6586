// audit/checks/dmarc.cpp: [pure] DMARC record: present, p, sp, pct, rua; for a subdomain without its own
// record, the organisational domain's record and the sp= it applies (RFC 7489 6.6.3).
// SPDX-License-Identifier: MIT
#include "audit/domain_observations.hpp"

namespace mailfort::audit {

void check_dmarc(const domain_observations& o, std::vector<finding>& out) {
  const auto& m = o.dmarc;
  std::string subj = "_dmarc." + (m.policy_domain.empty() ? o.domain : m.policy_domain);
  fix_text fix = {"mailfort dns-records --domain " + o.domain + " prints a DMARC record",
                  "publish TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@" + o.domain + "\"",
                  "publish TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@" + o.domain + "\""};
  using st = dmarc_obs::state;
  switch (m.st) {
    case st::missing:
      out.push_back({"dmarc.missing", severity::high, control_area::dmarc,
                     "No DMARC record: anyone can spoof the From: domain", "_dmarc." + o.domain,
                     m.org_domain.empty() ? "no v=DMARC1 record at _dmarc." + o.domain
                                          : "no v=DMARC1 record at _dmarc." + o.domain +
                                                " nor at the organisational "
                                                "domain's _dmarc." +
                                                m.org_domain,
                     fix});
      return;
    case st::invalid:
      out.push_back({"dmarc.invalid", severity::high, control_area::dmarc, "The DMARC record is invalid", subj,
                     m.record + " (" + m.error + ")", fix});
      return;
    case st::lookup_failed:
      out.push_back(
          {"dmarc.lookup_failed", severity::medium, control_area::dmarc, "The DMARC lookup fails", subj, m.error, fix});
      return;
    case st::ok:
      break;
  }
  if (m.inherited) {
    // No record of its own: receivers apply the organisational domain's sp= (p= when sp= is absent).
    out.push_back(
        {"dmarc.inherited", severity::info, control_area::dmarc,
         o.domain + " has no DMARC record of its own: the organisational domain's record applies, with sp=" + m.sp,
         subj, "no record at _dmarc." + o.domain + "; " + subj + ": " + m.record, fix});
    if (m.sp == "none")
      out.push_back({"dmarc.policy.none",
                     severity::medium,
                     control_area::dmarc,
                     "DMARC policy for " + o.domain +
                         " is none (the organisational domain's sp=none): spoofed mail "
                         "is delivered",
                     subj,
                     m.record,
                     {fix.mailfort, "publish sp=reject at " + subj + " or a record at _dmarc." + o.domain,
                      "publish sp=reject at " + subj + " or a record at _dmarc." + o.domain}});
  } else if (m.p == "none")
    out.push_back({"dmarc.policy.none", severity::medium, control_area::dmarc,
                   "DMARC policy is p=none: spoofed mail is delivered (monitoring only)", subj, m.record, fix});
  else if (m.sp == "none")
    out.push_back({"dmarc.subdomain_policy.none", severity::low, control_area::dmarc,
                   "DMARC subdomain policy is sp=none: subdomains can be spoofed", subj, m.record, fix});
  if (m.pct < 100 && m.p != "none")
    out.push_back({"dmarc.pct", severity::low, control_area::dmarc,
                   "DMARC applies the policy to only pct=" + std::to_string(m.pct) + "% of failing mail", subj,
                   m.record, fix});
  if (!m.has_rua)
    out.push_back({"dmarc.no_rua", severity::low, control_area::dmarc,
                   "DMARC has no rua: no aggregate reports show who sends as the domain", subj, m.record, fix});
}

}  // namespace mailfort::audit
