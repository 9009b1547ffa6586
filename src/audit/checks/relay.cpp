// audit/checks/relay.cpp: [pure] open relay: the classic relay-trick address forms, RCPT only.
// SPDX-License-Identifier: MIT
// The forms are those relay testers have used since the 1990s (percent hack, source routes, bang paths,
// quoted local parts, the server's own [ip] literal) because old address rewriting turned them into remote
// addresses after the relay check. A 2xx to any of them, unauthenticated, is an open relay.
#include "audit/smtp_observations.hpp"

#include <cctype>

namespace mailfort::audit {

std::vector<relay_attempt> relay_forms(std::string_view user, std::string_view domain, std::string_view ip,
                                       std::string_view server_name) {
  std::string u(user), d(domain), lit = "[" + std::string(ip) + "]";
  std::string local = server_name.empty() ? lit : std::string(server_name);
  std::string from = "relay-audit@" + d;
  std::vector<relay_attempt> v;
  auto add = [&](std::string form, std::string mail, std::string rcpt) {
    relay_attempt a;
    a.form = std::move(form);
    a.mail_from = std::move(mail);
    a.rcpt = std::move(rcpt);
    v.push_back(std::move(a));
  };
  add("plain", from, u + "@" + d);
  add("null-sender", "", u + "@" + d);
  add("local-sender", "postmaster@" + local, u + "@" + d);
  add("quoted", from, "\"" + u + "@" + d + "\"");
  add("percent-hack", from, u + "%" + d + "@" + local);
  add("percent-hack-literal", from, u + "%" + d + "@" + lit);
  add("bang-path", from, d + "!" + u + "@" + local);
  add("source-route", from, "@" + local + ":" + u + "@" + d);
  add("double-at", from, u + "@" + d + "@" + local);
  add("quoted-at-literal", from, "\"" + u + "@" + d + "\"@" + lit);
  add(
      "uppercase-domain", from, u + "@" + [&] {
        std::string s = d;
        for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
      }());
  add("trailing-dot", from, u + "@" + d + ".");
  return v;
}

void check_relay(const smtp_observations& o, std::vector<finding>& out) {
  std::string accepted;
  bool relayed = false;
  for (const auto& a : o.relay) {
    if (a.rcpt_code >= 200 && a.rcpt_code < 300) {
      accepted += a.form + ": MAIL FROM:<" + a.mail_from + "> RCPT TO:<" + a.rcpt + "> -> " +
                  std::to_string(a.rcpt_code) + " " + a.rcpt_text + "; ";
      relayed |= a.data_code >= 200 && a.data_code < 300;
    }
  }
  if (accepted.empty()) return;
  out.push_back({relayed ? "relay.open.confirmed" : "relay.open",
                 severity::critical,
                 control_area::relay,
                 relayed ? "Open relay: a message to a foreign domain was accepted for delivery"
                         : "Open relay: recipients in a foreign domain are accepted without authentication",
                 subject_of(o),
                 accepted,
                 {"[relay] trusted_networks = [] (the default); relaying needs AUTH",
                  "mynetworks = 127.0.0.0/8 [::1]/128; smtpd_relay_restrictions = permit_mynetworks, "
                  "permit_sasl_authenticated, reject_unauth_destination",
                  "hostlist relay_from_hosts = 127.0.0.1; acl_check_rcpt: require verify = recipient / "
                  "deny !authenticated and domains not in +local_domains"}});
}

}  // namespace mailfort::audit
