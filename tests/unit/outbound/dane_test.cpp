// tests/unit/outbound/dane_test.cpp: TLSA matching with certificates made here by OpenSSL: DANE-EE by SPKI and
// full certificate with SHA-256/SHA-512/exact, DANE-TA through an intermediate with name and validity checks,
// unusable records (PKIX usages, unknown selector/matching type, wrong digest length).
// SPDX-License-Identifier: MIT
#include "outbound/dane.hpp"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <ctime>

namespace ob = mailfort::outbound;
namespace dns = mailfort::dns;

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

pkey_ptr new_key() { return pkey_ptr(EVP_EC_gen("P-256")); }

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for key, signed by issuer_key (self-signed when issuer is null), valid from now-1d for `days`.
ob::x509_ptr make_cert(EVP_PKEY* key, const char* cn, const char* san, bool ca, X509* issuer, EVP_PKEY* issuer_key,
                       long not_before_days = -1, long days = 30) {
  ob::x509_ptr c(X509_new());
  X509_set_version(c.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), not_before_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), (not_before_days + days) * 86400);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* iss = issuer ? issuer : c.get();
  if (ca) {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c.get(), iss, NID_basic_constraints, "CA:FALSE");
  }
  if (san) add_ext(c.get(), iss, NID_subject_alt_name, san);
  add_ext(c.get(), iss, NID_subject_key_identifier, "hash");
  X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return c;
}

struct pki {
  pkey_ptr root_key = new_key(), inter_key = new_key(), leaf_key = new_key(), other_key = new_key();
  ob::x509_ptr root = make_cert(root_key.get(), "Test Root", nullptr, true, nullptr, nullptr);
  ob::x509_ptr inter = make_cert(inter_key.get(), "Test Intermediate", nullptr, true, root.get(), root_key.get());
  ob::x509_ptr leaf = make_cert(leaf_key.get(), "mx.example.org", "DNS:mx.example.org,DNS:*.mail.example.org", false,
                                inter.get(), inter_key.get());
  ob::x509_ptr other = make_cert(other_key.get(), "other.example", "DNS:other.example", false, nullptr, nullptr);
  std::vector<X509*> chain() const { return {leaf.get(), inter.get(), root.get()}; }
};

const pki& test_pki() {
  static pki p;
  return p;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

dns::tlsa_record rec(X509* cert, std::uint8_t usage, std::uint8_t selector, std::uint8_t mtype) {
  auto r = ob::make_tlsa(cert, usage, selector, mtype);
  EXPECT_TRUE(r);
  return *r;
}

ob::dane_result verify(std::vector<dns::tlsa_record> recs, const std::vector<X509*>& chain,
                       std::vector<std::string> names = {"mx.example.org"}, std::int64_t t = now()) {
  return ob::dane_verify(recs, chain, names, t);
}

}  // namespace

TEST(Dane, EeMatchesBySpkiAndFullCertWithEveryDigest) {
  const auto& p = test_pki();
  auto chain = p.chain();
  for (std::uint8_t sel : {0, 1}) {
    for (std::uint8_t mt : {0, 1, 2}) {
      auto r = verify({rec(p.leaf.get(), 3, sel, mt)}, chain);
      EXPECT_EQ(r.status, ob::dane_status::authenticated) << int(sel) << " " << int(mt) << " " << r.reason;
      EXPECT_EQ(r.depth, 0u);
      // The same record computed from another certificate does not match.
      auto m = verify({rec(p.other.get(), 3, sel, mt)}, chain);
      EXPECT_EQ(m.status, ob::dane_status::mismatch) << int(sel) << " " << int(mt);
    }
  }
  EXPECT_EQ(rec(p.leaf.get(), 3, 1, 1).data.size(), 32u);
  EXPECT_EQ(rec(p.leaf.get(), 3, 1, 2).data.size(), 64u);
}

TEST(Dane, EeIgnoresNamesAndExpiry) {
  // RFC 7672 3.1.1: DANE-EE authenticates the key; neither the name nor the validity period matters.
  const auto& p = test_pki();
  auto r = verify({rec(p.other.get(), 3, 1, 1)}, {p.other.get()}, {"mx.example.org"}, now() + 400L * 86400);
  EXPECT_EQ(r.status, ob::dane_status::authenticated);
}

TEST(Dane, EeMustMatchTheLeafNotAnotherChainCert) {
  const auto& p = test_pki();
  EXPECT_EQ(verify({rec(p.inter.get(), 3, 1, 1)}, p.chain()).status, ob::dane_status::mismatch);
}

