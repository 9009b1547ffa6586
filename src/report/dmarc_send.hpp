// report/dmarc_send.hpp: sending DMARC aggregate reports (RFC 7489 7.2): for every (UTC day, policy
// domain) in inbound/dmarc_store, look up _dmarc.<domain> now, build the XML report (auth/dmarc_report) and
// queue one mail per usable mailto: rua.
// SPDX-License-Identifier: MIT
// Destinations (RFC 7489 7.1): only mailto: URIs (https: and other schemes are logged and skipped); an address
// outside the policy domain's organizational domain (PSL, as DMARC evaluation uses) gets a report only when
// <policy-domain>._report._dmarc.<address-domain> has a v=DMARC1 TXT record; a "!size" limit is honoured by
// not sending a mail bigger than it (the whole mail, so no reading of "report size" can be exceeded).
// The mail (RFC 7489 7.2.1.1): multipart/mixed, a short text part and the gzip'd XML as application/gzip named
// <hostname>!<policy-domain>!<begin>!<end>.xml.gz (base64), Subject "Report Domain: D Submitter: S Report-ID:
// <ID>", From dmarc-noreply@<hostname>, DKIM-signed when a [dkim] key for the host name is configured, the null
// envelope sender (report_mail.hpp). The rows of a (day, domain) are taken off the store once its reports are
// queued (messages counted after they were read stay for the next report), or deleted when the domain publishes
// no usable record or no usable rua (nobody to tell); on a DNS failure (the policy record or a destination
// check) they stay for the next run, for at most a week.
#pragma once
#include "config/config.hpp"
#include "dns/resolver.hpp"
#include "report/dmarc_store.hpp"
#include "report/report_mail.hpp"
#include "queue/spool.hpp"

#include <cstdint>
#include <string>

namespace mailfort::report {

struct dmarc_report_mail_input {
  std::string submitter;  // our host name
  std::string from;       // From: address
  std::string to;         // the rua address
  std::string policy_domain;
  std::string report_id;
  std::int64_t begin = 0, end = 0, now = 0;
  std::string xml;  // the report (gzip'd here)
};
// The report mail (CRLF lines), not signed.
std::string build_dmarc_report_mail(const dmarc_report_mail_input& in);

struct dmarc_report_send_stats {
  std::size_t reports = 0;    // mails queued
  std::size_t domains = 0;    // (day, domain) pairs handled
  std::size_t no_record = 0;  // dropped: no usable DMARC record
  std::size_t no_rua = 0;     // dropped: a record, but no usable rua destination
  std::size_t too_big = 0;    // mails not sent: bigger than the destination's !size
  std::size_t deferred = 0;   // kept: DNS failure
};

// Sends the reports of every completed day (day < today, UTC) or, with include_today, of every day.
// Blocking (DNS through `resolver.lookup_sync`, SQLite, a durable spool store); logs dmarc_report_* events.
dmarc_report_send_stats send_dmarc_reports(const config::config& cfg, dmarc_store& store, dns::resolver& resolver,
                                           queue::spool& spool, std::int64_t now, bool include_today);

}  // namespace mailfort::report
