// audit/checks/dane.cpp: [pure] DANE TLSA per MX (RFC 7672): DNSSEC-secure? matches the served certificate?
// SPDX-License-Identifier: MIT
// TLSA records in an unsigned zone are ignored by senders (useless, not harmful: low); a secure TLSA RRset
// that matches nothing the server presents makes DANE senders refuse to deliver: critical.
#include "audit/domain_observations.hpp"

namespace mailfort::audit {

void check_dane(const domain_observations& o, std::vector<finding>& out) {
  for (const auto& h : o.hosts) {
    std::string subj = "_25._tcp." + h.host;
    fix_text fix = {"mailfort dns-records --domain " + o.domain + " prints the TLSA record for the current certificate",
                    "publish \"3 1 1 <sha256 of the key>\" and roll it before changing the key",
                    "publish \"3 1 1 <sha256 of the key>\" and roll it before changing the key"};
    switch (h.tlsa) {
      case mx_obs::tlsa_state::none:
      case mx_obs::tlsa_state::lookup_failed:
        continue;
      case mx_obs::tlsa_state::insecure:
        out.push_back({"dane.insecure", severity::low, control_area::dane,
                       "TLSA records are published but the zone is not DNSSEC-signed: senders ignore them", subj,
                       std::to_string(h.tlsa_records) + " TLSA record(s), DNSSEC insecure", fix});
        continue;
      case mx_obs::tlsa_state::secure:
        break;
    }
    if (h.dane_match && !*h.dane_match)
      out.push_back({"dane.mismatch", severity::critical, control_area::dane,
                     "No TLSA record matches the certificate the MX presents: DANE senders will not deliver", subj,
                     h.dane_detail, fix});
  }
}

}  // namespace mailfort::audit
