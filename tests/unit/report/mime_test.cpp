// tests/unit/report/mime_test.cpp: the one multipart MIME builder (report/mime.hpp).
// SPDX-License-Identifier: MIT
#include "report/mime.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailfort::report;

namespace {

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(Mime, ExactLayout) {
  multipart m;
  m.type = "multipart/mixed";
  m.boundary = "b1";
  m.preamble = "Preamble.\r\n";
  m.parts.push_back({{"Content-Type: text/plain; charset=us-ascii"}, "Hello.\r\n"});
  m.parts.push_back(
      {{"Content-Type: application/gzip;\r\n name=\"x.gz\"", "Content-Transfer-Encoding: base64"}, "QUJD\r\n"});
  EXPECT_EQ(build_multipart(m),
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed;\r\n boundary=\"b1\"\r\n"
            "\r\n"
            "Preamble.\r\n"
            "\r\n--b1\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            "Hello.\r\n"
            "\r\n--b1\r\n"
            "Content-Type: application/gzip;\r\n name=\"x.gz\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n"
            "QUJD\r\n"
            "\r\n--b1--\r\n");
}

TEST(Mime, FoldWithTab) {
  multipart m;
  m.type = "multipart/report; report-type=delivery-status";
  m.boundary = "x";
  m.fold = "\t";
  m.parts.push_back({{}, "a"});
  const auto out = build_multipart(m);
  EXPECT_NE(out.find("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"x\"\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("\r\n--x\r\n\r\na\r\n--x--\r\n"), std::string::npos);  // a part without header fields
}

TEST(Mime, BoundaryNeverOccursInAPart) {
  multipart m;
  m.type = "multipart/mixed";
  m.boundary = "=_b";
  m.parts.push_back({{"X-Header: =_b"}, "text"});
  m.parts.push_back({{}, "--=_b_0\r\n"});  // the first extension is taken too
  const std::string b = choose_boundary(m);
  EXPECT_EQ(b, "=_b_0_1");
  const auto out = build_multipart(m);
  EXPECT_NE(out.find("boundary=\"" + b + "\""), std::string::npos);
  EXPECT_EQ(count(out, "\r\n--" + b + "\r\n"), 2u);
  EXPECT_EQ(count(out, "\r\n--" + b + "--\r\n"), 1u);
}

TEST(Mime, Base64Lines) {
  EXPECT_EQ(base64_lines(""), "");
  EXPECT_EQ(base64_lines("ABC"), "QUJD\r\n");
  const std::string data(57 * 2 + 1, 'x');
  const auto out = base64_lines(data);
  EXPECT_EQ(count(out, "\r\n"), 3u);
  EXPECT_EQ(out.find("\r\n"), 76u);  // 57 bytes -> 76 characters per line (RFC 2045 6.8)
  EXPECT_EQ(out.substr(out.size() - 6), "eA==\r\n");
}
