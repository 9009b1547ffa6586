// audit/checks/capabilities.cpp: [pure] EHLO capabilities: STARTTLS offered, AUTH before TLS, AUTH on port 25, SIZE.
// SPDX-License-Identifier: MIT
// AUTH advertised before STARTTLS invites clients to send passwords in cleartext (RFC 4954 4: a server should
// not offer plaintext mechanisms without TLS); a mail exchanger without STARTTLS exposes all mail in transit.
#include "audit/smtp_observations.hpp"

namespace mailfort::audit {

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}
}  // namespace

void check_capabilities(const smtp_observations& o, const smtp_check_options& opt, std::vector<finding>& out) {
  if (!o.ehlo) return;
  const auto& c = *o.ehlo;
  if (!c.starttls) {
    out.push_back({"tls.starttls.missing",
                   severity::high,
                   control_area::tls,
                   "STARTTLS is not offered",
                   subject_of(o),
                   "EHLO capabilities without STARTTLS",
                   {"[tls] certificate/key (STARTTLS is always on in mailfort)",
                    "smtpd_tls_security_level = may, smtpd_tls_chain_files = key.pem, fullchain.pem",
                    "tls_advertise_hosts = *, tls_certificate/tls_privatekey"}});
  } else if (o.starttls_attempted && !o.starttls_ok) {
    out.push_back({"tls.starttls.broken",
                   severity::high,
                   control_area::tls,
                   "STARTTLS is offered but the TLS handshake fails",
                   subject_of(o),
                   o.starttls_error,
                   {"check [tls] certificate and key", "check smtpd_tls_chain_files and the smtpd log",
                    "check tls_certificate, tls_privatekey and the main log"}});
  }
  if (!c.auth.empty()) {
    bool plain = false;
    for (const auto& m : c.auth) plain |= m == "PLAIN" || m == "LOGIN";
    out.push_back({"auth.before_tls",
                   plain ? severity::high : severity::medium,
                   control_area::auth,
                   "AUTH is offered before STARTTLS: passwords can be sent in cleartext",
                   subject_of(o),
                   "EHLO (cleartext) advertises AUTH " + join(c.auth),
                   {"mailfort offers AUTH only inside TLS; do not set [auth] allow_plaintext",
                    "smtpd_tls_auth_only = yes", "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}"}});
  }
  const auto& after = o.ehlo_tls ? *o.ehlo_tls : c;
  if (opt.mx_role && !after.auth.empty()) {
    out.push_back({"auth.on_mx_port",
                   severity::low,
                   control_area::auth,
                   "AUTH is offered on the MX port: password guessing on port 25 (submission belongs on 587/465)",
                   subject_of(o),
                   "EHLO advertises AUTH " + join(after.auth),
                   {"mailfort's MX listener has no AUTH; use the submission listeners",
                    "remove smtpd_sasl_auth_enable from the port-25 smtpd (set it in master.cf for submission only)",
                    "auth_advertise_hosts = ${if ={$received_port}{25}{}{*}}"}});
  }
  if (!c.size && !(o.ehlo_tls && o.ehlo_tls->size)) {
    out.push_back({"protocol.size.missing",
                   severity::low,
                   control_area::protocol,
                   "SIZE is not advertised: clients cannot learn the message size limit before sending",
                   subject_of(o),
                   "EHLO capabilities without SIZE",
                   {"[limits] max_message_bytes", "message_size_limit = 26214400", "message_size_limit = 25M"}});
  } else if (c.size && c.size_limit == 0) {
    out.push_back({"protocol.size.unlimited",
                   severity::low,
                   control_area::protocol,
                   "SIZE is advertised without a limit",
                   subject_of(o),
                   "EHLO: SIZE (no number)",
                   {"[limits] max_message_bytes", "message_size_limit = 26214400", "message_size_limit = 25M"}});
  }
}

}  // namespace mailfort::audit
