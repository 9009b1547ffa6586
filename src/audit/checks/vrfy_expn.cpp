// audit/checks/vrfy_expn.cpp: [pure] VRFY/EXPN user enumeration (only postmaster and the --user list are tried).
// SPDX-License-Identifier: MIT
// RFC 5321 3.5.3: 252 "cannot verify" is the safe answer; 250/251 confirms an address exists, which lets
// anyone harvest valid recipients for spam and password guessing.
#include "audit/smtp_observations.hpp"

namespace mailfort::audit {

void check_user_enumeration(const smtp_observations& o, std::vector<finding>& out) {
  std::string vrfy, expn;
  auto line = [](const smtp_observations::user_probe& p) {
    return p.command + " " + p.user + " -> " + std::to_string(p.code) + " " + p.text + "; ";
  };
  bool known_2xx = false;
  const smtp_observations::user_probe* control = nullptr;
  for (const auto& p : o.user_probes) {
    if (p.control) {
      if (p.command == "VRFY") control = &p;
      continue;
    }
    if (p.command == "VRFY" && p.code >= 250 && p.code <= 252) known_2xx = true;
    if (p.code != 250 && p.code != 251) continue;
    (p.command == "VRFY" ? vrfy : expn) += line(p);
  }
  // Postfix answers 252 for existing and 550 for unknown local users: the difference enumerates them.
  if (vrfy.empty() && known_2xx && control && (control->code == 550 || control->code == 551 || control->code == 553)) {
    for (const auto& p : o.user_probes)
      if (p.command == "VRFY") vrfy += line(p);
  }
  if (!vrfy.empty())
    out.push_back({"disclosure.vrfy",
                   severity::medium,
                   control_area::disclosure,
                   "VRFY tells existing addresses from unknown ones (user enumeration)",
                   subject_of(o),
                   vrfy,
                   {"mailfort answers every VRFY with 252", "disable_vrfy_command = yes",
                    "acl_smtp_vrfy = deny (the default when unset is to refuse)"}});
  if (!expn.empty())
    out.push_back(
        {"disclosure.expn",
         severity::medium,
         control_area::disclosure,
         "EXPN expands addresses or lists (user enumeration)",
         subject_of(o),
         expn,
         {"mailfort refuses EXPN", "Postfix refuses EXPN unless a list is configured; disable_vrfy_command = yes",
          "acl_smtp_expn = deny"}});
}

}  // namespace mailfort::audit
