// report/report_mail.cpp: pieces shared by the report senders (see report_mail.hpp).
// SPDX-License-Identifier: MIT
#include "report/report_mail.hpp"

#include "common/ascii.hpp"
#include "common/clock.hpp"

#include <openssl/rand.h>
#include <zlib.h>

#include <algorithm>

namespace mailfort::report {

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

std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) ? '_' : c;
  return out;
}

std::string report_header(std::string_view from_name, std::string_view from, std::string_view to,
                          std::string_view domain, std::string_view submitter, std::string_view id, std::int64_t now) {
  const std::string d = header_safe(domain), sub = header_safe(submitter), i = header_safe(id);
  std::string m = "From: " + std::string(from_name) + " <" + header_safe(from) + ">\r\n";
  m += "To: <" + header_safe(to) + ">\r\n";
  m += "Date: " + common::rfc5322_date(now) + "\r\n";
  m += "Subject: Report Domain: " + d + " Submitter: " + sub + " Report-ID: <" + i + ">\r\n";
  m += "Message-ID: <" + i + ">\r\n";
  return m;
}

mime_part report_text_part(std::string text) {
  return {{"Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"}, std::move(text)};
}

void report_signer::sign(std::string& message, std::int64_t now) const {
  if (!key) return;
  dkim::sign_options o;
  o.domain = domain;
  o.selector = selector;
  o.timestamp = now;
  message.insert(0, dkim::sign(message, *key, o));
}

report_signer report_signer_for(const config::config& cfg) {
  report_signer s;
  if (!cfg.dkim.sign) return s;
  for (const auto& k : cfg.dkim.keys) {
    if (common::to_lower(k.domain) != common::to_lower(cfg.hostname)) continue;
    auto loaded = dkim::load_signing_key(k.key);
    if (loaded.key) {
      s.key = std::move(*loaded.key);
      s.domain = cfg.hostname;
      s.selector = k.selector;
      break;
    }
  }
  return s;
}

std::string queue_report(queue::spool& spool, const config::config& cfg, const std::string& rcpt,
                         const std::string& message, std::int64_t now, const char* listener) {
  queue::envelope env;
  env.sender = "";  // null sender: an undeliverable report never bounces
  env.recipients.push_back(queue::recipient{rcpt});
  env.received_at = now;
  env.listener = listener;
  env.helo = cfg.hostname;
  env.body_type = "7BIT";
  return spool.store(std::move(env), message);
}

}  // namespace mailfort::report
