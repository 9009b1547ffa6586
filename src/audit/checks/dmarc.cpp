// audit/checks/dmarc.cpp: [pure] DMARC record: present, p, sp, pct, rua.
// SPDX-License-Identifier: MIT
#include "audit/domain_observations.hpp"

namespace mailfort::audit {

void check_dmarc(const domain_observations& o, std::vector<finding>& out) {
  const auto& m = o.dmarc;
  std::string subj = "_dmarc." + o.domain;
  fix_text fix = {"mailfort dns-records --domain " + o.domain + " prints a DMARC record",
                  "publish TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@" + o.domain + "\"",
                  "publish TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@" + o.domain + "\""};
  using st = dmarc_obs::state;
  switch (m.st) {
    case st::missing:
      out.push_back({"dmarc.missing", severity::high, control_area::dmarc,
                     "No DMARC record: anyone can spoof the From: domain", subj, "", fix});
      return;
    case st::invalid:
      out.push_back({"dmarc.invalid", severity::high, control_area::dmarc, "The DMARC record is invalid", subj,
                     m.record + " (" + m.error + ")", fix});
      return;
    case st::lookup_failed:
      out.push_back({"dmarc.lookup_failed", severity::medium, control_area::dmarc, "The DMARC lookup fails", subj,
                     m.error, fix});
      return;
    case st::ok:
      break;
  }
  if (m.p == "none")
    out.push_back({"dmarc.policy.none", severity::medium, control_area::dmarc,
                   "DMARC policy is p=none: spoofed mail is delivered (monitoring only)", subj, m.record, fix});
  else if (m.sp == "none")
    out.push_back({"dmarc.subdomain_policy.none", severity::low, control_area::dmarc,
                   "DMARC subdomain policy is sp=none: subdomains can be spoofed", subj, m.record, fix});
  if (m.pct < 100 && m.p != "none")
    out.push_back({"dmarc.pct", severity::low, control_area::dmarc,
                   "DMARC applies the policy to only pct=" + std::to_string(m.pct) + "% of failing mail", subj, m.record,
                   fix});
  if (!m.has_rua)
    out.push_back({"dmarc.no_rua", severity::low, control_area::dmarc,
                   "DMARC has no rua: no aggregate reports show who sends as the domain", subj, m.record, fix});
}

}  // namespace mailfort::audit