TEST(Dane, TaMatchesIntermediateOrRoot) {
  const auto& p = test_pki();
  auto r = verify({rec(p.inter.get(), 2, 1, 1)}, p.chain());
  EXPECT_EQ(r.status, ob::dane_status::authenticated) << r.reason;
  EXPECT_EQ(r.depth, 1u);
  r = verify({rec(p.root.get(), 2, 0, 2)}, p.chain());
  EXPECT_EQ(r.status, ob::dane_status::authenticated) << r.reason;
  EXPECT_EQ(r.depth, 2u);
  // Wildcard SAN: one whole leftmost label.
  EXPECT_EQ(verify({rec(p.inter.get(), 2, 1, 1)}, p.chain(), {"a.mail.example.org"}).status,
            ob::dane_status::authenticated);
  // The second reference name (e.g. the MX host when the TLSA base domain is a CNAME target) may be the one.
  EXPECT_EQ(verify({rec(p.inter.get(), 2, 1, 1)}, p.chain(), {"base.example.net", "mx.example.org"}).status,
            ob::dane_status::authenticated);
}

TEST(Dane, TaChecksNameValidityAndChain) {
  const auto& p = test_pki();
  auto ta = rec(p.inter.get(), 2, 1, 1);
  auto r = verify({ta}, p.chain(), {"evil.example.org"});
  EXPECT_EQ(r.status, ob::dane_status::mismatch);
  EXPECT_NE(r.reason.find("verification failed"), std::string::npos) << r.reason;
  EXPECT_EQ(verify({ta}, p.chain(), {"a.b.mail.example.org"}).status, ob::dane_status::mismatch);
  EXPECT_EQ(verify({ta}, p.chain(), {}).status, ob::dane_status::mismatch);
  EXPECT_EQ(verify({ta}, p.chain(), {"mx.example.org"}, now() + 60L * 86400).status, ob::dane_status::mismatch);
  // The TA is a certificate of the chain, but the leaf was not issued under it.
  std::vector<X509*> forged = {p.other.get(), p.inter.get()};
  EXPECT_EQ(verify({ta}, forged, {"other.example"}).status, ob::dane_status::mismatch);
  // A DANE-TA record matching only the leaf does not make the leaf its own anchor.
  EXPECT_EQ(verify({rec(p.leaf.get(), 2, 1, 1)}, p.chain()).status, ob::dane_status::mismatch);
}

TEST(Dane, UnusableRecords) {
  const auto& p = test_pki();
  auto chain = p.chain();
  // PKIX usages are unusable for SMTP even when they would match (RFC 7672 3.1.3).
  auto r = verify({rec(p.leaf.get(), 1, 1, 1), rec(p.root.get(), 0, 1, 1)}, chain);
  EXPECT_EQ(r.status, ob::dane_status::unusable);
  auto bad_sel = rec(p.leaf.get(), 3, 1, 1);
  bad_sel.selector = 2;
  auto bad_mt = rec(p.leaf.get(), 3, 1, 1);
  bad_mt.matching_type = 3;
  auto short_digest = rec(p.leaf.get(), 3, 1, 1);
  short_digest.data.pop_back();
  EXPECT_EQ(verify({bad_sel, bad_mt, short_digest}, chain).status, ob::dane_status::unusable);
  EXPECT_EQ(verify({}, chain).status, ob::dane_status::unusable);
  // One usable record among unusable ones decides.
  EXPECT_EQ(verify({bad_sel, rec(p.leaf.get(), 3, 1, 1)}, chain).status, ob::dane_status::authenticated);
  EXPECT_EQ(verify({bad_sel, rec(p.other.get(), 3, 1, 1)}, chain).status, ob::dane_status::mismatch);
  // Usable records but no certificate at all.
  EXPECT_EQ(verify({rec(p.leaf.get(), 3, 1, 1)}, {}).status, ob::dane_status::mismatch);
}

TEST(Dane, DerChainAndText) {
  const auto& p = test_pki();
  unsigned char* buf = nullptr;
  int len = i2d_X509(p.leaf.get(), &buf);
  ASSERT_GT(len, 0);
  std::string der(reinterpret_cast<char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  auto chain = ob::decode_der_chain({der});
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 1u);
  EXPECT_EQ(X509_cmp(chain->front().get(), p.leaf.get()), 0);
  EXPECT_FALSE(ob::decode_der_chain({der + "x"}));
  EXPECT_FALSE(ob::decode_der_chain({der.substr(0, der.size() - 1)}));
  EXPECT_FALSE(ob::decode_der_chain({""}));

  dns::tlsa_record r{3, 1, 1, std::string("\x01\xab\xff", 3)};
  EXPECT_EQ(ob::tlsa_to_text(r), "3 1 1 01abff");
  // The record we publish is what dns::parse_tlsa reads back from wire RDATA.
  auto made = rec(p.leaf.get(), 3, 1, 1);
  std::string rdata = std::string("\x03\x01\x01", 3) + made.data;
  auto parsed = dns::parse_tlsa(rdata);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, made);
  EXPECT_EQ(ob::tlsa_to_text(made).size(), 6u + 64u);
}
