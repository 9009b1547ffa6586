// tests/unit/outbound/mx_test.cpp: MX ordering with an injected RNG, null MX, implicit MX, DNS failures and
// the destination address classifier.
// SPDX-License-Identifier: MIT
#include "outbound/mx.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace ob = mailfort::outbound;
namespace dns = mailfort::dns;

namespace {

std::vector<std::string> hosts(const ob::mx_plan& p) {
  std::vector<std::string> v;
  for (const auto& h : p.hosts) v.push_back(h.host);
  return v;
}

ob::random_below always_zero = [](std::uint32_t) { return 0u; };

std::string mx_rdata(std::uint16_t pref, const std::string& name) {
  std::string rd;
  rd.push_back(static_cast<char>(pref >> 8));
  rd.push_back(static_cast<char>(pref & 0xff));
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    rd.push_back(static_cast<char>(dot - start));
    rd += name.substr(start, dot - start);
    start = dot + 1;
  }
  rd.push_back('\0');
  return rd;
}

std::array<std::uint8_t, 4> v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return {a, b, c, d}; }

std::array<std::uint8_t, 16> v6(std::initializer_list<std::uint8_t> prefix,
                                std::array<std::uint8_t, 4> tail = {0, 0, 0, 1}) {
  std::array<std::uint8_t, 16> a{};
  std::size_t i = 0;
  for (auto b : prefix) a[i++] = b;
  for (std::size_t k = 0; k < 4; ++k) a[12 + k] = tail[k];
  return a;
}

}  // namespace

TEST(Mx, OrdersByPreferenceAndDeduplicates) {
  std::vector<dns::mx_record> recs = {
      {20, "B.example.org."}, {10, "a.example.org"}, {30, "b.example.org"}, {5, "c.example.org"}};
  auto p = ob::order_mx("example.org", recs, always_zero);
  ASSERT_EQ(p.status, ob::mx_status::ok);
  EXPECT_EQ(hosts(p), (std::vector<std::string>{"c.example.org", "a.example.org", "b.example.org"}));
  EXPECT_EQ(p.hosts[2].preference, 20);
  EXPECT_FALSE(p.hosts[0].implicit);
}

TEST(Mx, EqualPreferencesAreShuffledByTheInjectedRng) {
  std::vector<dns::mx_record> recs = {{10, "a"}, {10, "b"}, {10, "c"}, {20, "z"}};
  std::set<std::vector<std::string>> seen;
  std::mt19937 gen(42);
  ob::random_below rng = [&](std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(gen); };
  for (int i = 0; i < 200; ++i) {
    auto h = hosts(ob::order_mx("d", recs, rng));
    EXPECT_EQ(h.back(), "z");  // never mixed across preferences
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), 6u);  // every permutation of the three equal hosts shows up
  // Deterministic with a fixed RNG; an out-of-range RNG value is clamped, not used as an index.
  EXPECT_EQ(hosts(ob::order_mx("d", recs, always_zero)), (std::vector<std::string>{"b", "c", "a", "z"}));
  ob::random_below broken = [](std::uint32_t) { return 1000u; };
  EXPECT_EQ(ob::order_mx("d", recs, broken).hosts.size(), 4u);
}

TEST(Mx, NullMx) {
  EXPECT_EQ(ob::order_mx("example.org", {{0, "."}}, always_zero).status, ob::mx_status::null_mx);
  EXPECT_EQ(ob::order_mx("example.org", {{10, "."}}, always_zero).status, ob::mx_status::null_mx);
  // A "." next to real MX hosts is dropped, the real ones are used.
  auto p = ob::order_mx("example.org", {{0, "."}, {10, "mx.example.org"}}, always_zero);
  EXPECT_EQ(p.status, ob::mx_status::ok);
  EXPECT_EQ(hosts(p), (std::vector<std::string>{"mx.example.org"}));
  // Through the wire format: a root name is the null MX.
  dns::lookup_result r;
  r.st = dns::status::ok;
  r.records = {std::string("\x00\x00\x00", 3)};
  EXPECT_EQ(ob::plan_mx("example.org", r, always_zero).status, ob::mx_status::null_mx);
}

