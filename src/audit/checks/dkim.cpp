// audit/checks/dkim.cpp: [pure] DKIM key records for the given selectors: present, valid, key size, t=y.
// SPDX-License-Identifier: MIT
// RSA keys under 1024 bits are refused by verifiers (RFC 8301 3.2); 1024 is the floor and 2048 the advice.
#include "audit/domain_observations.hpp"

namespace mailfort::audit {

void check_dkim(const domain_observations& o, std::vector<finding>& out) {
  for (const auto& k : o.dkim) {
    std::string subj = k.selector + "._domainkey." + o.domain;
    fix_text fix = {"mailfort dkim keygen --domain " + o.domain + " --selector " + k.selector +
                        " --algo rsa2048 (or ed25519 next to it), then publish the printed record",
                    "opendkim-genkey -b 2048 -d " + o.domain + " -s " + k.selector,
                    "dkim_private_key with a 2048-bit key; publish its public half"};
    using st = dkim_obs::state;
    switch (k.st) {
      case st::missing:
        out.push_back(
            {"dkim.missing", severity::high, control_area::dkim, "No DKIM key record for the selector", subj, "", fix});
        continue;
      case st::invalid:
        out.push_back(
            {"dkim.invalid", severity::high, control_area::dkim, "The DKIM key record is invalid", subj, k.error, fix});
        continue;
      case st::revoked:
        out.push_back(
            {"dkim.revoked", severity::info, control_area::dkim, "The DKIM key is revoked (empty p=)", subj, "", {}});
        continue;
      case st::lookup_failed:
        out.push_back({"dkim.lookup_failed", severity::medium, control_area::dkim, "The DKIM key lookup fails", subj,
                       k.error, fix});
        continue;
      case st::ok:
        break;
    }
    if (k.key_type == "rsa" && k.key_bits > 0 && k.key_bits < 1024)
      out.push_back({"dkim.key.too_small", severity::high, control_area::dkim,
                     "The DKIM RSA key is under 1024 bits: verifiers ignore it (RFC 8301)", subj,
                     std::to_string(k.key_bits) + " bits", fix});
    else if (k.key_type == "rsa" && k.key_bits > 0 && k.key_bits < 2048)
      out.push_back({"dkim.key.weak", severity::medium, control_area::dkim, "The DKIM RSA key is under 2048 bits", subj,
                     std::to_string(k.key_bits) + " bits", fix});
    if (k.testing)
      out.push_back({"dkim.testing",
                     severity::low,
                     control_area::dkim,
                     "The DKIM key is in testing mode (t=y): verifiers may ignore failures",
                     subj,
                     "t=y",
                     {"remove t=y from the published record", "", ""}});
  }
}

}  // namespace mailfort::audit
