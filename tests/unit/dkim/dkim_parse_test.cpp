// tests/unit/dkim/dkim_parse_test.cpp: tag lists, DKIM-Signature and key-record parsing, canonicalisation,
// with the shared conformance files signature-tags.yaml, key-records.yaml and canonicalization.json.
// SPDX-License-Identifier: MIT
#include "auth/dkim_canon.hpp"
#include "auth/dkim_signature.hpp"
#include "auth/dkim_verify.hpp"
#include "dkim/dkim_test_util.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

using namespace mailfort::dkim;

namespace {

std::vector<std::string> strings_of(const YAML::Node& n) {
  std::vector<std::string> out;
  for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}

}  // namespace

TEST(DkimTagList, SplitsTrimsAndKeepsOffsets) {
  const std::string text = " a = b ; c=d e;;";
  auto tags = parse_tag_list(text);
  ASSERT_TRUE(tags);
  ASSERT_EQ(tags->size(), 2u);
  EXPECT_EQ((*tags)[0].name, "a");
  EXPECT_EQ((*tags)[0].value, "b");
  EXPECT_EQ(text.substr((*tags)[0].value_offset, 1), "b");
  EXPECT_EQ((*tags)[1].value, "d e");
  EXPECT_EQ(text.substr((*tags)[1].value_offset, 3), "d e");
}

TEST(DkimTagList, RejectsDuplicatesMissingEqualsBadNamesAndTooMany) {
  EXPECT_FALSE(parse_tag_list("a=1; a=2"));
  EXPECT_FALSE(parse_tag_list("a=1; b"));
  EXPECT_FALSE(parse_tag_list("1a=1"));
  EXPECT_FALSE(parse_tag_list("a-b=1"));
  std::string many;
  for (int i = 0; i < 70; ++i) many += "t" + std::to_string(i) + "=1;";
  EXPECT_FALSE(parse_tag_list(many));
  EXPECT_TRUE(parse_tag_list(""));
}

TEST(DkimBase64, DecodesWithWhitespaceAndRejectsGarbage) {
  EXPECT_EQ(decode_base64("aGVs\r\n bG8="), "hello");
  EXPECT_EQ(decode_base64("aGVsbG8"), "hello");  // unpadded
  EXPECT_FALSE(decode_base64("aGVsbG8=x"));
  EXPECT_FALSE(decode_base64("a"));
  EXPECT_FALSE(decode_base64("aGV*"));
  EXPECT_FALSE(decode_base64(std::string(max_b64 + 4, 'A')));
  EXPECT_EQ(encode_base64("hello"), "aGVsbG8=");
  EXPECT_EQ(encode_base64("hi"), "aGk=");
}

TEST(DkimQp, DecodesEscapes) {
  EXPECT_EQ(decode_dkim_qp("a=20b=3B"), "a b;");
  EXPECT_FALSE(decode_dkim_qp("a=2"));
  EXPECT_FALSE(decode_dkim_qp("a=ZZ"));
}

TEST(DkimSignatureTags, ConformanceCases) {
  YAML::Node doc = YAML::LoadFile(dkim_test::conformance_dir + "signature-tags.yaml");
  ASSERT_GE(doc["cases"].size(), 3u);
  for (const auto& c : doc["cases"]) {
    SCOPED_TRACE(c["id"].as<std::string>());
    auto r = parse_signature(c["header_value"].as<std::string>());
    ASSERT_TRUE(r.sig) << r.error;
    const auto& s = *r.sig;
    const auto& e = c["expect"];
    EXPECT_EQ(to_string(s.algo), e["a"].as<std::string>());
    EXPECT_EQ(s.domain, e["d"].as<std::string>());
    EXPECT_EQ(s.selector, e["s"].as<std::string>());
    if (e["i"].as<std::string>().empty()) {
      EXPECT_FALSE(s.identity_given);
      EXPECT_EQ(s.identity, "@" + s.domain);
    } else {
      EXPECT_EQ(s.identity, e["i"].as<std::string>());
    }
    EXPECT_EQ(s.headers, strings_of(e["h"]));
    EXPECT_EQ(s.length, e["l"].IsNull() ? std::nullopt : std::optional<std::uint64_t>(e["l"].as<std::uint64_t>()));
    EXPECT_EQ(s.timestamp, e["t"].IsNull() ? std::nullopt : std::optional<std::int64_t>(e["t"].as<std::int64_t>()));
    EXPECT_EQ(s.expiration, e["x"].IsNull() ? std::nullopt : std::optional<std::int64_t>(e["x"].as<std::int64_t>()));
    EXPECT_EQ(std::string(to_string(s.header_canon)) + "/" + to_string(s.body_canon), e["c"].as<std::string>());
    EXPECT_EQ(encode_base64(s.bh), e["bh"].as<std::string>());
    EXPECT_EQ(s.b_text, e["b"].as<std::string>());
    if (e["z"]) {
      EXPECT_EQ(s.copied_headers, strings_of(e["z"]));
    }
  }
}

