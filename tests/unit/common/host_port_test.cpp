// tests/unit/common/host_port_test.cpp: the one host[:port] reader used by config, delivery, the auditor,
// the DNS, Redis and webhook settings.
// SPDX-License-Identifier: MIT
#include "common/host_port.hpp"

#include <gtest/gtest.h>

using mailfort::common::parse_host_port;
using mailfort::common::parse_port;

TEST(host_port, forms) {
  auto a = parse_host_port("mx.example.org");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "mx.example.org");
  EXPECT_FALSE(a->port);
  EXPECT_FALSE(a->bracketed);

  auto b = parse_host_port("192.0.2.1:587");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "192.0.2.1");
  EXPECT_EQ(b->port, 587);

  auto c = parse_host_port("[2001:db8::1]:2525");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "2001:db8::1");
  EXPECT_EQ(c->port, 2525);
  EXPECT_TRUE(c->bracketed);

  auto d = parse_host_port("[::1]");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "::1");
  EXPECT_FALSE(d->port);
}

// The bug this reader replaced: delivery read a bare IPv6 smart host "2001:db8::1" as host "2001:db8:"
// and port 1.
TEST(host_port, bare_ipv6_is_an_address_without_port) {
  for (const char* t : {"2001:db8::1", "::1", "fe80::25", "2001:db8::1:25"}) {
    auto r = parse_host_port(t);
    ASSERT_TRUE(r) << t;
    EXPECT_EQ(r->host, t);
    EXPECT_FALSE(r->port) << t;
  }
}

TEST(host_port, refused) {
  for (const char* bad :
       {"",        ":25",          "host:",     "host:0",    "host:65536", "host:123456", "host:25x",
        "host:-1", "[::1",         "[::1]25",   "[::1]:",    "[]:25",      "[]",          "[192.0.2.1]:25",
        "a b:25",  "user@host:25", "host/x:25", "[::1]]:25", "x]:25",      " host"})
    EXPECT_FALSE(parse_host_port(bad)) << '"' << bad << '"';
  EXPECT_FALSE(parse_host_port(std::string_view("127.0.0.1\0junk", 14)));
  EXPECT_FALSE(parse_host_port(std::string_view("127.0.0.1:2\0", 12)));
}

TEST(host_port, ports) {
  EXPECT_EQ(parse_port("1"), 1);
  EXPECT_EQ(parse_port("65535"), 65535);
  EXPECT_EQ(parse_port("00025"), 25);
  EXPECT_FALSE(parse_port("0"));
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port("99999"));
  EXPECT_FALSE(parse_port("025x"));
  EXPECT_FALSE(parse_port("+25"));
  EXPECT_FALSE(parse_port(""));
}
