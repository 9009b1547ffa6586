// tests/unit/dkim/dkim_verify_test.cpp: verification of every case in conformance/dkim/cases.yaml (DNS from
// the case through dns::static_source), the signing vector, bounded work and the hostile inputs of the
// issue (50 signatures, RSA-512, rsa-sha1, malformed p=, l= with appended content), key-record flags, and
// sign-then-verify round trips for Ed25519 and RSA-2048.
// SPDX-License-Identifier: MIT
#include "auth/dkim_sign.hpp"
#include "auth/dkim_verify.hpp"
#include "dkim/dkim_test_util.hpp"

#include <openssl/evp.h>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <ctime>

using namespace mailfort;
using namespace mailfort::dkim;

namespace {

const std::string base_message =
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: round trip\r\n"
    "Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n"
    "Message-ID: <rt@example.com>\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "  this  line has   spaces  \r\n"
    "\r\n";

std::vector<verify_result> verify_with(dns::static_source& dns, const std::string& msg, std::int64_t now = 0) {
  verify_options o;
  o.now = now != 0 ? now : static_cast<std::int64_t>(std::time(nullptr));
  return dkim_test::run(verify(dns, msg, o));
}

std::string sign_default(const signing_key& key, const std::string& msg, const std::string& domain = "example.com",
                         const std::string& selector = "sel") {
  sign_options o;
  o.domain = domain;
  o.selector = selector;
  o.timestamp = static_cast<std::int64_t>(std::time(nullptr));
  std::string field = sign(msg, key, o);
  EXPECT_FALSE(field.empty());
  return field + msg;
}

void publish(dns::static_source& dns, const std::string& name, const std::string& record) {
  dns.add_records(name, dns::rr_type::txt, {dkim_test::txt_rdata(record)});
}

}  // namespace

TEST(DkimConformance, EveryCase) {
  YAML::Node doc = YAML::LoadFile(dkim_test::conformance_dir + "cases.yaml");
  int cases = 0, signatures = 0;
  for (const auto& c : doc["cases"]) {
    const std::string id = c["id"].as<std::string>();
    SCOPED_TRACE(id);
    ++cases;
    const std::string msg = dkim_test::read_file(dkim_test::conformance_dir + c["message"].as<std::string>());
    dns::static_source dns;
    for (const auto& kv : c["dns_txt"]) publish(dns, kv.first.as<std::string>(), kv.second.as<std::string>());
    const std::int64_t now =
        c["verify_time"].IsNull() ? static_cast<std::int64_t>(std::time(nullptr)) : c["verify_time"].as<std::int64_t>();
    auto results = verify_with(dns, msg, now);
    const auto& expected = c["expected_signatures"];
    ASSERT_EQ(results.size(), expected.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      ++signatures;
      const auto& e = expected[i];
      const auto& r = results[i];
      EXPECT_EQ(r.domain, e["d"].as<std::string>());
      EXPECT_EQ(r.selector, e["s"].as<std::string>());
      EXPECT_EQ(r.algorithm, e["a"].as<std::string>());
      std::vector<std::string> ok;
      if (e["result"].IsSequence()) {
        for (const auto& x : e["result"]) ok.push_back(x.as<std::string>());
      } else {
        ok.push_back(e["result"].as<std::string>());
      }
      if (id == "dkimpy-l-tag-content-appended") {
        // Deliberate difference: dkimpy reports pass because the first l= bytes still verify. mailfort
        // never passes a signature when unsigned content follows the l= part (the mailfort issue: "never
        // pass for appended content"); the signed part is intact, so the answer is policy, not fail.
        ASSERT_EQ(ok, std::vector<std::string>{"pass"});
        EXPECT_EQ(r.res, result::policy);
        EXPECT_EQ(r.reason, "unsigned content appended");
        continue;
      }
      EXPECT_NE(std::find(ok.begin(), ok.end(), to_string(r.res)), ok.end())
          << "signature " << i << ": got " << to_string(r.res) << " (" << r.reason << ")";
      if (r.res == result::pass) {
        EXPECT_TRUE(r.reason.empty());
        EXPECT_GE(r.b_prefix.size(), 8u);
      }
    }
    if (c["expected_dkim_result"]) {
      EXPECT_TRUE(results.empty());
    }
  }
  EXPECT_EQ(cases, 19);
  EXPECT_GE(signatures, 20);
}