TEST(Mx, ImplicitMxAndDnsOutcomes) {
  dns::lookup_result r;
  r.st = dns::status::nodata;
  auto p = ob::plan_mx("Example.ORG.", r, always_zero);
  ASSERT_EQ(p.status, ob::mx_status::ok);
  ASSERT_EQ(p.hosts.size(), 1u);
  EXPECT_EQ(p.hosts[0].host, "example.org");
  EXPECT_TRUE(p.hosts[0].implicit);
  r.st = dns::status::nxdomain;
  EXPECT_EQ(ob::plan_mx("example.org", r, always_zero).status, ob::mx_status::no_domain);
  r.st = dns::status::servfail;
  EXPECT_EQ(ob::plan_mx("example.org", r, always_zero).status, ob::mx_status::temp_error);
  r.st = dns::status::timeout;
  EXPECT_EQ(ob::plan_mx("example.org", r, always_zero).status, ob::mx_status::temp_error);
  r.st = dns::status::ok;
  r.sec = dns::dnssec::bogus;
  r.records = {mx_rdata(10, "mx.example.org")};
  EXPECT_EQ(ob::plan_mx("example.org", r, always_zero).status, ob::mx_status::temp_error);
  r.sec = dns::dnssec::secure;
  p = ob::plan_mx("example.org", r, always_zero);
  EXPECT_EQ(hosts(p), (std::vector<std::string>{"mx.example.org"}));
  // Records present but none decodes: not a reason to fall back to the implicit MX.
  r.records = {std::string("\x00", 1)};
  EXPECT_EQ(ob::plan_mx("example.org", r, always_zero).status, ob::mx_status::bad_records);
}

TEST(Mx, HostCountIsBounded) {
  std::vector<dns::mx_record> recs;
  for (int i = 0; i < 100; ++i) recs.push_back({static_cast<std::uint16_t>(i), "h" + std::to_string(i)});
  auto p = ob::order_mx("d", recs, always_zero);
  EXPECT_EQ(p.hosts.size(), ob::max_mx_hosts);
  EXPECT_EQ(p.hosts.front().host, "h0");
}

TEST(Address, V4Classes) {
  using C = ob::address_class;
  std::map<std::array<std::uint8_t, 4>, C> cases = {
      {v4(8, 8, 8, 8), C::global},          {v4(127, 0, 0, 1), C::loopback},       {v4(10, 1, 2, 3), C::private_net},
      {v4(172, 16, 0, 1), C::private_net},  {v4(172, 31, 255, 1), C::private_net}, {v4(172, 32, 0, 1), C::global},
      {v4(192, 168, 1, 1), C::private_net}, {v4(100, 64, 0, 1), C::private_net},   {v4(100, 128, 0, 1), C::global},
      {v4(169, 254, 1, 1), C::link_local},  {v4(0, 0, 0, 0), C::unspecified},      {v4(0, 1, 2, 3), C::unspecified},
      {v4(224, 0, 0, 1), C::multicast},     {v4(255, 255, 255, 255), C::reserved}, {v4(240, 0, 0, 1), C::reserved},
      {v4(192, 0, 2, 1), C::reserved},      {v4(198, 51, 100, 7), C::reserved},    {v4(203, 0, 113, 9), C::reserved},
      {v4(198, 18, 0, 1), C::reserved},     {v4(198, 20, 0, 1), C::global},
  };
  for (const auto& [a, c] : cases)
    EXPECT_EQ(ob::classify(a), c) << int(a[0]) << "." << int(a[1]) << "." << int(a[2]) << "." << int(a[3]);
}

TEST(Address, V6Classes) {
  using C = ob::address_class;
  EXPECT_EQ(ob::classify(v6({}, {0, 0, 0, 0})), C::unspecified);
  EXPECT_EQ(ob::classify(v6({}, {0, 0, 0, 1})), C::loopback);
  EXPECT_EQ(ob::classify(v6({0x26, 0x00, 0x1f, 0x18})), C::global);
  EXPECT_EQ(ob::classify(v6({0x20, 0x01, 0x0d, 0xb8})), C::reserved);
  EXPECT_EQ(ob::classify(v6({0xfd, 0x12})), C::private_net);
  EXPECT_EQ(ob::classify(v6({0xfe, 0x80})), C::link_local);
  EXPECT_EQ(ob::classify(v6({0xff, 0x02})), C::multicast);
  EXPECT_EQ(ob::classify(v6({0x40})), C::reserved);  // outside 2000::/3
  // IPv4 inside IPv6 is judged as the IPv4 address: ::ffff:127.0.0.1 must not slip through.
  EXPECT_EQ(ob::classify(v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, {127, 0, 0, 1})), C::loopback);
  EXPECT_EQ(ob::classify(v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, {8, 8, 8, 8})), C::global);
  EXPECT_EQ(ob::classify(v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {10, 0, 0, 1})), C::private_net);
  EXPECT_EQ(ob::classify(v6({0, 0x64, 0xff, 0x9b}, {192, 168, 0, 1})), C::private_net);
}

TEST(Address, Deliverable) {
  using C = ob::address_class;
  EXPECT_TRUE(ob::deliverable(C::global, false));
  EXPECT_FALSE(ob::deliverable(C::loopback, false));
  EXPECT_FALSE(ob::deliverable(C::private_net, false));
  EXPECT_TRUE(ob::deliverable(C::loopback, true));
  EXPECT_TRUE(ob::deliverable(C::private_net, true));
  EXPECT_FALSE(ob::deliverable(C::unspecified, true));
  EXPECT_FALSE(ob::deliverable(C::multicast, true));
  EXPECT_FALSE(ob::deliverable(C::reserved, true));
}
