// outbound/tlsrpt_send.cpp: TLS-RPT report mails (see tlsrpt_send.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/tlsrpt_send.hpp"

#include "auth/dkim_sign.hpp"
#include "common/clock.hpp"
#include "dns/records.hpp"
#include "log/logger.hpp"
#include "queue/dsn.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <cctype>
#include <ctime>
#include <optional>

namespace mailfort::outbound {

namespace {

std::string base64_lines(const std::string& data) {
  std::string out;
  for (std::size_t off = 0; off < data.size(); off += 57) {
    std::size_t n = std::min<std::size_t>(57, data.size() - off);
    unsigned char buf[80];
    int len = EVP_EncodeBlock(buf, reinterpret_cast<const unsigned char*>(data.data() + off), static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
    out += "\r\n";
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) raw.assign(bytes, '\x5a');
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

// A header value we put in: printable ASCII only (domain names, our host name).
std::string safe(const std::string& s) {
  std::string out;
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) ? '_' : c;
  return out;
}

}  // namespace

std::string gzip_compress(const std::string& data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer (RFC 1952).
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  std::size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  out.resize(n);
  return out;
}

std::string build_tlsrpt_mail(const tlsrpt_mail_input& in) {
  const std::string boundary = "tlsrpt-" + random_hex(12);
  const std::string domain = safe(in.policy_domain), submitter = safe(in.submitter), id = safe(in.report_id);
  std::string filename = submitter + "!" + domain + "!" + std::to_string(in.start) + "!" + std::to_string(in.end) +
                         (in.gzip ? ".json.gz" : ".json");
  std::string body = in.gzip ? gzip_compress(in.json) : in.json;
  std::string m;
  m += "From: TLS reports <" + safe(in.from) + ">\r\n";
  m += "To: <" + safe(in.to) + ">\r\n";
  m += "Date: " + common::rfc5322_date(in.now) + "\r\n";
  m += "Subject: Report Domain: " + domain + " Submitter: " + submitter + " Report-ID: <" + id + ">\r\n";
  m += "Message-ID: <" + id + ">\r\n";
  m += "TLS-Report-Domain: " + domain + "\r\n";
  m += "TLS-Report-Submitter: " + submitter + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n boundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "This is a multi-part message in MIME format.\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
  m += "This is an aggregate TLS report (RFC 8460) from " + submitter + " for " + domain + ",\r\n";
  m += "covering " + tlsrpt_datetime(in.start) + " to " + tlsrpt_datetime(in.end) + ".\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += std::string("Content-Type: ") + (in.gzip ? "application/tlsrpt+gzip" : "application/tlsrpt+json") + "\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "Content-Disposition: attachment;\r\n filename=\"" + filename + "\"\r\n\r\n";
  m += base64_lines(body);
  m += "\r\n--" + boundary + "--\r\n";
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
  // DKIM: a configured key for the From domain (our host name), as the inbound signer would use.
  std::optional<dkim::signing_key> key;
  std::string selector;
  if (cfg.dkim.sign)
    for (const auto& k : cfg.dkim.keys) {
      std::string d = k.domain;
      for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (d != cfg.hostname) continue;
      auto loaded = dkim::load_signing_key(k.key);
      if (loaded.key) {
        key = std::move(*loaded.key);
        selector = k.selector;
        break;
      }
    }

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
      if (key) {
        dkim::sign_options o;
        o.domain = cfg.hostname;
        o.selector = selector;
        o.timestamp = now;
        msg.insert(0, dkim::sign(msg, *key, o));
      }
      queue::envelope env;
      env.sender = "";  // null sender: an undeliverable report never bounces
      env.recipients.push_back(queue::recipient{addr});
      env.received_at = now;
      env.listener = "tlsrpt";
      env.helo = cfg.hostname;
      env.body_type = "7BIT";
      try {
        auto id = spool.store(std::move(env), msg);
        ++st.reports;
        log::info("tlsrpt_report_queued", {{"queue_id", id},
                                           {"domain", domain},
                                           {"day", day},
                                           {"to", addr},
                                           {"report_id", ri.report_id},
                                           {"successful", ok},
                                           {"failed", failed},
                                           {"dkim", key.has_value()}});
      } catch (const std::exception& e) {
        all_queued = false;
        log::error("tlsrpt_queue_failed", {{"domain", domain}, {"day", day}, {"error", e.what()}});
      }
    }
    if (all_queued) store.remove(day, domain);
  }
  return st;
}

}  // namespace mailfort::outbound
