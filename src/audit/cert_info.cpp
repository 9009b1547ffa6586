// audit/cert_info.cpp: [pure] certificate field extraction with OpenSSL (no I/O).
// SPDX-License-Identifier: MIT
#include "audit/cert_info.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace mailfort::audit {

namespace {

struct x509_del {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_del>;

x509_ptr decode(std::string_view der) {
  if (der.empty() || der.size() > 1 << 20) return nullptr;
  auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* start = p;
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) return nullptr;
  x509_ptr out(x);
  if (static_cast<std::size_t>(p - start) != der.size()) return nullptr;  // trailing bytes
  return out;
}

std::string name_line(const X509_NAME* n) {
  if (!n) return {};
  BIO* b = BIO_new(BIO_s_mem());
  if (!b) return {};
  X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(len > 0 ? std::min(len, 1024L) : 0));
  BIO_free(b);
  return s;
}

std::int64_t to_unix(const ASN1_TIME* t) {
  if (!t) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string asn1_string(const ASN1_STRING* s) {
  if (!s) return {};
  auto len = ASN1_STRING_length(s);
  if (len <= 0) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(std::min(len, 255)));
}

}  // namespace

std::optional<cert_info> parse_certificate(std::string_view der) {
  auto x = decode(der);
  if (!x) return std::nullopt;
  cert_info c;
  const X509_NAME* subj = X509_get_subject_name(x.get());
  const X509_NAME* iss = X509_get_issuer_name(x.get());
  c.subject = name_line(subj);
  c.issuer = name_line(iss);
  if (subj) {
    int idx = -1, last = -1;
    while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) last = idx;
    if (last >= 0) c.common_name = asn1_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, last)));
  }
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    int n = sk_GENERAL_NAME_num(sans);
    for (int i = 0; i < n && c.dns_names.size() < 64; ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type == GEN_DNS) c.dns_names.push_back(asn1_string(g->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
  }
  c.not_before = to_unix(X509_get0_notBefore(x.get()));
  c.not_after = to_unix(X509_get0_notAfter(x.get()));
  c.self_issued = subj && iss && X509_NAME_cmp(subj, iss) == 0;
  if (EVP_PKEY* k = X509_get0_pubkey(x.get())) {
    c.key_bits = EVP_PKEY_get_bits(k);
    const char* tn = EVP_PKEY_get0_type_name(k);
    c.key_type = tn ? tn : "";
    if (c.self_issued) c.self_signed = X509_verify(x.get(), k) == 1;
  }
  int sig_nid = X509_get_signature_nid(x.get());
  if (const char* sn = OBJ_nid2ln(sig_nid)) c.signature_algorithm = sn;
  return c;
}

bool certificate_matches_host(std::string_view der, std::string_view host) {
  auto x = decode(der);
  if (!x || host.empty() || host.size() > 253) return false;
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return X509_check_host(x.get(), host.data(), host.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1;
}

std::int64_t days_left(const cert_info& c, std::int64_t now) {
  std::int64_t d = c.not_after - now;
  return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

}  // namespace mailfort::audit
