// audit/checks/spf.cpp: [pure] SPF record: presence, syntax, DNS-term count (> 10 is a permerror, RFC 7208
// 4.6.4), void lookups (> 2), and the strength of "all".
// SPDX-License-Identifier: MIT
#include "audit/domain_observations.hpp"

namespace mailfort::audit {

namespace {
fix_text spf_fix(const std::string& d) {
  return {"mailfort dns-records --domain " + d + " prints an SPF record (\"v=spf1 mx -all\")",
          "publish one TXT \"v=spf1 mx -all\" (list only the hosts that send)", "publish one TXT \"v=spf1 mx -all\""};
}
}  // namespace

void check_spf(const domain_observations& o, std::vector<finding>& out) {
  const auto& s = o.spf;
  const auto& d = o.domain;
  using st = spf_obs::state;
  switch (s.st) {
    case st::none:
      out.push_back({"spf.missing", severity::high, control_area::spf, "No SPF record", d,
                     "no TXT record starting with v=spf1", spf_fix(d)});
      return;
    case st::multiple:
      out.push_back({"spf.multiple", severity::high, control_area::spf,
                     "More than one SPF record (a permerror for every receiver)", d, s.record, spf_fix(d)});
      return;
    case st::syntax_error:
      out.push_back({"spf.syntax", severity::high, control_area::spf, "The SPF record has a syntax error", d,
                     s.record + " (" + s.error + ")", spf_fix(d)});
      return;
    case st::lookup_failed:
      out.push_back(
          {"spf.lookup_failed", severity::medium, control_area::spf, "The SPF lookup fails", d, s.error, spf_fix(d)});
      return;
    case st::ok:
      break;
  }
  if (s.dns_terms > 10)
    out.push_back(
        {"spf.too_many_lookups",
         severity::high,
         control_area::spf,
         "The SPF record needs more than 10 DNS lookups: receivers return permerror",
         d,
         std::to_string(s.dns_terms) + " DNS-querying terms (include, a, mx, ptr, exists, redirect): " + s.record,
         {"flatten includes into ip4:/ip6: ranges or drop unused ones", "", ""}});
  if (s.void_lookups > 2)
    out.push_back({"spf.void_lookups",
                   severity::medium,
                   control_area::spf,
                   "The SPF record causes more than 2 void lookups: receivers may return permerror",
                   d,
                   std::to_string(s.void_lookups) + " lookups returned no data",
                   {"remove terms naming non-existent hosts", "", ""}});
  for (const auto& p : s.problems)
    out.push_back({"spf.include_problem",
                   severity::medium,
                   control_area::spf,
                   "An SPF include or redirect is broken",
                   d,
                   p,
                   {"fix or remove the include", "", ""}});
  if (s.uses_ptr)
    out.push_back({"spf.ptr", severity::low, control_area::spf,
                   "The SPF record uses the ptr mechanism (RFC 7208 5.5: do not use)", d, s.record, spf_fix(d)});
  switch (s.all_qualifier) {
    case '+':
      out.push_back({"spf.all.pass", severity::critical, control_area::spf,
                     "SPF ends in +all: every host on the Internet may send as this domain", d, s.record, spf_fix(d)});
      break;
    case '?':
      out.push_back({"spf.all.neutral", severity::medium, control_area::spf,
                     "SPF ends in ?all: unlisted senders are neutral, not failed", d, s.record, spf_fix(d)});
      break;
    case '~':
      out.push_back({"spf.all.softfail", severity::low, control_area::spf,
                     "SPF ends in ~all (softfail): fine with DMARC p=reject, weak without", d, s.record, spf_fix(d)});
      break;
    case '-':
      break;
    default:
      if (!s.has_redirect)
        out.push_back({"spf.all.missing", severity::medium, control_area::spf,
                       "SPF has no \"all\" term: unlisted senders get neutral", d, s.record, spf_fix(d)});
  }
}

}  // namespace mailfort::audit
