// tests/unit/report/dmarc_send_test.cpp: the dmarc_report table's per-(day, domain) reads and deletes,
// and the DMARC aggregate report mail (RFC 7489 7.2.1.1), its gzip attachment decoded back.
// SPDX-License-Identifier: MIT
#include "report/dmarc_store.hpp"
#include "report/dmarc_send.hpp"

#include "report_test_util.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>

using namespace mailfort::report;
using mailfort::report::dmarc_row;
using mailfort::report::dmarc_store;

namespace {

std::string dmarc_unbase64(const std::string& text) {
  std::string b64;
  for (char c : text)
    if (c != '\r' && c != '\n') b64 += c;
  std::string raw(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n <= 0) return {};
  std::size_t pad = b64.size() >= 2 ? (b64[b64.size() - 1] == '=') + (b64[b64.size() - 2] == '=') : 0;
  raw.resize(static_cast<std::size_t>(n) - pad);
  return raw;
}

}  // namespace

TEST(DmarcReportStore, PendingRowsAndRemovePerDayAndDomain) {
  auto db = report_test::temp_db("dmarc-report-test");
  {
    dmarc_store st(db.string());
    st.record({"2026-12-03", "example.com", "example.com", "192.0.2.1", "reject", "fail", "fail", 1});
    st.record({"2026-12-03", "example.com", "example.com", "192.0.2.1", "reject", "fail", "fail", 1});
    st.record({"2026-12-03", "example.com", "sub.example.com", "192.0.2.2", "none", "pass", "fail", 1});
    st.record({"2026-12-03", "other.example", "other.example", "192.0.2.3", "none", "pass", "pass", 1});
    st.record({"2026-12-04", "example.com", "example.com", "192.0.2.1", "none", "pass", "pass", 1});
  }
  dmarc_store st(db.string());  // durable: a new connection sees the rows
  auto pending = st.pending();
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0], std::make_pair(std::string("2026-12-03"), std::string("example.com")));
  EXPECT_EQ(pending[1], std::make_pair(std::string("2026-12-03"), std::string("other.example")));
  EXPECT_EQ(pending[2], std::make_pair(std::string("2026-12-04"), std::string("example.com")));
  auto rows = st.rows("2026-12-03", "example.com");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].header_from, "example.com");
  EXPECT_EQ(rows[0].count, 2);
  EXPECT_EQ(rows[0].disposition, "reject");
  EXPECT_EQ(rows[1].header_from, "sub.example.com");
  st.remove("2026-12-03", "example.com");
  EXPECT_TRUE(st.rows("2026-12-03", "example.com").empty());
  EXPECT_EQ(st.pending().size(), 2u);
  EXPECT_EQ(st.rows().size(), 2u);
}

TEST(DmarcReportStore, RemoveReportedKeepsWhatWasCountedSince) {
  auto db = report_test::temp_db("dmarc-report-test");
  dmarc_store st(db.string());
  const dmarc_row a{"2026-12-04", "example.com", "example.com", "192.0.2.1", "none", "pass", "pass", 1};
  const dmarc_row b{"2026-12-04", "example.com", "example.com", "192.0.2.2", "reject", "fail", "fail", 1};
  st.record(a);
  st.record(a);
  st.record(b);
  const auto reported = st.rows("2026-12-04", "example.com");  // a: 2, b: 1
  st.record(a);                                                // a message counted after the read
  const dmarc_row c{"2026-12-04", "example.com", "example.com", "192.0.2.3", "none", "pass", "fail", 1};
  st.record(c);
  st.remove_reported(reported);
  auto left = st.rows("2026-12-04", "example.com");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].source_ip, "192.0.2.1");
  EXPECT_EQ(left[0].count, 1);
  EXPECT_EQ(left[1].source_ip, "192.0.2.3");
  EXPECT_EQ(left[1].count, 1);
  st.remove_reported(left);
  EXPECT_TRUE(st.pending().empty());
}

