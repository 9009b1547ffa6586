// report/tlsrpt_send.cpp: TLS-RPT report mails (see tlsrpt_send.hpp).
// SPDX-License-Identifier: MIT
#include "report/tlsrpt_send.hpp"

#include "common/clock.hpp"
#include "dns/records.hpp"
#include "log/logger.hpp"

#include <ctime>

namespace mailfort::report {

std::string build_tlsrpt_mail(const tlsrpt_mail_input& in) {
  const std::string domain = header_safe(in.policy_domain), submitter = header_safe(in.submitter),
                    id = header_safe(in.report_id);
  std::string filename = submitter + "!" + domain + "!" + std::to_string(in.start) + "!" + std::to_string(in.end) +
                         (in.gzip ? ".json.gz" : ".json");
  std::string m = report_header("TLS reports", in.from, in.to, domain, submitter, id, in.now);
  m += "TLS-Report-Domain: " + domain + "\r\n";
  m += "TLS-Report-Submitter: " + submitter + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  multipart mp;
  mp.type = "multipart/report; report-type=\"tlsrpt\"";
  mp.boundary = "tlsrpt-" + random_hex(12);
  mp.preamble = "This is a multi-part message in MIME format.\r\n";
  mp.parts.push_back(report_text_part("This is an aggregate TLS report (RFC 8460) from " + submitter + " for " +
                                      domain + ",\r\ncovering " + tlsrpt_datetime(in.start) + " to " +
                                      tlsrpt_datetime(in.end) + ".\r\n"));
  mp.parts.push_back(
      {{std::string("Content-Type: ") + (in.gzip ? "application/tlsrpt+gzip" : "application/tlsrpt+json"),
        "Content-Transfer-Encoding: base64", "Content-Disposition: attachment;\r\n filename=\"" + filename + "\""},
       base64_lines(in.gzip ? gzip_compress(in.json) : in.json)});
  m += build_multipart(mp);
  return m;
}

tlsrpt_send_stats send_tlsrpt_reports(const config::config& cfg, tlsrpt_store& store, dns::resolver& resolver,
                                      queue::spool& spool, std::int64_t now, bool include_today) {
  tlsrpt_send_stats st;
  const std::string today = tlsrpt_day(now);
  const std::string submitter = cfg.hostname;
  const std::string from = "tlsrpt-noreply@" + cfg.hostname;
  const std::string contact =
      cfg.outbound.tlsrpt_contact.empty() ? "postmaster@" + cfg.hostname : cfg.outbound.tlsrpt_contact;
  const report_signer signer = report_signer_for(cfg);  // DKIM, as the inbound signer would use

  for (const auto& [day, domain] : store.pending()) {
    if (!include_today && day >= today) continue;
    const std::int64_t start = tlsrpt_day_start(day);
    if (start < 0) {
      store.remove(day, domain);
      continue;
    }
    ++st.domains;
    auto txt = resolver.lookup_sync(tlsrpt_txt_name(domain), dns::rr_type::txt);
    if (txt.st == dns::status::servfail || txt.st == dns::status::timeout) {
      log::warning("tlsrpt_lookup_failed", {{"domain", domain}, {"day", day}, {"reason", txt.error}});
      ++st.deferred;
      continue;
    }
    std::vector<std::string> texts;
    if (txt.st == dns::status::ok)
      for (const auto& rd : txt.records)
        if (auto t = dns::parse_txt(rd)) texts.push_back(std::move(*t));
    auto rec = select_tlsrpt_record(texts);
    std::vector<std::string> to;
    if (rec)
      for (const auto& uri : rec->rua) {
        if (auto a = tlsrpt_mailto(uri))
          to.push_back(*a);
        else
          log::info("tlsrpt_rua_skipped", {{"domain", domain},
                                           {"rua", uri.substr(0, 200)},
                                           {"reason", "only mailto: report addresses are supported"}});
      }
    if (to.empty()) {
      log::info("tlsrpt_no_record", {{"domain", domain}, {"day", day}});
      ++st.no_record;
      store.remove(day, domain);
      continue;
    }
    tlsrpt_report_input ri;
    ri.organization = cfg.hostname;
    ri.contact = contact;
    ri.report_id = day + "_" + domain + "_" + random_hex(8) + "@" + cfg.hostname;
    ri.start = start;
    ri.end = start + 86399;
    ri.rows = store.rows(day, domain);
    std::int64_t ok = 0, failed = 0;
    for (const auto& r : ri.rows) (r.s.result_type.empty() ? ok : failed) += r.count;
    const std::string json = build_tlsrpt_json(ri);
    bool all_queued = true;
    for (const auto& addr : to) {
      tlsrpt_mail_input mi;
      mi.submitter = submitter;
      mi.from = from;
      mi.to = addr;
      mi.policy_domain = domain;
      mi.report_id = ri.report_id;
      mi.start = ri.start;
      mi.end = ri.end;
      mi.now = now;
      mi.json = json;
      std::string msg = build_tlsrpt_mail(mi);
      signer.sign(msg, now);
      try {
        auto id = queue_report(spool, cfg, addr, msg, now, "tlsrpt");
        ++st.reports;
        log::info("tlsrpt_report_queued", {{"queue_id", id},
                                           {"domain", domain},
                                           {"day", day},
                                           {"to", addr},
                                           {"report_id", ri.report_id},
                                           {"successful", ok},
                                           {"failed", failed},
                                           {"dkim", signer.enabled()}});
      } catch (const std::exception& e) {
        all_queued = false;
        log::error("tlsrpt_queue_failed", {{"domain", domain}, {"day", day}, {"error", e.what()}});
      }
    }
    if (all_queued) store.remove(day, domain);
  }
  return st;
}

}  // namespace mailfort::report
