// report/tlsrpt_send.hpp: sending TLS-RPT aggregate reports (RFC 8460 5): for every (day, policy domain) in
// the store, look up _smtp._tls.<domain>, build the JSON report, and queue one mail per mailto: rua.
// SPDX-License-Identifier: MIT
// The mail (RFC 8460 5.3): multipart/report; report-type="tlsrpt", a text part and the report as an
// application/tlsrpt+gzip attachment (base64), Subject "Report Domain: D Submitter: S Report-ID: <ID>", the
// TLS-Report-Domain and TLS-Report-Submitter header fields, From tlsrpt-noreply@<hostname>, DKIM-signed when a
// [dkim] key for the From domain is configured. The envelope sender is null (<>): a report that cannot be
// delivered must not bounce back (and loop). https: rua URIs are not supported (logged, skipped).
// Rows are deleted once the domain's reports are queued, or when the domain publishes no valid record
// (nobody to tell); on a DNS failure they stay for the next run.
#pragma once
#include "config/config.hpp"
#include "dns/resolver.hpp"
#include "report/report_mail.hpp"
#include "report/tlsrpt.hpp"
#include "report/tlsrpt_store.hpp"
#include "queue/spool.hpp"

#include <cstdint>
#include <string>

namespace mailfort::report {

struct tlsrpt_mail_input {
  std::string submitter;  // our host name
  std::string from;       // From: address
  std::string to;         // the rua address
  std::string policy_domain;
  std::string report_id;
  std::int64_t start = 0, end = 0, now = 0;
  std::string json;  // the report
  bool gzip = true;  // application/tlsrpt+gzip (else application/tlsrpt+json)
};
// The report mail (CRLF lines), not signed.
std::string build_tlsrpt_mail(const tlsrpt_mail_input& in);

struct tlsrpt_send_stats {
  std::size_t reports = 0;    // mails queued
  std::size_t domains = 0;    // (day, domain) pairs handled
  std::size_t no_record = 0;  // dropped: no valid TLSRPT record
  std::size_t deferred = 0;   // kept: DNS failure
};

// Sends the reports of every completed day (day < today, UTC) or, with include_today, of every day.
// Blocking (DNS through `resolver.lookup_sync`, SQLite, a durable spool store); logs tlsrpt_* events.
tlsrpt_send_stats send_tlsrpt_reports(const config::config& cfg, tlsrpt_store& store, dns::resolver& resolver,
                                      queue::spool& spool, std::int64_t now, bool include_today);

}  // namespace mailfort::report
