// tests/unit/publish/ptr_check_test.cpp: our own reverse DNS (FCrDNS) judged from a static DNS table.
// SPDX-License-Identifier: MIT
#include "publish/ptr_check.hpp"

#include "../test_util.hpp"
#include "dns/records.hpp"

#include <gtest/gtest.h>

using namespace mailfort;
using namespace mailfort::publish;

namespace {
ptr_check_result check(dns::static_source& d, const std::string& ip, const std::string& host) {
  return mailfort_test::run(check_own_ptr(d, ip, host));
}
}  // namespace

TEST(ptr_check, forward_confirmed_and_named_is_ok) {
  dns::static_source d;
  d.add_records("25.2.0.192.in-addr.arpa", dns::rr_type::ptr, {mailfort_test::name_rdata("MX.example.org")});
  d.add_records("mx.example.org", dns::rr_type::a, {mailfort_test::a_rdata("192.0.2.25")});
  auto r = check(d, "192.0.2.25", "mx.example.org.");
  EXPECT_EQ(r.verdict, ptr_verdict::ok) << r.problem;
  EXPECT_EQ(r.names, std::vector<std::string>{"mx.example.org"});
}

TEST(ptr_check, missing_other_name_or_no_way_back) {
  dns::static_source d;
  auto r = check(d, "192.0.2.25", "mx.example.org");
  EXPECT_EQ(r.verdict, ptr_verdict::missing);
  EXPECT_NE(r.problem.find("25.2.0.192.in-addr.arpa PTR mx.example.org."), std::string::npos);
  d.add_records("25.2.0.192.in-addr.arpa", dns::rr_type::ptr,
                {mailfort_test::name_rdata("host-192-0-2-25.provider.net")});
  r = check(d, "192.0.2.25", "mx.example.org");
  EXPECT_EQ(r.verdict, ptr_verdict::mismatch);
  EXPECT_NE(r.problem.find("host-192-0-2-25.provider.net"), std::string::npos);
  dns::static_source e;
  e.add_records("25.2.0.192.in-addr.arpa", dns::rr_type::ptr, {mailfort_test::name_rdata("mx.example.org")});
  e.add_records("mx.example.org", dns::rr_type::a, {mailfort_test::a_rdata("192.0.2.26")});
  r = check(e, "192.0.2.25", "mx.example.org");
  EXPECT_EQ(r.verdict, ptr_verdict::mismatch);
  EXPECT_NE(r.problem.find("does not resolve back"), std::string::npos);
}

TEST(ptr_check, dns_failure_is_unknown_not_an_alert) {
  dns::static_source d;
  dns::lookup_result sf;
  sf.st = dns::status::timeout;
  d.add("25.2.0.192.in-addr.arpa", dns::rr_type::ptr, sf);
  EXPECT_EQ(check(d, "192.0.2.25", "mx.example.org").verdict, ptr_verdict::unknown);
  EXPECT_EQ(check(d, "not-an-ip", "mx.example.org").verdict, ptr_verdict::unknown);
}

TEST(ptr_check, ipv6) {
  dns::static_source d;
  const std::string rev = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
  d.add_records(rev, dns::rr_type::ptr, {mailfort_test::name_rdata("mx.example.org")});
  d.add_records("mx.example.org", dns::rr_type::aaaa, {mailfort_test::aaaa_rdata("2001:db8::1")});
  EXPECT_EQ(check(d, "2001:db8::1", "mx.example.org").verdict, ptr_verdict::ok);
}
