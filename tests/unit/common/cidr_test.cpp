// tests/unit/common/cidr_test.cpp: the one network type (common/cidr.hpp): strict parsing, matching of IPv4,
// IPv6 and IPv4-mapped clients, the IPv4 reading of ::ffff:a.b.c.d/96+n.
// SPDX-License-Identifier: MIT
#include "common/cidr.hpp"

#include <gtest/gtest.h>

using mailfort::common::cidr;
namespace ip = boost::asio::ip;

TEST(Cidr, ParsesNetworksAndHosts) {
  auto c = cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->v6);
  EXPECT_EQ(c->prefix, 24u);
  EXPECT_EQ(c->to_string(), "192.0.2.0/24");
  c = cidr::parse("2001:db8::/32");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->v6);
  EXPECT_EQ(c->prefix, 32u);
  EXPECT_EQ(c->to_string(), "2001:db8::/32");
  c = cidr::parse("127.0.0.1");  // a host
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 32u);
  c = cidr::parse("::1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 128u);
  EXPECT_TRUE(cidr::parse("0.0.0.0/0"));
  EXPECT_TRUE(cidr::parse("::/0"));
  EXPECT_TRUE(cidr::parse("10.0.0.0/008"));
}

TEST(Cidr, RejectsEverythingElse) {
  for (const char* bad : {"", "/24", "192.0.2.0/", "192.0.2.0/33", "::/129", "192.0.2.0/1000", "192.0.2.0/+8",
                          "192.0.2.0/ 8", " 192.0.2.0", "192.0.2.0/8 ", "192.0.2/24", "10.1", "example.org",
                          "fe80::1%eth0", "192.0.2.0/24/8", "1.2.3.4:25", "2001:db8::/-1", "0x7f.0.0.1"})
    EXPECT_FALSE(cidr::parse(bad)) << bad;
  EXPECT_FALSE(cidr::parse(std::string_view("10.0.0.1\0/8", 11)));
}

TEST(Cidr, Contains) {
  const auto v4 = *cidr::parse("192.0.2.0/25");
  EXPECT_TRUE(v4.contains(ip::make_address("192.0.2.1")));
  EXPECT_TRUE(v4.contains(ip::make_address("192.0.2.127")));
  EXPECT_FALSE(v4.contains(ip::make_address("192.0.2.128")));
  EXPECT_TRUE(v4.contains(ip::make_address("::ffff:192.0.2.5")));  // a dual-stack socket's IPv4 client
  EXPECT_FALSE(v4.contains(ip::make_address("2001:db8::1")));
  const auto v6 = *cidr::parse("2001:db8:1::/48");
  EXPECT_TRUE(v6.contains(ip::make_address("2001:db8:1:ffff::1")));
  EXPECT_FALSE(v6.contains(ip::make_address("2001:db8:2::1")));
  EXPECT_FALSE(v6.contains(ip::make_address("192.0.2.1")));
  EXPECT_TRUE(cidr::parse("0.0.0.0/0")->contains(ip::make_address("203.0.113.9")));
  EXPECT_TRUE(cidr::parse("10.1.2.3/8")->contains(ip::make_address("10.200.0.1")));  // host bits ignored
  EXPECT_TRUE(cidr::parse("127.0.0.1")->contains(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(cidr::parse("127.0.0.1")->contains(ip::make_address("127.0.0.2")));
}

TEST(Cidr, EffectiveReadsMappedNetworksAsIpv4) {
  auto e = cidr::parse("::ffff:0.0.0.0/96")->effective();
  EXPECT_FALSE(e.v6);
  EXPECT_EQ(e.prefix, 0u);
  e = cidr::parse("::ffff:10.0.0.0/104")->effective();
  EXPECT_FALSE(e.v6);
  EXPECT_EQ(e.to_string(), "10.0.0.0/8");
  e = cidr::parse("::ffff:0.0.0.0/95")->effective();  // wider than the mapped space: stays IPv6
  EXPECT_TRUE(e.v6);
  e = cidr::parse("2001:db8::/32")->effective();
  EXPECT_EQ(e.to_string(), "2001:db8::/32");
}
