// tests/unit/dns/upstream_test.cpp: DNS server addresses from config and the command line.
// SPDX-License-Identifier: MIT
#include "dns/upstream.hpp"

#include <gtest/gtest.h>

using namespace mailfort::dns;

TEST(dns_upstream, accepted_forms) {
  auto a = parse_upstream("127.0.0.1:5353");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unbound_form(), "127.0.0.1@5353");
  EXPECT_TRUE(a->is_loopback);
  auto b = parse_upstream("192.0.2.53");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 53);
  EXPECT_FALSE(b->is_loopback);
  auto c = parse_upstream("[::1]:5300");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->unbound_form(), "::1@5300");
  EXPECT_TRUE(c->is_loopback);
  auto d = parse_upstream("2001:db8::53");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, 53);
  EXPECT_EQ(parse_upstream("[2001:db8::53]")->address, "2001:db8::53");
}

TEST(dns_upstream, refused_forms) {
  for (const char* bad :
       {"", "localhost", "dns.example:53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:53x", "1.2.3",
        "[::1", "[::1]53", "[::1]:", "127.0.0.1@53", " 127.0.0.1", "fe80::1%eth0"})
    EXPECT_FALSE(parse_upstream(bad)) << bad;
  // Found by the fuzzer: inet_pton stops at a NUL, so the tail must be refused before it.
  EXPECT_FALSE(parse_upstream(std::string_view("127.0.0.1\0junk", 14)));
  EXPECT_FALSE(parse_upstream(std::string_view("::1\0", 4)));
}