TEST(DkimSigning, GoMsgauthVectorByteForByte) {
  YAML::Node doc = YAML::LoadFile(dkim_test::conformance_dir + "signing-vectors.yaml");
  for (const auto& v : doc["vectors"]) {
    SCOPED_TRACE(v["id"].as<std::string>());
    auto key = load_signing_key(dkim_test::conformance_dir + v["private_key"].as<std::string>());
    ASSERT_TRUE(key.key) << key.error;
    const std::string input = dkim_test::read_file(dkim_test::conformance_dir + v["input"].as<std::string>());
    const auto& o = v["options"];
    sign_options so;
    so.domain = o["d"].as<std::string>();
    so.selector = o["s"].as<std::string>();
    so.timestamp = o["t"].as<std::int64_t>();
    so.header_canon = so.body_canon = canonicalization::simple;
    ASSERT_EQ(o["c"].as<std::string>(), "simple/simple");
    for (const auto& h : o["h"]) so.headers.push_back(h.as<std::string>());
    so.layout = tag_layout::go_msgauth;
    const std::string field = sign(input, *key.key, so);
    EXPECT_EQ(field, v["expected_signature_header"].as<std::string>() + "\r\n");
    EXPECT_EQ(field + input, dkim_test::read_file(dkim_test::conformance_dir + v["expected_output"].as<std::string>()));
    // And what we produce verifies against the published record.
    dns::static_source dns;
    for (const auto& kv : v["public_key_record"]) publish(dns, kv.first.as<std::string>(), kv.second.as<std::string>());
    auto r = verify_with(dns, field + input);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].res, result::pass) << r[0].reason;
  }
}

class DkimRoundTrip : public ::testing::TestWithParam<key_type> {};

TEST_P(DkimRoundTrip, SignVerifyAndTamper) {
  auto key = generate_key(GetParam());
  ASSERT_TRUE(key);
  dns::static_source dns;
  publish(dns, "sel._domainkey.example.com", dns_txt_record(*key));
  const std::string signed_msg = sign_default(*key, base_message);
  // Folded to < 78 columns; From oversigned; relaxed/relaxed; t= present; no l=, no x=.
  const std::string field = signed_msg.substr(0, signed_msg.find("\r\nFrom:") + 2);
  std::size_t start = 0;
  while (start < field.size()) {
    const std::size_t e = field.find("\r\n", start);
    EXPECT_LT(e - start, 78u) << field;
    start = e + 2;
  }
  EXPECT_NE(field.find("h=From:From:To:Subject:Date:Message-ID;"), std::string::npos) << field;
  EXPECT_NE(field.find("c=relaxed/relaxed;"), std::string::npos);
  EXPECT_NE(field.find(" t="), std::string::npos);
  EXPECT_EQ(field.find(" l="), std::string::npos);
  EXPECT_EQ(field.find(" x="), std::string::npos);

  auto r = verify_with(dns, signed_msg);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].res, result::pass) << r[0].reason;
  EXPECT_EQ(r[0].algorithm, GetParam() == key_type::ed25519 ? "ed25519-sha256" : "rsa-sha256");
  EXPECT_EQ(r[0].identity, "@example.com");

  // Relaxed canonicalisation tolerates whitespace changes in a signed header and in the body.
  std::string ws = signed_msg;
  ws.replace(ws.find("Subject: round trip"), 19, "Subject:   round \t trip");
  ws.replace(ws.find("  this  line"), 12, " this line");
  EXPECT_EQ(verify_with(dns, ws)[0].res, result::pass);

  std::string subject = signed_msg;
  subject.replace(subject.find("round trip"), 10, "round trap");
  EXPECT_EQ(verify_with(dns, subject)[0].res, result::fail);

  // A second From added on top: oversigning makes it break the signature.
  const std::size_t from_pos = signed_msg.find("\r\nFrom:") + 2;
  std::string two_from = signed_msg;
  two_from.insert(from_pos, "From: Mallory <m@evil.example>\r\n");
  EXPECT_EQ(verify_with(dns, two_from)[0].res, result::fail);

  std::string appended = signed_msg + "P.S. send money\r\n";
  auto ra = verify_with(dns, appended);
  EXPECT_EQ(ra[0].res, result::fail);
  EXPECT_EQ(ra[0].reason, "body hash mismatch");
}

INSTANTIATE_TEST_SUITE_P(Keys, DkimRoundTrip, ::testing::Values(key_type::ed25519, key_type::rsa));

TEST(DkimSigning, DualSigningBothPass) {
  auto ed = generate_key(key_type::ed25519);
  auto rsa = generate_key(key_type::rsa);
  ASSERT_TRUE(ed && rsa);
  dns::static_source dns;
  publish(dns, "ed._domainkey.example.com", dns_txt_record(*ed));
  publish(dns, "rsa._domainkey.example.com", dns_txt_record(*rsa));
  std::string msg = sign_default(*rsa, base_message, "example.com", "rsa");
  msg = sign_default(*ed, msg, "example.com", "ed");
  auto r = verify_with(dns, msg);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].res, result::pass) << r[0].reason;
  EXPECT_EQ(r[1].res, result::pass) << r[1].reason;
  EXPECT_EQ(r[0].selector, "ed");
}

