// tests/unit/monitor/blocklist_test.cpp: DNSBL query names and verdicts.
// SPDX-License-Identifier: MIT
#include "monitor/blocklist.hpp"

#include <gtest/gtest.h>

using namespace mailfort::monitor;

TEST(dnsbl, query_names) {
  EXPECT_EQ(dnsbl_query_name("192.0.2.1", "zen.spamhaus.org"), "1.2.0.192.zen.spamhaus.org");
  EXPECT_EQ(dnsbl_query_name("192.0.2.1", "bl.test."), "1.2.0.192.bl.test");
  EXPECT_EQ(dnsbl_query_name("2001:db8::1", "bl.test"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test");
  EXPECT_EQ(dnsbl_query_name("not-an-ip", "bl.test"), std::nullopt);
  EXPECT_EQ(dnsbl_query_name("192.0.2.1", ""), std::nullopt);
  EXPECT_EQ(dnsbl_query_name("192.0.2.1/24", "bl.test"), std::nullopt);
}

TEST(dnsbl, verdicts) {
  auto a = [](unsigned char w, unsigned char x, unsigned char y, unsigned char z) {
    return std::string{static_cast<char>(w), static_cast<char>(x), static_cast<char>(y), static_cast<char>(z)};
  };
  EXPECT_EQ(dnsbl_classify(true, false, {}), dnsbl_verdict::not_listed);
  EXPECT_EQ(dnsbl_classify(false, true, {}), dnsbl_verdict::not_listed);  // nodata
  EXPECT_EQ(dnsbl_classify(false, false, {}), dnsbl_verdict::unknown);    // timeout, servfail
  EXPECT_EQ(dnsbl_classify(false, true, {a(127, 0, 0, 2)}), dnsbl_verdict::listed);
  EXPECT_EQ(dnsbl_classify(false, true, {a(127, 0, 0, 4), a(127, 0, 0, 10)}), dnsbl_verdict::listed);
  // Spamhaus "query refused" (public resolver, over quota) is not a listing
  EXPECT_EQ(dnsbl_classify(false, true, {a(127, 255, 255, 254)}), dnsbl_verdict::unknown);
  // an answer outside 127/8 (wildcard, NXDOMAIN-hijacking resolver) says nothing
  EXPECT_EQ(dnsbl_classify(false, true, {a(198, 51, 100, 7)}), dnsbl_verdict::unknown);
  EXPECT_EQ(dnsbl_classify(false, true, {"\x7f"}), dnsbl_verdict::unknown);  // malformed RDATA
}