TEST(DkimSignatureTags, SemanticErrors) {
  const std::string ok = "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=AAAA; b=AAAA";
  EXPECT_TRUE(parse_signature(ok).sig);
  auto err = [](const std::string& v) {
    auto r = parse_signature(v);
    EXPECT_FALSE(r.sig) << v;
    return r.error;
  };
  EXPECT_EQ(err("v=1; a=rsa-sha256; d=example.com; s=sel; h=to:subject; bh=AAAA; b=AAAA"), "h= does not include From");
  EXPECT_EQ(err(ok + "; i=joe@evil.example"), "i= is not in the d= domain");
  EXPECT_EQ(err(ok + "; i=joe@badexample.com"), "i= is not in the d= domain");
  EXPECT_TRUE(parse_signature(ok + "; i=joe@sub.example.com").sig);
  EXPECT_EQ(err(ok + "; t=200; x=100"), "x= is before t=");
  EXPECT_EQ(err("v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA"), "v= missing or not 1");
  EXPECT_EQ(err("v=1; a=rsa-md5; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA"), "unknown algorithm");
  EXPECT_EQ(err(ok + "; q=http/get"), "q= does not offer dns/txt");
  EXPECT_EQ(err(ok + "; l=12x"), "l= is not a number");
  EXPECT_EQ(err(ok + "; l=99999999999999999999999"), "l= is not a number");
  EXPECT_EQ(err(ok + "; c=fancy/simple"), "unknown canonicalization");
  EXPECT_EQ(err("v=1; a=rsa-sha256; d=exa mple..com; s=sel; h=from; bh=AAAA; b=AAAA"),
            "d= missing or not a domain name");
  EXPECT_EQ(err(ok + "; d=other.example"), "malformed tag list");  // duplicate d=
  auto r = parse_signature("v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA");
  EXPECT_EQ(r.error, "b= missing");
  EXPECT_EQ(r.domain, "example.com");  // still reportable
  EXPECT_EQ(r.selector, "sel");
}

TEST(DkimKeyRecords, ConformanceCases) {
  YAML::Node doc = YAML::LoadFile(dkim_test::conformance_dir + "key-records.yaml");
  ASSERT_GE(doc["cases"].size(), 16u);
  for (const auto& c : doc["cases"]) {
    SCOPED_TRACE(c["id"].as<std::string>());
    const std::string expect = c["expect"].as<std::string>();
    auto r = parse_key_record(c["record"].as<std::string>());
    if (expect == "invalid") {
      // Either the record does not parse or its p= is not a key of its type.
      EXPECT_TRUE(!r.key || (!r.key->revoked && !inspect_public_key(*r.key)));
      continue;
    }
    ASSERT_TRUE(r.key) << r.error;
    if (expect == "revoked") {
      EXPECT_TRUE(r.key->revoked);
      continue;
    }
    ASSERT_EQ(expect, "valid");
    EXPECT_FALSE(r.key->revoked);
    auto info = inspect_public_key(*r.key);
    ASSERT_TRUE(info);
    if (c["key_type"]) {
      EXPECT_EQ(info->type == key_type::rsa ? "rsa" : "ed25519", c["key_type"].as<std::string>());
    }
    if (c["key_bits"]) {
      EXPECT_EQ(info->bits, c["key_bits"].as<int>());
    }
    const bool usable = r.key->service_email && (info->type == key_type::ed25519 || info->bits >= 1024);
    EXPECT_EQ(usable, !c["usable_for_email"] || c["usable_for_email"].as<bool>());
    if (c["flags"] && c["flags"]["t"]) {
      auto t = strings_of(c["flags"]["t"]);
      EXPECT_EQ(r.key->testing, std::find(t.begin(), t.end(), "y") != t.end());
      EXPECT_EQ(r.key->strict_identity, std::find(t.begin(), t.end(), "s") != t.end());
    }
    if (c["flags"] && c["flags"]["h"]) {
      auto h = strings_of(c["flags"]["h"]);
      EXPECT_EQ(r.key->allows_sha1, std::find(h.begin(), h.end(), "sha1") != h.end());
      EXPECT_EQ(r.key->allows_sha256, std::find(h.begin(), h.end(), "sha256") != h.end());
    }
  }
}