TEST(DmarcReportMail, Rfc7489HeadersAndGzipAttachment) {
  dmarc_report_mail_input in;
  in.submitter = "mx.receiver.example";
  in.from = "dmarc-noreply@mx.receiver.example";
  in.to = "dmarc@example.com";
  in.policy_domain = "example.com";
  in.report_id = "r1@mx.receiver.example";
  in.begin = 1796256000;
  in.end = in.begin + 86399;
  in.now = in.end + 100;
  in.xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n</feedback>\n";
  const auto m = build_dmarc_report_mail(in);
  EXPECT_EQ(m.rfind("From: DMARC reports <dmarc-noreply@mx.receiver.example>\r\n", 0), 0u) << m;
  EXPECT_NE(m.find("\r\nTo: <dmarc@example.com>\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nDate: Fri, 04 Dec 2026 00:01:39 +0000\r\n"), std::string::npos) << m;
  EXPECT_NE(
      m.find(
          "Subject: Report Domain: example.com Submitter: mx.receiver.example Report-ID: <r1@mx.receiver.example>\r\n"),
      std::string::npos);
  EXPECT_NE(m.find("Message-ID: <r1@mx.receiver.example>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/mixed;"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/gzip;"), std::string::npos);
  EXPECT_NE(m.find("filename=\"mx.receiver.example!example.com!1796256000!1796342399.xml.gz\""), std::string::npos);
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m[i] == '\n') {
      EXPECT_EQ(m[i - 1], '\r');
    }
  auto start = m.find("\r\n\r\n", m.find("Content-Type: application/gzip")) + 4;
  auto end = m.find("\r\n--", start);
  EXPECT_EQ(report_test::gunzip(dmarc_unbase64(m.substr(start, end - start))), in.xml);
}

TEST(DmarcReportMail, HeaderValuesStayOnTheirLine) {
  dmarc_report_mail_input in;
  in.submitter = "mx.receiver.example";
  in.from = "dmarc-noreply@mx.receiver.example";
  in.to = "dmarc@example.com\r\nBcc: victim@example.net";
  in.policy_domain = "evil.example\r\nX-Injected: 1";
  in.report_id = "r1";
  const auto m = build_dmarc_report_mail(in);
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(m.find("\r\nX-Injected:"), std::string::npos);
}

// Issue 15 item 8: rows carry the raw results (part of the key), and a table from before that column is rebuilt
// when the store opens, its rows kept with auth "".
TEST(DmarcReportStore, RawResultsAreKeptAndOldTablesUpgraded) {
  auto db = report_test::temp_db("dmarc-report-test");
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.string().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(raw,
                     "CREATE TABLE dmarc_report (day TEXT NOT NULL, policy_domain TEXT NOT NULL, header_from TEXT "
                     "NOT NULL, source_ip TEXT NOT NULL, disposition TEXT NOT NULL, dkim TEXT NOT NULL, spf TEXT NOT "
                     "NULL, count INTEGER NOT NULL, PRIMARY KEY (day, policy_domain, header_from, source_ip, "
                     "disposition, dkim, spf));"
                     "INSERT INTO dmarc_report VALUES ('2026-12-05', 'example.com', 'example.com', '192.0.2.1', "
                     "'none', 'pass', 'pass', 3);",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(raw);
  }
  dmarc_store st(db.string());
  auto rows = st.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 3);
  EXPECT_EQ(rows[0].auth, "");
  dmarc_row a{"2026-12-05",         "example.com", "example.com", "192.0.2.1", "none", "pass", "pass", 1,
              "spf\tx\tmfrom\tpass"};
  st.record(a);
  st.record(a);
  dmarc_row b = a;
  b.auth = "spf\tx\tmfrom\tsoftfail";  // sorts after a.auth
  st.record(b);
  rows = st.rows("2026-12-05", "example.com");
  ASSERT_EQ(rows.size(), 3u);  // same aligned outcome, three different raw results: three rows
  EXPECT_EQ(rows[0].auth, "");
  EXPECT_EQ(rows[1].auth, a.auth);
  EXPECT_EQ(rows[1].count, 2);
  EXPECT_EQ(rows[2].auth, b.auth);
  st.remove_reported(rows);
  EXPECT_TRUE(st.rows().empty());
}
