// tests/unit/dmarc/dmarc_record_test.cpp: DMARC record parser edge cases beyond the conformance file.
// SPDX-License-Identifier: MIT
#include "auth/dmarc_record.hpp"

#include <gtest/gtest.h>

using namespace mailfort::dmarc;

TEST(DmarcRecord, VersionMustComeFirstAndBeExact) {
  EXPECT_EQ(parse_record("p=reject; v=DMARC1").error, record_error::not_dmarc);
  EXPECT_EQ(parse_record("v=spf1 -all").error, record_error::bad_version);
  EXPECT_EQ(parse_record("v=DMARC1x; p=reject").error, record_error::bad_version);
  EXPECT_EQ(parse_record("").error, record_error::not_dmarc);
  EXPECT_TRUE(parse_record("v=DMARC1;p=reject").value);
  EXPECT_TRUE(is_dmarc_record("v = DMARC1 ; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=DMARC2; p=none"));
  EXPECT_FALSE(is_dmarc_record("some-other-txt-record"));
}

TEST(DmarcRecord, MissingOrInvalidPolicy) {
  EXPECT_EQ(parse_record("v=DMARC1").error, record_error::no_policy);
  EXPECT_EQ(parse_record("v=DMARC1; p=bogus").error, record_error::no_policy);
  EXPECT_EQ(parse_record("v=DMARC1; p=reject; sp=bogus").error, record_error::no_policy);
  // With a valid rua, act as p=none (RFC 7489 6.6.3), sp and np included.
  auto r = parse_record("v=DMARC1; p=bogus; sp=reject; rua=mailto:r@example.com");
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->p, policy::none);
  EXPECT_EQ(r.value->sp, policy::none);
  EXPECT_FALSE(r.value->p_given);
  // An rua with no usable URI does not rescue the record.
  EXPECT_EQ(parse_record("v=DMARC1; rua=not a uri").error, record_error::no_policy);
}

TEST(DmarcRecord, InvalidValuesFallBackToDefaults) {
  auto r = parse_record("v=DMARC1; p=reject; pct=101; adkim=x; aspf=; ri=-5; fo=z; psd=maybe; t=n; np=bad");
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->pct, 100);
  EXPECT_EQ(r.value->adkim, alignment_mode::relaxed);
  EXPECT_EQ(r.value->aspf, alignment_mode::relaxed);
  EXPECT_EQ(r.value->ri, 86400u);
  EXPECT_EQ(r.value->fo, std::vector<std::string>{"0"});
  EXPECT_EQ(r.value->psd, 'u');
  EXPECT_FALSE(r.value->t);
  EXPECT_EQ(r.value->np, policy::reject);  // np invalid: defaults to sp, which defaults to p
  auto z = parse_record("v=DMARC1; p=none; pct=0");
  ASSERT_TRUE(z.value);
  EXPECT_EQ(z.value->pct, 0);
}

TEST(DmarcRecord, FirstOccurrenceWins) {
  auto r = parse_record("v=DMARC1; p=none; p=reject; adkim=s; adkim=r");
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->p, policy::none);
  EXPECT_EQ(r.value->adkim, alignment_mode::strict);
}

TEST(DmarcRecord, UriListsAndSizes) {
  auto u = parse_uri_list(
      "mailto:a@example.com!1k, mailto:b@example.com!3, https://x.example/r, mailto:c@example.com!x, "
      "mailto:d@example.com!99999999999t");
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].max_size_bytes, 1024u);
  EXPECT_EQ(u[1].max_size_bytes, 3u);
  EXPECT_EQ(u[2].uri, "https://x.example/r");
  EXPECT_FALSE(u[2].max_size_bytes);
  // Bounded: at most max_uris entries are kept however long the list is.
  std::string many;
  for (int k = 0; k < 100; ++k) many += "mailto:r@example.com,";
  EXPECT_EQ(parse_uri_list(many).size(), max_uris);
  // Percent-encoded control characters cannot reach the URI.
  EXPECT_TRUE(parse_uri_list("mailto:a%0d%0aBcc:x@example.com@example.com").empty());
}

TEST(DmarcRecord, Bounded) {
  std::string big = "v=DMARC1; p=reject; x=" + std::string(max_record_length, 'a');
  EXPECT_EQ(parse_record(big).error, record_error::too_long);
  std::string tags = "v=DMARC1";
  for (int k = 0; k < 200; ++k) tags += "; x" + std::to_string(k) + "=1";
  tags += "; p=reject";
  // p comes after max_tags other tags: it is not read, and there is no rua.
  EXPECT_EQ(parse_record(tags).error, record_error::no_policy);
}