TEST(DkimSigning, KeyPemRoundTripAndRecord) {
  auto key = generate_key(key_type::rsa);
  ASSERT_TRUE(key);
  auto again = parse_signing_key(private_key_pem(*key));
  ASSERT_TRUE(again.key) << again.error;
  EXPECT_EQ(dns_txt_record(*again.key), dns_txt_record(*key));
  auto rec = parse_key_record(dns_txt_record(*key));
  ASSERT_TRUE(rec.key);
  auto info = inspect_public_key(*rec.key);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->bits, 2048);
  EXPECT_FALSE(parse_signing_key("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n").key);
  EXPECT_FALSE(load_signing_key("/nonexistent/key.pem").key);
  auto seed =
      decode_base64(dkim_test::read_file(dkim_test::conformance_dir + "keys/rfc8032-7.1-test1-ed25519.seed.b64"));
  ASSERT_TRUE(seed);
  auto ed = signing_key_from_ed25519_seed(*seed);
  ASSERT_TRUE(ed);
  // RFC 8463 Appendix A.2: the brisbane public key.
  EXPECT_EQ(dns_txt_record(*ed), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(DkimSigning, RefusesWithoutFrom) {
  auto key = generate_key(key_type::ed25519);
  sign_options o;
  o.domain = "example.com";
  o.selector = "s";
  EXPECT_EQ(sign("To: x@example.com\r\n\r\nbody\r\n", *key, o), "");
  o.headers = {"To"};
  EXPECT_EQ(sign(base_message, *key, o), "");
}

TEST(DkimHostile, FiftySignaturesBoundedWork) {
  auto key = generate_key(key_type::ed25519);
  ASSERT_TRUE(key);
  dns::static_source dns;
  std::string msg = base_message;
  for (int i = 0; i < 50; ++i) {
    const std::string sel = "s" + std::to_string(i);
    publish(dns, sel + "._domainkey.example.com", dns_txt_record(*key));
    msg = sign_default(*key, msg, "example.com", sel);
  }
  auto r = verify_with(dns, msg);
  ASSERT_EQ(r.size(), 50u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(r[i].res, result::pass) << i << " " << r[i].reason;
  for (std::size_t i = 5; i < 50; ++i) {
    EXPECT_EQ(r[i].res, result::neutral);
    EXPECT_EQ(r[i].reason, "not checked: more than 5 signatures");
  }
  EXPECT_EQ(dns.lookups(), 5);
}

TEST(DkimHostile, TooManyHeaderFieldsIsPermerror) {
  std::string msg;
  for (int i = 0; i < 1100; ++i) msg += "X-A: b\r\n";
  msg += "\r\nbody\r\n";
  dns::static_source dns;
  auto r = verify_with(dns, msg);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].res, result::permerror);
  EXPECT_EQ(dns.lookups(), 0);
}

TEST(DkimHostile, Rsa512KeyNeverPasses) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(512));
  ASSERT_NE(raw, nullptr);
  signing_key weak{key_type::rsa, std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free)};
  EXPECT_FALSE(parse_signing_key(private_key_pem(weak)).key);  // we never load one for signing either
  dns::static_source dns;
  publish(dns, "sel._domainkey.example.com", dns_txt_record(weak));
  auto r = verify_with(dns, sign_default(weak, base_message));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].res, result::permerror);
  EXPECT_EQ(r[0].reason, "RSA key of 512 bits is under the minimum (RFC 8301)");
}

TEST(DkimHostile, RsaSha1NeverPassesAndCostsNoLookup) {
  auto key = generate_key(key_type::rsa);
  dns::static_source dns;
  publish(dns, "sel._domainkey.example.com", dns_txt_record(*key));
  std::string msg = sign_default(*key, base_message);
  msg.replace(msg.find("a=rsa-sha256"), 12, "a=rsa-sha1");
  auto r = verify_with(dns, msg);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].res, result::permerror);
  EXPECT_EQ(r[0].algorithm, "rsa-sha1");
  EXPECT_EQ(dns.lookups(), 0);
}

