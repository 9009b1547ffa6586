// outbound/dane.cpp: [pure] TLSA matching (DANE-EE, DANE-TA) and TLSA record construction with OpenSSL.
// SPDX-License-Identifier: MIT
#include "outbound/dane.hpp"

#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <climits>

namespace mailfort::outbound {

namespace {

constexpr std::size_t max_chain = 16;

struct store_free {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct ctx_free {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct stack_free {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }  // certificates are borrowed, not owned
};

std::optional<std::string> der_of(X509* cert, std::uint8_t selector) {
  unsigned char* buf = nullptr;
  int len = -1;
  if (selector == 0)
    len = i2d_X509(cert, &buf);
  else if (selector == 1)
    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &buf);
  else
    return std::nullopt;
  if (len <= 0 || buf == nullptr) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  return out;
}

bool matches(X509* cert, const dns::tlsa_record& r) {
  auto a = tlsa_association(cert, r.selector, r.matching_type);
  return a && *a == r.data;
}

// The leaf chains up to the anchor chain[ta] (a trust anchor, PARTIAL_CHAIN: it need not be self-signed)
// through the certificates between them, is valid at now, and names one of the reference names.
bool verify_to_anchor(std::span<X509* const> chain, std::size_t ta, const std::vector<std::string>& names,
                      std::int64_t now, std::string& why) {
  std::unique_ptr<X509_STORE, store_free> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, ctx_free> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), stack_free> untrusted(sk_X509_new_null());
  if (!store || !ctx || !untrusted || X509_STORE_add_cert(store.get(), chain[ta]) != 1) {
    why = "out of memory";
    return false;
  }
  for (std::size_t i = 1; i < ta; ++i) sk_X509_push(untrusted.get(), chain[i]);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0], untrusted.get()) != 1) {
    why = "verify context setup failed";
    return false;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  bool first = true;
  for (const auto& n : names) {
    if (n.empty()) continue;
    int ok = first ? X509_VERIFY_PARAM_set1_host(param, n.data(), n.size())
                   : X509_VERIFY_PARAM_add1_host(param, n.data(), n.size());
    if (ok != 1) {
      why = "bad reference name";
      return false;
    }
    first = false;
  }
  if (first) {
    why = "no reference name";  // DANE-TA without a name check would accept any certificate the CA signed
    return false;
  }
  if (X509_verify_cert(ctx.get()) == 1) return true;
  why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  return false;
}

}  // namespace

std::optional<std::vector<x509_ptr>> decode_der_chain(const std::vector<std::string>& der) {
  if (der.size() > max_chain) return std::nullopt;
  std::vector<x509_ptr> out;
  for (const auto& d : der) {
    if (d.empty() || d.size() > static_cast<std::size_t>(INT_MAX)) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(d.data());
    x509_ptr x(d2i_X509(nullptr, &p, static_cast<long>(d.size())));
    if (!x || p != reinterpret_cast<const unsigned char*>(d.data()) + d.size()) return std::nullopt;
    out.push_back(std::move(x));
  }
  return out;
}

bool tlsa_usable(const dns::tlsa_record& r) {
  if (r.usage != 2 && r.usage != 3) return false;
  if (r.selector > 1) return false;
  switch (r.matching_type) {
    case 0:
      return !r.data.empty();
    case 1:
      return r.data.size() == 32;
    case 2:
      return r.data.size() == 64;
    default:
      return false;
  }
}

std::optional<std::string> tlsa_association(X509* cert, std::uint8_t selector, std::uint8_t matching_type) {
  if (cert == nullptr) return std::nullopt;
  auto der = der_of(cert, selector);
  if (!der) return std::nullopt;
  const EVP_MD* md = nullptr;
  switch (matching_type) {
    case 0:
      return der;
    case 1:
      md = EVP_sha256();
      break;
    case 2:
      md = EVP_sha512();
      break;
    default:
      return std::nullopt;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(der->data(), der->size(), digest, &len, md, nullptr) != 1) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(digest), len);
}

const char* to_string(dane_status s) {
  switch (s) {
    case dane_status::authenticated:
      return "authenticated";
    case dane_status::mismatch:
      return "mismatch";
    case dane_status::unusable:
      return "unusable";
  }
  return "mismatch";
}

dane_result dane_verify(const std::vector<dns::tlsa_record>& tlsa, std::span<X509* const> chain,
                        const std::vector<std::string>& reference_names, std::int64_t now) {
  dane_result res;
  bool any_usable = false;
  for (const auto& r : tlsa) any_usable = any_usable || tlsa_usable(r);
  if (!any_usable) {
    res.status = dane_status::unusable;
    res.reason = "no usable TLSA record";
    return res;
  }
  res.status = dane_status::mismatch;
  if (chain.empty() || chain.size() > max_chain || chain[0] == nullptr) {
    res.reason = chain.empty() ? "no peer certificate" : "bad peer chain";
    return res;
  }
  // DANE-EE first: it needs no chain building and is what almost every SMTP server publishes.
  for (const auto& r : tlsa) {
    if (r.usage != 3 || !tlsa_usable(r)) continue;
    if (matches(chain[0], r)) {
      res.status = dane_status::authenticated;
      res.matched = r;
      res.depth = 0;
      res.reason = "DANE-EE match";
      return res;
    }
  }
  std::string last_error;
  for (const auto& r : tlsa) {
    if (r.usage != 2 || !tlsa_usable(r)) continue;
    for (std::size_t i = 1; i < chain.size(); ++i) {
      if (chain[i] == nullptr || !matches(chain[i], r)) continue;
      std::string why;
      if (verify_to_anchor(chain, i, reference_names, now, why)) {
        res.status = dane_status::authenticated;
        res.matched = r;
        res.depth = i;
        res.reason = "DANE-TA match";
        return res;
      }
      last_error = "DANE-TA anchor matched but verification failed: " + why;
    }
  }
  res.reason = last_error.empty() ? "no TLSA record matches the peer chain" : last_error;
  return res;
}

std::optional<dns::tlsa_record> make_tlsa(X509* cert, std::uint8_t usage, std::uint8_t selector,
                                          std::uint8_t matching_type) {
  auto data = tlsa_association(cert, selector, matching_type);
  if (!data) return std::nullopt;
  return dns::tlsa_record{usage, selector, matching_type, std::move(*data)};
}

std::string tlsa_to_text(const dns::tlsa_record& r) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out =
      std::to_string(r.usage) + " " + std::to_string(r.selector) + " " + std::to_string(r.matching_type) + " ";
  for (char c : r.data) {
    auto u = static_cast<unsigned char>(c);
    out += hex[u >> 4];
    out += hex[u & 0xf];
  }
  return out;
}

}  // namespace mailfort::outbound
