// auth/dkim_sign.cpp: DKIM signing, key loading and generation (see the header).
// SPDX-License-Identifier: MIT
#include "auth/dkim_sign.hpp"

#include "auth/dkim_canon.hpp"
#include "auth/message.hpp"
#include "common/ascii.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace mailfort::dkim {

namespace {

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;

std::shared_ptr<EVP_PKEY> wrap(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

std::optional<signing_key> from_pkey(EVP_PKEY* raw) {
  if (!raw) return std::nullopt;
  auto p = wrap(raw);
  const int id = EVP_PKEY_get_base_id(p.get());
  if (id == EVP_PKEY_ED25519) return signing_key{key_type::ed25519, p};
  if (id == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(p.get());
    if (bits < 1024 || bits > 8192) return std::nullopt;
    return signing_key{key_type::rsa, p};
  }
  return std::nullopt;
}

std::string sign_digest(const signing_key& key, std::string_view digest_bytes) {
  const auto* d = reinterpret_cast<const unsigned char*>(digest_bytes.data());
  std::size_t len = 0;
  if (key.type == key_type::ed25519) {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey.get()) != 1) return {};
    if (EVP_DigestSign(ctx.get(), nullptr, &len, d, digest_bytes.size()) != 1) return {};
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, d, digest_bytes.size()) != 1)
      return {};
    sig.resize(len);
    return sig;
  }
  std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new(key.pkey.get(), nullptr),
                                                             EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1)
    return {};
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, d, digest_bytes.size()) != 1) return {};
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, d, digest_bytes.size()) != 1)
    return {};
  sig.resize(len);
  return sig;
}

constexpr std::size_t width = 76;  // columns before CRLF: lines stay under 78 (RFC 5322 2.1.1)

// Lays out the tags and " b=<b>"; b is empty while hashing and the signature afterwards. The position of
// " b=" never depends on b's value, so the hashed and the final field agree outside the b= value.
std::string layout_field(const std::vector<std::pair<std::string, std::string>>& tags, std::string_view b,
                         tag_layout layout) {
  std::string out = "DKIM-Signature:";
  if (layout == tag_layout::go_msgauth) {
    // go-msgauth (commit 704519ef): " k=v;" items, new line when 3+len(line)+len(k)+len(v) > 75, then
    // " b=" + value cut into 75-byte pieces joined by CRLF SP.
    std::string line;
    for (const auto& [k, v] : tags) {
      if (3 + line.size() + k.size() + v.size() > 75 && !line.empty()) {
        out += line + "\r\n";
        line.clear();
      }
      line += " " + k + "=" + v + ";";
    }
    out += line;
    const std::string bfield = " b=" + std::string(b);
    for (std::size_t i = 0; i < bfield.size(); i += 75) {
      out += i == 0 ? "\r\n" : "\r\n ";
      out += bfield.substr(i, 75);
    }
    return out;
  }
  std::size_t col = out.size();
  auto put = [&](std::string_view text, bool space) {
    const std::size_t need = text.size() + (space ? 1 : 0);
    if (col + need > width && col > 1) {
      out += "\r\n ";  // the fold's SP is the separator (FWS is allowed between tags and around ':' in h=)
      col = 1;
    } else if (space) {
      out += ' ';
      ++col;
    }
    out.append(text);
    col += text.size();
  };
  for (const auto& [k, v] : tags) {
    if (k != "h") {
      put(k + "=" + v + ";", true);
      continue;
    }
    // h= may be long: break it after a ':' (RFC 6376 3.5 allows FWS there).
    std::size_t start = 0;
    bool first = true;
    while (start < v.size()) {
      std::size_t colon = v.find(':', start);
      const bool last = colon == std::string::npos;
      std::string piece = (first ? "h=" : "") + v.substr(start, last ? std::string::npos : colon + 1 - start);
      if (last) piece += ";";
      put(piece, first);
      first = false;
      start = last ? v.size() : colon + 1;
    }
  }
  out += "\r\n b=";
  col = 3;
  while (!b.empty()) {
    if (col >= width) {
      out += "\r\n ";
      col = 1;
    }
    const std::size_t take = std::min(b.size(), width - col);
    out.append(b.substr(0, take));
    col += take;
    b.remove_prefix(take);
  }
  return out;
}

}  // namespace

key_load_result parse_signing_key(std::string_view pem) {
  key_load_result r;
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(std::min<std::size_t>(pem.size(), 1 << 20))));
  if (!bio) {
    r.error = "out of memory";
    return r;
  }
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!raw) {
    r.error = "not a PEM private key";
    return r;
  }
  r.key = from_pkey(raw);
  if (!r.key) r.error = "not an Ed25519 or RSA (1024..8192 bits) key";
  return r;
}

key_load_result load_signing_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    key_load_result r;
    r.error = "cannot read " + path;
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_signing_key(ss.str());
}

std::optional<signing_key> signing_key_from_ed25519_seed(std::string_view seed) {
  if (seed.size() != 32) return std::nullopt;
  return from_pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), 32));
}

