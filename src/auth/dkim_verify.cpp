// auth/dkim_verify.cpp: DKIM verification: signature checks, key fetch through dns::source, OpenSSL verify.
// SPDX-License-Identifier: MIT
#include "auth/dkim_verify.hpp"

#include "auth/dkim_canon.hpp"
#include "auth/message.hpp"
#include "common/ascii.hpp"
#include "dns/records.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <memory>
#include <tuple>

namespace mailfort::dkim {

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
struct ctx_free {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct mdctx_free {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

constexpr int max_rsa_bits = 8192;
constexpr int max_rsa_exponent_bits = 33;   // 65537 is 17 bits; a huge e would make "cheap" verify costly
constexpr std::size_t max_key_records = 5;  // TXT records tried at one name

// Decodes p= into an OpenSSL key of the record's type; nullptr when it is not one.
pkey_ptr load_public_key(const key_record& k) {
  const auto* data = reinterpret_cast<const unsigned char*>(k.public_key.data());
  const auto len = static_cast<long>(k.public_key.size());
  if (k.type == key_type::ed25519) {
    if (k.public_key.size() != 32) return nullptr;
    return pkey_ptr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, data, 32));
  }
  // SubjectPublicKeyInfo (RFC 6376 3.6.1) first; then a bare PKCS#1 RSAPublicKey, which some domains
  // publish and which every major verifier accepts. Either must use the whole of p=.
  const unsigned char* p = data;
  pkey_ptr key(d2i_PUBKEY(nullptr, &p, len));
  if (!key || p != data + len || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    p = data;
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len));
    if (!key || p != data + len) return nullptr;
  }
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &e) != 1) return nullptr;
  const int ebits = BN_num_bits(e);
  BN_free(e);
  if (ebits > max_rsa_exponent_bits || EVP_PKEY_get_bits(key.get()) > max_rsa_bits) return nullptr;
  return key;
}

// Decoded public keys by (type, p= bytes). OpenSSL 3 decodes DER through its provider decoder chain,
// which costs several times an RSA-2048 verify; a server sees the same few keys over and over. Bounded:
// at most max_cached_keys entries (each p= is at most max_b64 characters), oldest evicted first; keys
// that fail to decode are not cached. EVP_PKEY is safe to share between threads for verification.
constexpr std::size_t max_cached_keys = 256;

std::shared_ptr<EVP_PKEY> cached_public_key(const key_record& k) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<EVP_PKEY>> cache;
  static std::deque<std::string> order;
  std::string id(1, k.type == key_type::rsa ? 'r' : 'e');
  id += k.public_key;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(id); it != cache.end()) return it->second;
  }
  std::shared_ptr<EVP_PKEY> key(load_public_key(k).release(), EVP_PKEY_free);
  if (!key) return key;
  std::lock_guard<std::mutex> lock(mu);
  if (cache.emplace(id, key).second) {
    order.push_back(std::move(id));
    if (order.size() > max_cached_keys) {
      cache.erase(order.front());
      order.pop_front();
    }
  }
  return key;
}

bool verify_signature(EVP_PKEY* key, algorithm algo, std::string_view hash, std::string_view sig) {
  const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
  const auto* h = reinterpret_cast<const unsigned char*>(hash.data());
  if (algo == algorithm::ed25519_sha256) {
    // RFC 8463 3: PureEdDSA over the SHA-256 hash of the canonical header data.
    std::unique_ptr<EVP_MD_CTX, mdctx_free> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) return false;
    return EVP_DigestVerify(ctx.get(), s, sig.size(), h, hash.size()) == 1;
  }
  std::unique_ptr<EVP_PKEY_CTX, ctx_free> ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), algo == algorithm::rsa_sha1 ? EVP_sha1() : EVP_sha256()) != 1)
    return false;
  return EVP_PKEY_verify(ctx.get(), s, sig.size(), h, hash.size()) == 1;
}

// The DKIM-Signature field with the b= value removed (RFC 6376 3.7), as the signer hashed it: the
// tag name, '=' and everything outside the value stay byte for byte.
std::optional<std::string> blank_b(const auth::header_field& f) {
  auto tags = parse_tag_list(f.value);
  if (!tags) return std::nullopt;
  const std::size_t value_start = static_cast<std::size_t>(f.value.data() - f.raw.data());
  for (const auto& t : *tags) {
    if (t.name != "b") continue;
    std::size_t from = value_start + t.value_offset;
    const std::size_t to = from + t.value.size();
    // Leading FWS between '=' and the value goes too (dkimpy and OpenDKIM do the same).
    while (from > value_start && f.raw[from - 1] != '=') --from;
    std::string out(f.raw.substr(0, from));
    out.append(f.raw.substr(to));
    return out;
  }
  return std::nullopt;
}

using body_key = body_spec;
using body_value = body_digest;

const body_value& body_hash(std::map<body_key, body_value>& cache, const body_key& k, std::string_view body) {
  auto it = cache.find(k);
  if (it != cache.end()) return it->second;
  body_hasher bh(k.c, k.h, k.l);
  bh.update(body);
  body_value v;
  v.hash = bh.finish();
  v.length = bh.canonical_length();
  return cache.emplace(k, std::move(v)).first->second;
}

