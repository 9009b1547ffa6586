// tests/unit/audit/cert_info_test.cpp: certificate field extraction and the expiry / name / self-signed checks,
// with certificates made here by OpenSSL (no keys committed).
// SPDX-License-Identifier: MIT
#include "audit/cert_info.hpp"
#include "audit/smtp_observations.hpp"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

using namespace mailfort::audit;

namespace {

constexpr std::int64_t k_now = 1700000000;

// A self-signed certificate for cn (and SAN dns), valid [now + from_days, now + to_days].
// bits 0: an EC P-256 key (fast to make); otherwise RSA of that size.
std::string make_cert(const std::string& cn, const std::string& san, long from_days, long to_days, int bits = 0) {
  EVP_PKEY* key = bits ? EVP_RSA_gen(static_cast<unsigned>(bits)) : EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(k_now + from_days * 86400));
  ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(k_now + to_days * 86400));
  X509_set_pubkey(x, key);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, n);
  if (!san.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    std::string v = "DNS:" + san;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, v.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

std::vector<finding> cert_findings(const std::string& der, const std::string& name) {
  smtp_observations o;
  o.host = "127.0.0.1";
  o.tls_name = name;
  o.starttls_ok = true;
  o.chain_der = {der};
  o.chain_trusted = false;
  smtp_check_options opt;
  opt.now = k_now;
  std::vector<finding> out;
  check_certificate(o, opt, out);
  return out;
}

bool has(const std::vector<finding>& v, const std::string& id, severity s) {
  return std::any_of(v.begin(), v.end(), [&](const finding& f) { return f.id == id && f.sev == s; });
}

}  // namespace

TEST(audit_cert, fields) {
  auto der = make_cert("mx.example.org", "mx.example.org", -10, 100, 2048);
  auto c = parse_certificate(der);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->common_name, "mx.example.org");
  ASSERT_EQ(c->dns_names.size(), 1u);
  EXPECT_EQ(c->dns_names[0], "mx.example.org");
  EXPECT_TRUE(c->self_issued);
  EXPECT_TRUE(c->self_signed);
  EXPECT_EQ(c->key_type, "RSA");
  EXPECT_EQ(c->key_bits, 2048);
  EXPECT_EQ(days_left(*c, k_now), 100);
  EXPECT_EQ(c->signature_algorithm, "sha256WithRSAEncryption");
  EXPECT_TRUE(certificate_matches_host(der, "mx.example.org"));
  EXPECT_TRUE(certificate_matches_host(der, "MX.example.org."));
  EXPECT_FALSE(certificate_matches_host(der, "other.example.org"));
}

TEST(audit_cert, garbage_is_refused) {
  EXPECT_FALSE(parse_certificate(""));
  EXPECT_FALSE(parse_certificate("not a certificate"));
  auto der = make_cert("a", "", 0, 1);
  ASSERT_TRUE(parse_certificate(der));
  EXPECT_EQ(parse_certificate(der)->key_type, "EC");
  EXPECT_FALSE(parse_certificate(der + "x"));  // trailing bytes
  EXPECT_FALSE(parse_certificate(der.substr(0, der.size() - 1)));
  EXPECT_FALSE(certificate_matches_host("junk", "a"));
}

TEST(audit_cert, expiry_thresholds) {
  EXPECT_TRUE(has(cert_findings(make_cert("mx", "mx", -100, -2), "mx"), "certificate.expired", severity::critical));
  auto expired = cert_findings(make_cert("mx", "mx", -100, -2), "mx");
  EXPECT_FALSE(
      std::any_of(expired.begin(), expired.end(), [](const finding& f) { return f.id == "certificate.untrusted"; }));
  EXPECT_TRUE(has(cert_findings(make_cert("mx", "mx", -100, 20), "mx"), "certificate.expiry.30", severity::high));
  EXPECT_TRUE(has(cert_findings(make_cert("mx", "mx", -100, 45), "mx"), "certificate.expiry.60", severity::medium));
  auto ok = cert_findings(make_cert("mx", "mx", -100, 90), "mx");
  EXPECT_FALSE(
      std::any_of(ok.begin(), ok.end(), [](const finding& f) { return f.id.rfind("certificate.exp", 0) == 0; }));
}

TEST(audit_cert, self_signed_wrong_name_weak_key) {
  auto f = cert_findings(make_cert("wrong.example", "wrong.example", -1, 300, 1024), "mx.example.org");
  EXPECT_TRUE(has(f, "certificate.self_signed", severity::medium));
  EXPECT_TRUE(has(f, "certificate.name_mismatch", severity::medium));
  EXPECT_TRUE(has(f, "certificate.weak_key", severity::high));
}
