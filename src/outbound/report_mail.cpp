// outbound/report_mail.cpp: pieces shared by the report senders (see report_mail.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/report_mail.hpp"

#include "common/ascii.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <algorithm>

namespace mailfort::outbound {

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

std::string base64_lines(std::string_view data) {
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

std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) ? '_' : c;
  return out;
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

}  // namespace mailfort::outbound