struct key_answer {
  std::optional<key_record> key;
  result res = result::permerror;  // when !key
  std::string reason;
};

key_answer key_from_lookup(const dns::lookup_result& lr) {
  key_answer a;
  if (lr.sec == dns::dnssec::bogus) {
    a.res = result::temperror;
    a.reason = "key record DNSSEC-bogus";
    return a;
  }
  switch (lr.st) {
    case dns::status::ok:
      break;
    case dns::status::nxdomain:
    case dns::status::nodata:
      a.reason = "no key record";
      return a;
    case dns::status::servfail:
    case dns::status::timeout:
      a.res = result::temperror;
      a.reason = std::string("key lookup ") + dns::to_string(lr.st);
      return a;
  }
  a.reason = "no valid key record";
  std::size_t n = 0;
  for (const auto& rd : lr.records) {
    if (++n > max_key_records) break;
    auto txt = dns::parse_txt(rd);
    if (!txt) continue;
    auto k = parse_key_record(*txt);
    if (k.key) {
      a.key = std::move(k.key);
      return a;
    }
    a.reason = k.error;
  }
  return a;
}

// Everything after the key is known: key checks, body hash, header hash, signature. Pure.
void evaluate(verify_result& r, const signature& sig, const key_record& key, const auth::parsed_message& pm,
              const auth::header_field& sig_field, std::string_view body, std::map<body_key, body_value>& cache,
              const verify_options& opts) {
  r.testing = key.testing;
  auto set = [&r](result res, std::string why) {
    r.res = res;
    r.reason = std::move(why);
  };
  if (key.revoked) return set(result::fail, "key revoked");
  if (!key.service_email) return set(result::fail, "key not for email (s=)");
  const bool want_ed = sig.algo == algorithm::ed25519_sha256;
  if ((key.type == key_type::ed25519) != want_ed) return set(result::fail, "key type does not match a=");
  if (hash_of(sig.algo) == hash_alg::sha256 ? !key.allows_sha256 : !key.allows_sha1)
    return set(result::fail, "key h= does not allow the hash");
  if (key.strict_identity && !identity_in_domain(sig.identity, sig.domain, true))
    return set(result::fail, "key t=s: i= must be exactly d=");
  std::shared_ptr<EVP_PKEY> pk = cached_public_key(key);
  if (!pk) return set(result::permerror, "key p= is not a usable public key");
  if (key.type == key_type::rsa && EVP_PKEY_get_bits(pk.get()) < static_cast<int>(opts.min_rsa_bits))
    return set(result::permerror,
               "RSA key of " + std::to_string(EVP_PKEY_get_bits(pk.get())) + " bits is under the minimum (RFC 8301)");
  // Body first: cheap, and a mismatch must fail whatever the header signature says.
  const body_value& bv = body_hash(cache, body_key{sig.body_canon, hash_of(sig.algo), sig.length}, body);
  if (sig.length && *sig.length > bv.length) return set(result::fail, "l= is longer than the body");
  if (bv.hash != sig.bh) return set(result::fail, "body hash mismatch");
  auto blanked = blank_b(sig_field);
  if (!blanked) return set(result::permerror, "malformed tag list");
  std::string data;
  append_signed_headers(sig.header_canon, pm.fields, sig.headers, data);
  canon_header(sig.header_canon, *blanked, data);
  data.resize(data.size() - 2);  // the signature field is hashed without its CRLF (RFC 6376 3.7)
  const std::string h = digest(hash_of(sig.algo), data);
  if (!verify_signature(pk.get(), sig.algo, h, sig.b)) return set(result::fail, "signature did not verify");
  if (sig.length && *sig.length < bv.length) return set(result::policy, "unsigned content appended");
  r.res = result::pass;
}

}  // namespace

const char* to_string(result r) {
  switch (r) {
    case result::none:
      return "none";
    case result::pass:
      return "pass";
    case result::fail:
      return "fail";
    case result::neutral:
      return "neutral";
    case result::policy:
      return "policy";
    case result::permerror:
      return "permerror";
    case result::temperror:
      return "temperror";
  }
  return "?";
}

std::optional<public_key_info> inspect_public_key(const key_record& k) {
  pkey_ptr pk = load_public_key(k);
  if (!pk) return std::nullopt;
  return public_key_info{k.type, EVP_PKEY_get_bits(pk.get())};
}

namespace {

// Everything but the DNS lookups, so that the coroutine below stays a three-line loop (clang 14 cannot
// compile large coroutines with -fsanitize=fuzzer-no-link,undefined: "Cannot represent a difference
// across sections"), and the logic is plain code.
class verification {
 public:
  verification(std::string_view message, const verify_options& opts, const body_digests* bodies = nullptr)
      : message_(message), opts_(opts) {
    if (bodies) body_cache_ = *bodies;  // the body is not in `message`: its hashes were computed elsewhere
  }

