// auth/dmarc_report.hpp: [pure] the DMARC aggregate report (RFC 7489 7.2 and Appendix C): the XML document of
// one policy domain's rows for one reporting period. No I/O; report/dmarc_send mails it.
// SPDX-License-Identifier: MIT
// Input is partly untrusted: header_from and the policy domain come from mail and DNS that anyone controls.
// Every text is escaped (& < > " '), bytes that are not valid UTF-8 or not XML 1.0 characters (C0 controls
// other than tab/LF/CR, surrogates, U+FFFE/U+FFFF) become U+FFFD, so the document is well-formed whatever the
// input; the builder never throws. Enumerated values are written only from their allowed sets: a disposition
// other than quarantine/reject is "none", a dkim/spf result other than "pass" is "fail".
// auth_results (RFC 7489 Appendix C: one <spf> always, one <dkim> per signature) comes from the raw results each
// row carries (raw_auth: the SPF domain, scope and result, each signature's d=, s= and result), so every report
// validates against the Appendix C schema (tests/schemas/, checked with xmllint). An IPv6 source_ip is written in
// its full eight-group form, the only IPv6 form the schema's IPAddress pattern accepts.
#pragma once
#include "auth/dmarc_record.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dmarc {

// The raw (not DMARC-interpreted) results of one message, for <auth_results>.
struct spf_auth {
  std::string domain;           // the MAIL FROM domain, or the HELO name
  std::string scope = "mfrom";  // mfrom | helo
  std::string result = "none";  // none neutral pass fail softfail temperror permerror
};
struct dkim_auth {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string result;    // none pass fail policy neutral temperror permerror
};
struct raw_auth {
  spf_auth spf;
  std::vector<dkim_auth> dkim;  // one per signature checked (at most max_raw_dkim are kept)
};
inline constexpr std::size_t max_raw_dkim = 50;
// One line of text for storage (state.db) and back: fields escaped, so any bytes round-trip. decode never throws;
// text it cannot read gives the defaults (spf none, no signatures).
std::string encode_raw_auth(const raw_auth& a);
raw_auth decode_raw_auth(std::string_view text);

// One stored row: messages with this source IP, outcome and author domain.
struct aggregate_row {
  std::string source_ip;
  std::string disposition;  // none | quarantine | reject: what we did
  std::string dkim;         // aligned DKIM result: pass | fail
  std::string spf;          // aligned SPF result: pass | fail
  std::string header_from;  // RFC5322.From domain
  std::int64_t count = 0;
  std::string auth;  // encode_raw_auth() of the raw results; "" (rows stored before it existed): spf none
};

struct aggregate_report {
  std::string org_name;    // report_metadata/org_name: our host name
  std::string email;       // report_metadata/email: the contact address
  std::string report_id;   // report_metadata/report_id
  std::int64_t begin = 0;  // date_range, unix seconds (UTC)
  std::int64_t end = 0;
  std::string policy_domain;  // policy_published/domain
  record policy;              // the published record: adkim, aspf, p, sp, pct
  std::vector<aggregate_row> rows;
};

// The report: one <record> per distinct (source_ip, disposition, dkim, spf, header_from, auth), counts summed
// (negative counts count as 0, sums saturate; a record whose sum is 0 is left out), in a stable order.
std::string build_aggregate_report_xml(const aggregate_report& in);

// Text for XML element content or attribute values: escaped, valid UTF-8, XML 1.0 characters only.
std::string xml_text(std::string_view s);

}  // namespace mailfort::dmarc
