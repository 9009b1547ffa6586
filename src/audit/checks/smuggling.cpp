// audit/checks/smuggling.cpp: [pure] SMTP smuggling (CVE-2023-51764/51765/51766): fake end-of-data sequences.
// SPDX-License-Identifier: MIT
// Reply-based, as smtpsmug does it: the probe sends a message whose body holds one fake end-of-data
// sequence, waits; an answer before the real <CR><LF>.<CR><LF> means the server ended the message there and
// would read what follows as new commands (it splits messages: critical, since a permissive outbound relay
// lets anyone spoof mail as that relay's domains). Keeping the bytes as content is RFC-compliant for the
// receiver but passes smuggled bytes on if the server relays (low). The variant list is the SEC Consult /
// smtpsmug set (conformance/smuggling/eod-variants.json).
#include "audit/smtp_observations.hpp"

namespace mailfort::audit {

const std::vector<eod_variant>& eod_variants() {
  using namespace std::string_view_literals;
  static const std::vector<eod_variant> v = {
      {"lf-dot-lf", "<LF>.<LF>", "\n.\n"sv},
      {"lf-dot-cr", "<LF>.<CR>", "\n.\r"sv},
      {"cr-dot-lf", "<CR>.<LF>", "\r.\n"sv},
      {"cr-dot-cr", "<CR>.<CR>", "\r.\r"sv},
      {"lf-dot-crlf", "<LF>.<CR><LF>", "\n.\r\n"sv},
      {"cr-dot-crlf", "<CR>.<CR><LF>", "\r.\r\n"sv},
      {"crlf-dot-lf", "<CR><LF>.<LF>", "\r\n.\n"sv},
      {"crlf-dot-cr", "<CR><LF>.<CR>", "\r\n.\r"sv},
      {"crlf-nul-dot-crlf", "<CR><LF><NUL>.<CR><LF>", "\r\n\0.\r\n"sv},
      {"crlf-dot-nul-crlf", "<CR><LF>.<NUL><CR><LF>", "\r\n.\0\r\n"sv},
  };
  return v;
}

void check_smuggling(const smtp_observations& o, std::vector<finding>& out) {
  std::string eod, content;
  for (const auto& s : o.smuggling) {
    if (s.result == smuggling_probe::outcome::end_of_data) eod += s.notation + " (" + s.evidence + "); ";
    if (s.result == smuggling_probe::outcome::content) content += s.notation + " ";
  }
  if (!eod.empty())
    out.push_back({"protocol.smuggling.end_of_data",
                   severity::critical,
                   control_area::protocol,
                   "SMTP smuggling: the server takes a fake end-of-data sequence as the end of the message",
                   subject_of(o),
                   "accepted as end of data: " + eod,
                   {"mailfort accepts only <CR><LF>.<CR><LF> and rejects bare CR/LF in DATA",
                    "smtpd_forbid_bare_newline = normalize (3.9; or yes/reject on 3.5.24+, 3.6.14+, 3.7.10+, "
                    "3.8.5+) and smtpd_forbid_unauth_pipelining = yes",
                    "upgrade to Exim 4.97.1 or later (CVE-2023-51766); until then chunking_advertise_hosts = "
                    "and pipelining_advertise_hosts = "}});
  if (!content.empty())
    out.push_back({"protocol.smuggling.kept_as_content",
                   severity::low,
                   control_area::protocol,
                   "Bare CR/LF end-of-data look-alikes are kept in message content instead of being rejected",
                   subject_of(o),
                   "kept as content: " + content,
                   {"mailfort rejects them by default",
                    "smtpd_forbid_bare_newline = reject (and cleanup_replace_stray_cr_lf = yes for relayed mail)",
                    "Exim 4.98 turns bare LF in the body into a space; keep it up to date"}});
}

}  // namespace mailfort::audit