  // The body hashes the pending signatures need (after prepare()).
  std::vector<body_spec> specs() const {
    std::vector<body_spec> out;
    for (const auto& p : pending_) {
      body_spec k{p.sig.body_canon, hash_of(p.sig.algo), p.sig.length};
      if (std::find_if(out.begin(), out.end(), [&k](const body_spec& o) { return !(o < k) && !(k < o); }) == out.end())
        out.push_back(k);
    }
    return out;
  }

  // Parses the header and every signature; returns the key names to fetch, each once, in order.
  std::vector<std::string> prepare() {
    std::vector<std::string> names;
    auto parsed = auth::parse_message(message_, opts_.max_header_fields);
    if (!parsed.message) {
      verify_result r;
      r.res = result::permerror;
      r.reason = parsed.error == auth::parse_error::too_many_fields ? "too many header fields" : "malformed header";
      out_.push_back(std::move(r));
      return names;
    }
    pm_ = std::move(*parsed.message);
    std::size_t checked = 0;
    for (const auto& f : pm_.fields) {
      if (!auth::name_equals(f.name, "DKIM-Signature")) continue;
      verify_result r;
      auto ps = parse_signature(f.value);
      r.domain = ps.domain;
      r.selector = ps.selector;
      r.algorithm = ps.algorithm;
      if (++checked > opts_.max_signatures) {
        r.res = result::neutral;
        r.reason = "not checked: more than " + std::to_string(opts_.max_signatures) + " signatures";
      } else if (!ps.sig) {
        r.res = result::permerror;
        r.reason = ps.error;
      } else {
        r.identity = ps.sig->identity;
        r.b_prefix = ps.sig->b_text.substr(0, 12);
        if (ps.sig->algo == algorithm::rsa_sha1) {
          r.res = result::permerror;
          r.reason = "rsa-sha1 is not accepted (RFC 8301)";
        } else if (ps.sig->expiration && *ps.sig->expiration < opts_.now) {
          r.res = result::fail;
          r.reason = "signature expired (x=)";
        } else {
          std::string name = common::to_lower(ps.sig->selector + "._domainkey." + ps.sig->domain);
          if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
          pending_.push_back(pending{out_.size(), std::move(*ps.sig), &f, std::move(name)});
        }
      }
      out_.push_back(std::move(r));
    }
    return names;
  }

  void provide(std::string name, dns::lookup_result lr) { keys_.emplace(std::move(name), std::move(lr)); }

  std::vector<verify_result> finish() {
    const std::string_view body = message_.substr(std::min(pm_.body_offset, message_.size()));
    for (const auto& p : pending_) {
      verify_result& r = out_[p.index];
      auto it = keys_.find(p.name);
      if (it == keys_.end()) {
        r.res = result::temperror;
        r.reason = "key not looked up";
        continue;
      }
      key_answer ka = key_from_lookup(it->second);
      if (!ka.key) {
        r.res = ka.res;
        r.reason = ka.reason;
        continue;
      }
      evaluate(r, p.sig, *ka.key, pm_, *p.field, body, body_cache_, opts_);
    }
    return std::move(out_);
  }

 private:
  struct pending {
    std::size_t index;
    signature sig;
    const auth::header_field* field;
    std::string name;
  };
  std::string_view message_;
  const verify_options& opts_;
  auth::parsed_message pm_;
  std::vector<verify_result> out_;
  std::vector<pending> pending_;
  std::map<std::string, dns::lookup_result> keys_;
  std::map<body_key, body_value> body_cache_;
};

}  // namespace

std::vector<body_spec> body_specs(std::string_view head, const verify_options& opts) {
  verification v(head, opts);
  v.prepare();
  return v.specs();
}

struct body_digester::impl {
  std::vector<std::pair<body_spec, std::unique_ptr<body_hasher>>> hashers;
};
body_digester::body_digester(const std::vector<body_spec>& specs) : impl_(std::make_unique<impl>()) {
  for (const auto& s : specs) impl_->hashers.emplace_back(s, std::make_unique<body_hasher>(s.c, s.h, s.l));
}
body_digester::~body_digester() = default;
void body_digester::update(std::string_view chunk) {
  for (auto& [s, h] : impl_->hashers) h->update(chunk);
}
body_digests body_digester::finish() {
  body_digests out;
  for (auto& [s, h] : impl_->hashers) {
    body_digest d;
    d.hash = h->finish();
    d.length = h->canonical_length();
    out.emplace(s, std::move(d));
  }
  return out;
}

boost::asio::awaitable<std::vector<verify_result>> verify(dns::source& dns, std::string_view head,
                                                          const body_digests& bodies, const verify_options& opts) {
  verification v(head, opts, &bodies);
  for (auto& name : v.prepare()) {
    dns::lookup_result lr = co_await dns.lookup(name, dns::rr_type::txt);
    v.provide(std::move(name), std::move(lr));
  }
  co_return v.finish();
}

boost::asio::awaitable<std::vector<verify_result>> verify(dns::source& dns, std::string_view message,
                                                          const verify_options& opts) {
  verification v(message, opts);
  for (auto& name : v.prepare()) {
    dns::lookup_result lr = co_await dns.lookup(name, dns::rr_type::txt);
    v.provide(std::move(name), std::move(lr));
  }
  co_return v.finish();
}

}  // namespace mailfort::dkim
