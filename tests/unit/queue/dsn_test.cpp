// tests/unit/queue/dsn_test.cpp: RFC 3464 DSN builder: structure, safe quoting of remote text, headers only.
// SPDX-License-Identifier: MIT
#include "queue/dsn.hpp"

#include "common/clock.hpp"

#include <gtest/gtest.h>

using namespace mailfort::queue;

namespace {
dsn_input sample() {
  dsn_input in;
  in.reporting_mta = "mx.example.org";
  in.sender = "alice@example.org";
  in.queue_id = "ABCDEF0123456789";
  in.arrival = 1'700'000'000;
  in.now = 1'700'000'100;
  dsn_recipient r;
  r.address = "bob@remote.example";
  r.status = "5.1.1";
  r.remote_mta = "mx.remote.example";
  r.diagnostic = "550 5.1.1 <bob@remote.example>: no such user";
  r.remote = true;
  in.recipients.push_back(r);
  in.original = "From: alice@example.org\r\nTo: bob@remote.example\r\nSubject: hi\r\n\r\nsecret body\r\n";
  return in;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST(Dsn, NeverToTheNullSender) {
  EXPECT_FALSE(should_bounce(""));
  EXPECT_TRUE(should_bounce("alice@example.org"));
}

TEST(Dsn, MultipartReportWithDeliveryStatus) {
  auto m = build_dsn(sample());
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=delivery-status;"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: message/delivery-status\r\n"), std::string::npos);
  EXPECT_NE(m.find("Reporting-MTA: dns; mx.example.org\r\n"), std::string::npos);
  EXPECT_NE(m.find("Final-Recipient: rfc822; bob@remote.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Action: failed\r\n"), std::string::npos);
  EXPECT_NE(m.find("Status: 5.1.1\r\n"), std::string::npos);
  EXPECT_NE(m.find("Remote-MTA: dns; mx.remote.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: no such user\r\n"), std::string::npos);
  EXPECT_NE(m.find("Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos);
  EXPECT_NE(m.find("To: <alice@example.org>\r\n"), std::string::npos);
  EXPECT_NE(m.find("From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  // The original headers come back, the body does not.
  EXPECT_NE(m.find("Content-Type: text/rfc822-headers\r\n"), std::string::npos);
  EXPECT_NE(m.find("Subject: hi\r\n"), std::string::npos);
  EXPECT_EQ(m.find("secret body"), std::string::npos);
}

TEST(Dsn, RemoteTextCannotInjectHeadersOrParts) {
  auto in = sample();
  in.recipients[0].diagnostic = "550 bad\r\nBcc: victim@example.net\r\n\r\n--x\x01\xff\\";
  auto m = build_dsn(in);
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(m.find("550 bad\\x0D\\x0ABcc: victim@example.net\\x0D\\x0A\\x0D\\x0A--x\\x01\\xFF\\\\"), std::string::npos);
  // Every line ends in CRLF: no bare CR or LF anywhere.
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(m[i - 1], '\r');
    }
    if (m[i] == '\r') {
      ASSERT_LT(i + 1, m.size());
      EXPECT_EQ(m[i + 1], '\n');
    }
  }
}

TEST(Dsn, LongDiagnosticIsCut) {
  auto in = sample();
  in.recipients[0].diagnostic = std::string(5000, 'x');
  auto m = build_dsn(in);
  auto p = m.find("Diagnostic-Code: smtp; ");
  ASSERT_NE(p, std::string::npos);
  auto e = m.find("\r\n", p);
  EXPECT_LT(e - p, 998u);  // RFC 5322 line limit
  EXPECT_EQ(m.substr(e - 3, 3), "...");
}

TEST(Dsn, BoundaryNeverOccursInReturnedHeaders) {
  auto in = sample();
  std::string hostile = "X-Trick: =_mailfort_dsn_ABCDEF0123456789_1700000100\r\n";
  std::string orig = hostile + "Subject: x\r\n\r\nbody\r\n";
  in.original = orig;
  auto m = build_dsn(in);
  auto b = m.find("boundary=\"");
  ASSERT_NE(b, std::string::npos);
  auto e = m.find('"', b + 10);
  std::string boundary = m.substr(b + 10, e - b - 10);
  EXPECT_NE(boundary, "=_mailfort_dsn_ABCDEF0123456789_1700000100");
  EXPECT_EQ(count(m, "--" + boundary + "\r\n"), 3u);
  EXPECT_EQ(count(m, "--" + boundary + "--\r\n"), 1u);
}

TEST(Dsn, LocalReasonAndExpiry) {
  auto in = sample();
  in.recipients[0].remote = false;
  in.recipients[0].remote_mta.clear();
  in.recipients[0].status = "4.4.7";
  in.recipients[0].diagnostic = "delivery time expired";
  in.recipients[0].action = "failed";
  auto m = build_dsn(in);
  EXPECT_NE(m.find("Diagnostic-Code: X-Mailfort; delivery time expired\r\n"), std::string::npos);
  EXPECT_EQ(m.find("Remote-MTA:"), std::string::npos);
}

TEST(Dsn, Rfc5322Date) {
  EXPECT_EQ(mailfort::common::rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(mailfort::common::rfc5322_date(1'796'401'860), "Fri, 04 Dec 2026 16:31:00 +0000");
}
