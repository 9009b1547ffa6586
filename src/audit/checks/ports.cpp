// audit/checks/ports.cpp: [pure] port roles: submission (587) must require STARTTLS before AUTH; smtps (465)
// must speak TLS first.
// SPDX-License-Identifier: MIT
#include "audit/smtp_observations.hpp"

namespace mailfort::audit {

void check_ports(const smtp_observations& o, std::vector<finding>& out) {
  for (const auto& p : o.ports) {
    std::string subj = o.host + ":" + std::to_string(p.port) + " (" + p.role + ")";
    if (!p.reachable) continue;  // recorded as a check error by the probe
    if (p.role == "smtps" && !p.tls_ok) {
      out.push_back(
          {"auth.smtps.no_tls",
           severity::high,
           control_area::auth,
           "The implicit-TLS submission port does not complete a TLS handshake",
           subj,
           p.error,
           {"[listeners] submissions with [tls] certificate",
            "master.cf: submissions inet ... smtpd -o smtpd_tls_wrappermode=yes", "tls_on_connect_ports = 465"}});
    }
    if (!p.auth_before_tls.empty()) {
      std::string m;
      for (const auto& x : p.auth_before_tls) m += (m.empty() ? "" : " ") + x;
      out.push_back({"auth.submission.plaintext",
                     severity::high,
                     control_area::auth,
                     "The submission port offers AUTH before TLS: passwords can travel in cleartext",
                     subj,
                     "cleartext EHLO advertises AUTH " + m,
                     {"mailfort's submission listener offers AUTH only after STARTTLS",
                      "master.cf submission: -o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes",
                      "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}"}});
    }
    if (p.role == "submission" && !p.starttls_offered && !p.tls_ok) {
      out.push_back({"auth.submission.no_starttls",
                     severity::high,
                     control_area::auth,
                     "The submission port does not offer STARTTLS",
                     subj,
                     "",
                     {"[listeners] submission with [tls] certificate",
                      "master.cf submission: -o smtpd_tls_security_level=encrypt", "tls_advertise_hosts = *"}});
    }
  }
}

}  // namespace mailfort::audit
