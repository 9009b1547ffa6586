// auth/dkim_canon.cpp: [pure] DKIM header and body canonicalisation, body hashing with l= (see the header).
// SPDX-License-Identifier: MIT
#include "auth/dkim_canon.hpp"

#include "common/ascii.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace mailfort::dkim {

namespace {
bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Fetched once: OpenSSL 3 looks a digest up in its provider tables on every implicit EVP_sha256() use,
// a cost comparable to hashing a whole short message. Fetched objects live for the process.
const EVP_MD* md_of(hash_alg h) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  const EVP_MD* md = h == hash_alg::sha1 ? sha1 : sha256;
  return md ? md : (h == hash_alg::sha1 ? EVP_sha1() : EVP_sha256());
}
}  // namespace

void canon_header(canonicalization c, std::string_view raw, std::string& out) {
  if (c == canonicalization::simple) {
    out.append(raw);
    out += "\r\n";
    return;
  }
  // Relaxed: lower-case name, no WSP around the colon, unfold, WSP runs -> one SP, no trailing WSP.
  const std::size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  for (char ch : name) out.push_back(common::ascii_lower(ch));
  out.push_back(':');
  if (colon == std::string_view::npos) {
    out += "\r\n";
    return;
  }
  bool wsp = false, started = false;
  for (char ch : raw.substr(colon + 1)) {
    if (ch == '\r' || ch == '\n') continue;  // unfolding: the CRLF goes, the WSP after it stays
    if (is_wsp(ch)) {
      wsp = true;
      continue;
    }
    if (wsp && started) out.push_back(' ');
    wsp = false;
    started = true;
    out.push_back(ch);
  }
  out += "\r\n";
}

std::string canon_header(canonicalization c, std::string_view raw) {
  std::string out;
  canon_header(c, raw, out);
  return out;
}

std::string canon_body(canonicalization c, std::string_view body) {
  std::string out;
  body_canonicalizer bc(c);
  auto sink = [&out](std::string_view s) { out.append(s); };
  bc.update(body, sink);
  bc.finish(sink);
  return out;
}

void append_signed_headers(canonicalization c, const std::vector<auth::header_field>& fields,
                           const std::vector<std::string>& names, std::string& out) {
  // used[i]: field i was already taken by an earlier h= entry. Names are few (<= max_header_names) and
  // fields bounded by the parser, so the quadratic scan is bounded too.
  std::vector<bool> used(fields.size(), false);
  for (const auto& n : names) {
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (used[i] || !auth::name_equals(fields[i].name, n)) continue;
      used[i] = true;
      canon_header(c, fields[i].raw, out);
      break;
    }
  }
}

hash_alg hash_of(algorithm a) { return a == algorithm::rsa_sha1 ? hash_alg::sha1 : hash_alg::sha256; }

struct body_hasher::md_ctx {
  EVP_MD_CTX* ctx = nullptr;
  ~md_ctx() { EVP_MD_CTX_free(ctx); }
};

body_hasher::body_hasher(canonicalization c, hash_alg h, std::optional<std::uint64_t> limit)
    : canon_(c), md_(std::make_unique<md_ctx>()), limit_(limit) {
  md_->ctx = EVP_MD_CTX_new();
  // Allocation failure of a few hundred bytes: nothing sensible to report upward but an exception.
  if (!md_->ctx || EVP_DigestInit_ex(md_->ctx, md_of(h), nullptr) != 1)
    throw std::runtime_error("dkim: cannot initialise digest");
}

body_hasher::~body_hasher() = default;

void body_hasher::consume(std::string_view canonical) {
  std::string_view part = canonical;
  if (limit_) {
    const std::uint64_t left = total_ >= *limit_ ? 0 : *limit_ - total_;
    if (part.size() > left) part = part.substr(0, static_cast<std::size_t>(left));
  }
  if (!part.empty()) EVP_DigestUpdate(md_->ctx, part.data(), part.size());
  total_ += canonical.size();
}

void body_hasher::update(std::string_view chunk) {
  canon_.update(chunk, [this](std::string_view s) { consume(s); });
}

std::string body_hasher::finish() {
  canon_.finish([this](std::string_view s) { consume(s); });
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(md_->ctx, out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

std::string digest(hash_alg h, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out, &n, md_of(h), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), n);
}

}  // namespace mailfort::dkim