std::optional<signing_key> generate_key(key_type type, int rsa_bits) {
  if (type == key_type::ed25519) return from_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  return from_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits)));
}

std::string private_key_pem(const signing_key& key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string dns_txt_record(const signing_key& key) {
  if (key.type == key_type::ed25519) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key.pkey.get(), raw, &len) != 1) return {};
    return "v=DKIM1; k=ed25519; p=" + encode_base64(std::string_view(reinterpret_cast<char*>(raw), len));
  }
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key.pkey.get(), &der);
  if (n <= 0) return {};
  std::string spki(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return "v=DKIM1; k=rsa; p=" + encode_base64(spki);
}

const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> names = {"From",
                                                 "Reply-To",
                                                 "Sender",
                                                 "To",
                                                 "Cc",
                                                 "Subject",
                                                 "Date",
                                                 "Message-ID",
                                                 "In-Reply-To",
                                                 "References",
                                                 "MIME-Version",
                                                 "Content-Type",
                                                 "Content-Transfer-Encoding",
                                                 "Content-Disposition",
                                                 "List-Id",
                                                 "List-Help",
                                                 "List-Unsubscribe",
                                                 "List-Unsubscribe-Post",
                                                 "List-Subscribe",
                                                 "List-Post",
                                                 "List-Owner",
                                                 "List-Archive"};
  return names;
}

std::string sign(std::string_view message, const signing_key& key, const sign_options& opts) {
  auto parsed = auth::parse_message(message);
  if (!parsed.message) return {};
  body_hasher bh(opts.body_canon, hash_alg::sha256, std::nullopt);
  bh.update(message.substr(parsed.message->body_offset));
  return sign_with_body_hash(message.substr(0, parsed.message->body_offset), bh.finish(), key, opts);
}

std::string sign_with_body_hash(std::string_view head, std::string_view raw_body_hash, const signing_key& key,
                                const sign_options& opts) {
  if (!key.pkey || opts.domain.empty() || opts.selector.empty()) return {};
  auto parsed = auth::parse_message(head);
  if (!parsed.message) return {};
  const auto& fields = parsed.message->fields;
  auto count = [&fields](std::string_view n) {
    return static_cast<std::size_t>(std::count_if(
        fields.begin(), fields.end(), [n](const auth::header_field& f) { return auth::name_equals(f.name, n); }));
  };
  std::vector<std::string> names = opts.headers;
  if (names.empty()) {
    if (count("From") == 0) return {};  // RFC 6376 5.4: From must be signed
    for (const auto& n : default_signed_headers()) {
      // Each as often as present; From one more time, so an added From breaks the signature.
      const std::size_t times = count(n) + (auth::name_equals(n, "From") ? 1 : 0);
      for (std::size_t i = 0; i < times; ++i) names.push_back(n);
    }
  }
  if (std::none_of(names.begin(), names.end(), [](const std::string& n) { return common::iequals(n, "From"); }))
    return {};

  const std::string body_hash = encode_base64(raw_body_hash);

  std::string h;
  for (const auto& n : names) h += (h.empty() ? "" : ":") + n;
  const std::string a = key.type == key_type::ed25519 ? "ed25519-sha256" : "rsa-sha256";
  const std::string c = std::string(to_string(opts.header_canon)) + "/" + to_string(opts.body_canon);
  std::vector<std::pair<std::string, std::string>> tags;
  if (opts.layout == tag_layout::go_msgauth) {
    tags = {{"a", a}, {"bh", body_hash}, {"c", c}, {"d", opts.domain}, {"h", h}};
    if (!opts.identity.empty()) tags.emplace_back("i", opts.identity);
    tags.emplace_back("s", opts.selector);
    if (opts.timestamp) tags.emplace_back("t", std::to_string(*opts.timestamp));
    tags.emplace_back("v", "1");
    if (opts.expiration) tags.emplace_back("x", std::to_string(*opts.expiration));
  } else {
    tags = {{"v", "1"}, {"a", a}, {"c", c}, {"d", opts.domain}, {"s", opts.selector}};
    if (opts.timestamp) tags.emplace_back("t", std::to_string(*opts.timestamp));
    if (opts.expiration) tags.emplace_back("x", std::to_string(*opts.expiration));
    if (!opts.identity.empty()) tags.emplace_back("i", opts.identity);
    tags.emplace_back("h", h);
    tags.emplace_back("bh", body_hash);
  }

  const std::string unsigned_field = layout_field(tags, "", opts.layout);
  std::string data;
  append_signed_headers(opts.header_canon, fields, names, data);
  canon_header(opts.header_canon, unsigned_field, data);
  data.resize(data.size() - 2);  // hashed without its CRLF (RFC 6376 3.7)
  const std::string sig = sign_digest(key, digest(hash_alg::sha256, data));
  if (sig.empty()) return {};
  return layout_field(tags, encode_base64(sig), opts.layout) + "\r\n";
}

}  // namespace mailfort::dkim
