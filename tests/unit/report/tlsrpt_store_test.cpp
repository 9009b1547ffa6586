// tests/unit/report/tlsrpt_store_test.cpp: the tlsrpt_sessions table in a state.db and the report mail.
// SPDX-License-Identifier: MIT
#include "report/tlsrpt_send.hpp"
#include "report/tlsrpt_store.hpp"

#include "report_test_util.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <openssl/evp.h>

using namespace mailfort::report;

TEST(TlsrptStore, CountsSurviveReopenAndRemove) {
  auto db = report_test::temp_db("tlsrpt-test");
  tlsrpt_session s;
  s.policy_domain = "example.com";
  s.policy_type = "sts";
  s.policy_string = {"version: STSv1", "mode: enforce"};
  s.mx_host = {"mx.example.com", "*.example.net"};
  {
    tlsrpt_store st(db.string());
    st.record("2026-12-03", s);
    st.record("2026-12-03", s);
    auto f = s;
    f.result_type = "starttls-not-supported";
    f.receiving_mx = "mx.example.com";
    st.record("2026-12-03", f, 3);
    st.record("2026-12-04", s);
  }
  tlsrpt_store st(db.string());  // durable: a new connection sees the counts
  auto pending = st.pending();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0], std::make_pair(std::string("2026-12-03"), std::string("example.com")));
  auto rows = st.rows("2026-12-03", "example.com");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    EXPECT_EQ(r.s.mx_host, s.mx_host);
    EXPECT_EQ(r.s.policy_string, s.policy_string);
    EXPECT_EQ(r.count, r.s.result_type.empty() ? 2 : 3);
  }
  st.remove("2026-12-03", "example.com");
  EXPECT_EQ(st.pending().size(), 1u);
  EXPECT_TRUE(st.rows("2026-12-03", "example.com").empty());
}

TEST(TlsrptStore, Days) {
  EXPECT_EQ(tlsrpt_day(1796342400), "2026-12-04");
  EXPECT_EQ(tlsrpt_day_start("2026-12-04"), 1796342400);
  EXPECT_EQ(tlsrpt_day_start("garbage"), -1);
}

TEST(TlsrptMail, Rfc8460Headers_GzipAttachment) {
  tlsrpt_mail_input in;
  in.submitter = "mx.sender.example";
  in.from = "tlsrpt-noreply@mx.sender.example";
  in.to = "tlsrpt@example.com";
  in.policy_domain = "example.com";
  in.report_id = "r1@mx.sender.example";
  in.start = 1796342400;
  in.end = in.start + 86399;
  in.now = in.end + 100;
  in.json = R"({"organization-name":"mx.sender.example","policies":[]})";
  auto m = build_tlsrpt_mail(in);
  EXPECT_NE(
      m.find("Subject: Report Domain: example.com Submitter: mx.sender.example Report-ID: <r1@mx.sender.example>\r\n"),
      std::string::npos);
  EXPECT_NE(m.find("TLS-Report-Domain: example.com\r\n"), std::string::npos);
  EXPECT_NE(m.find("TLS-Report-Submitter: mx.sender.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=\"tlsrpt\";"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/tlsrpt+gzip\r\n"), std::string::npos);
  EXPECT_NE(m.find("filename=\"mx.sender.example!example.com!1796342400!1796428799.json.gz\""), std::string::npos);
  // Every line ends in CRLF and stays short.
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m[i] == '\n') {
      EXPECT_EQ(m[i - 1], '\r');
    }
  // The attachment decodes back to the JSON.
  auto start = m.find("\r\n\r\n", m.find("application/tlsrpt+gzip")) + 4;
  auto end = m.find("\r\n--", start);
  std::string b64;
  for (char c : m.substr(start, end - start))
    if (c != '\r' && c != '\n') b64 += c;
  std::string raw(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  ASSERT_GT(n, 0);
  std::size_t pad = b64.size() >= 2 ? (b64[b64.size() - 1] == '=') + (b64[b64.size() - 2] == '=') : 0;
  raw.resize(static_cast<std::size_t>(n) - pad);
  EXPECT_EQ(report_test::gunzip(raw), in.json);
}