TEST(DkimHostile, MalformedKeyRecords) {
  auto key = generate_key(key_type::rsa);
  const std::string msg = sign_default(*key, base_message);
  const std::string good = dns_txt_record(*key);
  auto one = [&](const std::string& record) {
    dns::static_source dns;
    publish(dns, "sel._domainkey.example.com", record);
    auto r = verify_with(dns, msg);
    EXPECT_EQ(r.size(), 1u);
    return r.at(0);
  };
  EXPECT_EQ(one(good).res, result::pass);
  EXPECT_EQ(one("v=DKIM1; k=rsa; p=MIGfMA0G!!").res, result::permerror);
  EXPECT_EQ(one("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA").res, result::permerror);
  EXPECT_EQ(one("v=DKIM1; k=rsa; p=").res, result::fail);  // revoked
  EXPECT_EQ(one("v=DKIM1; k=x25519; p=AAAA").res, result::permerror);
  EXPECT_EQ(one(good + "; h=sha1").res, result::fail);
  EXPECT_EQ(one(good + "; s=tlsrpt").res, result::fail);
  auto ed = generate_key(key_type::ed25519);
  EXPECT_EQ(one(dns_txt_record(*ed)).res, result::fail);  // k= does not match a=
  auto testing = one(good + "; t=y");
  EXPECT_EQ(testing.res, result::pass);
  EXPECT_TRUE(testing.testing);
  EXPECT_EQ(one(good + "; t=s").res, result::pass);  // i= absent means @d: exact
}

TEST(DkimHostile, StrictIdentityRejectsSubdomain) {
  auto key = generate_key(key_type::ed25519);
  sign_options o;
  o.domain = "example.com";
  o.selector = "sel";
  o.identity = "alice@mail.example.com";
  const std::string msg = sign(base_message, *key, o) + base_message;
  dns::static_source dns;
  publish(dns, "sel._domainkey.example.com", dns_txt_record(*key) + "; t=s");
  auto r = verify_with(dns, msg);
  EXPECT_EQ(r.at(0).res, result::fail);
  EXPECT_EQ(r.at(0).identity, "alice@mail.example.com");
}

TEST(DkimHostile, ExpiredSignature) {
  auto key = generate_key(key_type::ed25519);
  sign_options o;
  o.domain = "example.com";
  o.selector = "sel";
  o.timestamp = 1000;
  o.expiration = 2000;
  const std::string msg = sign(base_message, *key, o) + base_message;
  dns::static_source dns;
  publish(dns, "sel._domainkey.example.com", dns_txt_record(*key));
  EXPECT_EQ(verify_with(dns, msg, 1500).at(0).res, result::pass);
  auto r = verify_with(dns, msg, 2001);
  EXPECT_EQ(r.at(0).res, result::fail);
  EXPECT_EQ(r.at(0).reason, "signature expired (x=)");
}

TEST(DkimHostile, DnsFailures) {
  auto key = generate_key(key_type::ed25519);
  const std::string msg = sign_default(*key, base_message);
  dns::static_source none;
  EXPECT_EQ(verify_with(none, msg).at(0).res, result::permerror);  // nxdomain
  dns::static_source slow;
  dns::lookup_result to;
  to.st = dns::status::timeout;
  slow.add("sel._domainkey.example.com", dns::rr_type::txt, to);
  EXPECT_EQ(verify_with(slow, msg).at(0).res, result::temperror);
  dns::static_source bogus;
  dns::lookup_result b;
  b.st = dns::status::ok;
  b.sec = dns::dnssec::bogus;
  b.records = {dkim_test::txt_rdata(dns_txt_record(*key))};
  bogus.add("sel._domainkey.example.com", dns::rr_type::txt, b);
  EXPECT_EQ(verify_with(bogus, msg).at(0).res, result::temperror);
  dns::static_source junk;  // a non-DKIM TXT first, then the key: the key is found
  junk.add_records("sel._domainkey.example.com", dns::rr_type::txt,
                   {dkim_test::txt_rdata("hello world"), dkim_test::txt_rdata(dns_txt_record(*key))});
  EXPECT_EQ(verify_with(junk, msg).at(0).res, result::pass);
}

TEST(DkimHostile, LShorterThanBodyIsPolicyNeverPass) {
  // Build an l= signature by hand-editing our own signer's output is not possible (the tag is signed),
  // so use the conformance message signed by dkimpy with l= and compare with and without the appendix.
  YAML::Node doc = YAML::LoadFile(dkim_test::conformance_dir + "cases.yaml");
  for (const auto& c : doc["cases"]) {
    if (c["id"].as<std::string>() != "dkimpy-l-tag-content-appended") continue;
    std::string msg = dkim_test::read_file(dkim_test::conformance_dir + c["message"].as<std::string>());
    dns::static_source dns;
    for (const auto& kv : c["dns_txt"]) publish(dns, kv.first.as<std::string>(), kv.second.as<std::string>());
    auto r = verify_with(dns, msg, 1700000060);
    EXPECT_EQ(r.at(0).res, result::policy);
    // More appended content: still never pass.
    r = verify_with(dns, msg + "<a href=\"https://evil.example\">click</a>\r\n", 1700000060);
    EXPECT_EQ(r.at(0).res, result::policy);
    return;
  }
  FAIL() << "case dkimpy-l-tag-content-appended not found";
}
