// report/dmarc_send.cpp: DMARC aggregate report mails (see dmarc_send.hpp).
// SPDX-License-Identifier: MIT
#include "report/dmarc_send.hpp"

#include "auth/dmarc.hpp"
#include "auth/dmarc_report.hpp"
#include "common/ascii.hpp"
#include "common/clock.hpp"
#include "dns/records.hpp"
#include "log/logger.hpp"

#include <optional>
#include <vector>

namespace mailfort::report {

namespace {

// Rows whose DNS keeps failing are kept this long (a week), then dropped: the table must not grow forever.
constexpr std::int64_t dmarc_report_keep_s = 7 * 86400;

}  // namespace

std::string build_dmarc_report_mail(const dmarc_report_mail_input& in) {
  const std::string domain = header_safe(in.policy_domain), submitter = header_safe(in.submitter),
                    id = header_safe(in.report_id);
  const std::string filename =
      submitter + "!" + domain + "!" + std::to_string(in.begin) + "!" + std::to_string(in.end) + ".xml.gz";
  std::string m = report_header("DMARC reports", in.from, in.to, domain, submitter, id, in.now);
  m += "Auto-Submitted: auto-generated\r\n";
  multipart mp;
  mp.type = "multipart/mixed";
  mp.boundary = "dmarc-" + random_hex(12);
  mp.preamble = "This is a multi-part message in MIME format.\r\n";
  mp.parts.push_back(report_text_part("This is a DMARC aggregate report (RFC 7489) from " + submitter + " for " +
                                      domain + ",\r\ncovering " + common::utc_text(in.begin) + " to " +
                                      common::utc_text(in.end) + ".\r\n"));
  mp.parts.push_back(
      {{"Content-Type: application/gzip;\r\n name=\"" + filename + "\"", "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment;\r\n filename=\"" + filename + "\""},
       base64_lines(gzip_compress(in.xml))});
  m += build_multipart(mp);
  return m;
}

dmarc_report_send_stats send_dmarc_reports(const config::config& cfg, dmarc_store& store, dns::resolver& resolver,
                                           queue::spool& spool, std::int64_t now, bool include_today) {
  dmarc_report_send_stats st;
  const std::string today = common::utc_day(now);
  const std::string from = "dmarc-noreply@" + cfg.hostname;
  const std::string contact =
      cfg.auth.dmarc_report_contact.empty() ? "postmaster@" + cfg.hostname : cfg.auth.dmarc_report_contact;
  const report_signer signer = report_signer_for(cfg);

  for (const auto& [day, domain] : store.pending()) {
    if (!include_today && day >= today) continue;
    const std::int64_t begin = common::utc_day_start(day);
    if (begin < 0) {
      store.remove(day, domain);
      continue;
    }
    ++st.domains;
    // A DNS failure: the rows stay for the next run, unless they are older than dmarc_report_keep_s.
    auto defer = [&, &day = day, &domain = domain](const std::string& failed) {
      const bool expired = begin + dmarc_report_keep_s < now;
      log::warning("dmarc_report_lookup_failed",
                   {{"domain", domain}, {"day", day}, {"name", failed}, {"dropped", expired}});
      if (expired)
        store.remove(day, domain);
      else
        ++st.deferred;
    };

    // The policy as published now (RFC 7489 7.2: the report carries policy_published).
    const std::string name = "_dmarc." + domain;
    dmarc::policy_answer answer;  // a name too long for the DNS has no record
    if (name.size() <= 253) answer = dmarc::policy_answer_of(resolver.lookup_sync(name, dns::rr_type::txt));
    if (answer.temp_fail) {
      defer(name);
      continue;
    }
    const auto rec = dmarc::single_record(answer);
    if (!rec) {
      log::info("dmarc_report_no_record", {{"domain", domain},
                                           {"day", day},
                                           {"reason", answer.dmarc.empty()      ? "no DMARC record"
                                                      : answer.dmarc.size() > 1 ? "several DMARC records"
                                                                                : "invalid DMARC record"}});
      ++st.no_record;
      store.remove(day, domain);
      continue;
    }

    // Destinations: mailto: only; outside the organizational domain only when authorised (RFC 7489 7.1).
    std::vector<dmarc::report_destination> to;
    bool deferred = false;
    for (const auto& u : rec->rua) {
      auto d = dmarc::report_destination_of(domain, u);
      if (!d) {
        log::info("dmarc_report_rua_skipped",
                  {{"domain", domain},
                   {"day", day},
                   {"rua", common::printable(u.uri)},
                   {"reason", common::istarts_with(u.uri, "mailto:") ? "not a usable mailto: address"
                                                                     : "only mailto: report addresses are supported"}});
        continue;
      }
      if (!d->verify_name.empty()) {
        const auto r = resolver.lookup_sync(d->verify_name, dns::rr_type::txt);
        if (r.st == dns::status::servfail || r.st == dns::status::timeout) {
          defer(d->verify_name);
          deferred = true;
          break;
        }
        if (!dmarc::report_destination_authorized(r)) {
          log::info("dmarc_report_rua_unauthorized",
                    {{"domain", domain}, {"day", day}, {"to", d->address}, {"name", d->verify_name}});
          continue;
        }
      }
      to.push_back(std::move(*d));
    }
    if (deferred) continue;
    if (to.empty()) {
      log::info("dmarc_report_no_rua", {{"domain", domain}, {"day", day}});
      ++st.no_rua;
      store.remove(day, domain);
      continue;
    }

    dmarc::aggregate_report ar;
    ar.org_name = cfg.hostname;
    ar.email = contact;
    ar.report_id = day + "." + domain + "." + random_hex(8) + "@" + cfg.hostname;
    ar.begin = begin;
    ar.end = begin + 86399;
    ar.policy_domain = domain;
    ar.policy = *rec;
    std::int64_t messages = 0;
    const auto rows = store.rows(day, domain);
    for (const auto& r : rows) {
      ar.rows.push_back(
          dmarc::aggregate_row{r.source_ip, r.disposition, r.dkim, r.spf, r.header_from, r.count, r.auth});
      if (r.count > 0) messages += r.count;
    }
    const std::string xml = dmarc::build_aggregate_report_xml(ar);

    bool all_queued = true;
    for (const auto& d : to) {
      dmarc_report_mail_input mi;
      mi.submitter = cfg.hostname;
      mi.from = from;
      mi.to = d.address;
      mi.policy_domain = domain;
      mi.report_id = ar.report_id;
      mi.begin = ar.begin;
      mi.end = ar.end;
      mi.now = now;
      mi.xml = xml;
      std::string msg = build_dmarc_report_mail(mi);
      signer.sign(msg, now);
      if (d.max_size_bytes && msg.size() > *d.max_size_bytes) {
        // Waiting does not help (the day's report only grows): the destination does not get this one.
        log::info(
            "dmarc_report_too_big",
            {{"domain", domain}, {"day", day}, {"to", d.address}, {"size", msg.size()}, {"limit", *d.max_size_bytes}});
        ++st.too_big;
        continue;
      }
      try {
        auto id = queue_report(spool, cfg, d.address, msg, now, "dmarc");
        ++st.reports;
        log::info("dmarc_report_queued", {{"queue_id", id},
                                          {"domain", domain},
                                          {"day", day},
                                          {"to", d.address},
                                          {"report_id", ar.report_id},
                                          {"rows", ar.rows.size()},
                                          {"messages", messages},
                                          {"dkim", signer.enabled()}});
      } catch (const std::exception& e) {
        all_queued = false;
        log::error("dmarc_report_queue_failed", {{"domain", domain}, {"day", day}, {"error", e.what()}});
      }
    }
    if (all_queued) store.remove_reported(rows);  // counted since the read: kept for the next report
  }
  return st;
}

}  // namespace mailfort::report