TEST(DkimKeyRecords, FlagsAndErrors) {
  auto k = parse_key_record("v=DKIM1; k=ed25519; h=sha1; s=tlsrpt; t=y; p=AAAA");
  ASSERT_TRUE(k.key);
  EXPECT_EQ(k.key->type, key_type::ed25519);
  EXPECT_FALSE(k.key->allows_sha256);
  EXPECT_FALSE(k.key->service_email);
  EXPECT_TRUE(k.key->testing);
  EXPECT_FALSE(inspect_public_key(*k.key));  // 3 bytes is not an Ed25519 key
  EXPECT_FALSE(parse_key_record("v=DKIM1; k=dsa; p=AAAA").key);
  EXPECT_FALSE(parse_key_record("v=DKIM1; k=rsa").key);
  EXPECT_FALSE(parse_key_record("v=DKIM1; p=not*base64").key);
  EXPECT_FALSE(parse_key_record("v=DKIM2; p=AAAA").key);
}

TEST(DkimCanon, ConformanceVectors) {
  auto doc = nlohmann::json::parse(dkim_test::read_file(dkim_test::conformance_dir + "canonicalization.json"));
  int n = 0;
  // Bare-LF cases are marked implementation_specific; mailfort follows go-msgauth (a bare LF ends a line),
  // so they are asserted too.
  for (const auto& c : doc["simple_body"]) {
    body_canonicalizer bc(canonicalization::simple);
    std::string out;
    auto sink = [&out](std::string_view s) { out.append(s); };
    for (const auto& chunk : c["input_chunks"]) bc.update(chunk.get<std::string>(), sink);
    bc.finish(sink);
    EXPECT_EQ(out, c["canonical"].get<std::string>()) << c.dump();
    ++n;
  }
  for (const auto& c : doc["relaxed_body"]) {
    EXPECT_EQ(canon_body(canonicalization::relaxed, c["input"].get<std::string>()), c["canonical"].get<std::string>())
        << c.dump();
    ++n;
  }
  for (const auto& c : doc["relaxed_body_split_crlf"]) {
    body_canonicalizer bc(canonicalization::relaxed);
    std::string out;
    auto sink = [&out](std::string_view s) { out.append(s); };
    for (const auto& chunk : c["input_chunks"]) bc.update(chunk.get<std::string>(), sink);
    bc.finish(sink);
    EXPECT_EQ(out, c["canonical"].get<std::string>()) << c.dump();
    ++n;
  }
  for (const auto& c : doc["relaxed_header"]) {
    std::string in = c["input"].get<std::string>();
    ASSERT_TRUE(in.size() >= 2 && in.substr(in.size() - 2) == "\r\n");
    in.resize(in.size() - 2);  // message.hpp hands over fields without their final CRLF
    EXPECT_EQ(canon_header(canonicalization::relaxed, in), c["canonical"].get<std::string>()) << c.dump();
    ++n;
  }
  EXPECT_EQ(n, 25);
}

TEST(DkimCanon, ChunkingNeverChangesTheResult) {
  const std::string body = "a \t b\r\n\r\n \r\nline\r\r\n\t x \r\n\r\n\r\n";
  for (auto c : {canonicalization::simple, canonicalization::relaxed}) {
    const std::string whole = canon_body(c, body);
    for (std::size_t i = 0; i <= body.size(); ++i) {
      for (std::size_t j = i; j <= body.size(); ++j) {
        body_canonicalizer bc(c);
        std::string out;
        auto sink = [&out](std::string_view s) { out.append(s); };
        bc.update(std::string_view(body).substr(0, i), sink);
        bc.update(std::string_view(body).substr(i, j - i), sink);
        bc.update(std::string_view(body).substr(j), sink);
        bc.finish(sink);
        ASSERT_EQ(out, whole) << i << "," << j;
      }
    }
  }
  EXPECT_EQ(canon_body(canonicalization::relaxed, body), "a b\r\n\r\n\r\nline\r\r\n x\r\n");
}

TEST(DkimCanon, BodyHasherLimitCountsWholeBody) {
  body_hasher h(canonicalization::simple, hash_alg::sha256, 5);
  h.update("Hello\r\nappended\r\n");
  const std::string d = h.finish();
  EXPECT_EQ(d, digest(hash_alg::sha256, "Hello"));
  EXPECT_EQ(h.canonical_length(), 17u);
}

TEST(DkimCanon, LongBodyOutputSpansBuffer) {
  std::string body(10000, 'x');
  body += "\r\n";
  EXPECT_EQ(canon_body(canonicalization::simple, body), body);
}
