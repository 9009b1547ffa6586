// tests/unit/dmarc/auth_results_test.cpp: Authentication-Results authserv-id parsing, stripping of fields
// that claim our id (bad input 50), and formatting with folding and quoting.
// SPDX-License-Identifier: MIT
#include "auth/auth_results.hpp"

#include <gtest/gtest.h>

using namespace mailfort::auth;

TEST(AuthResults, AuthservIdOf) {
  EXPECT_EQ(authserv_id_of(" mx.example.org; spf=pass"), "mx.example.org");
  EXPECT_EQ(authserv_id_of(" mx.example.org 1; none"), "mx.example.org");  // version
  EXPECT_EQ(authserv_id_of(" (comment (nested)) MX.Example.ORG(c);none"), "MX.Example.ORG");
  EXPECT_EQ(authserv_id_of("\r\n\t\"mx.example.org\"; dkim=pass"), "mx.example.org");  // quoted-string
  EXPECT_EQ(authserv_id_of(" mx.example.org.evil; spf=pass"), "mx.example.org.evil");
  EXPECT_FALSE(authserv_id_of(""));
  EXPECT_FALSE(authserv_id_of(" ; spf=pass"));
  EXPECT_FALSE(authserv_id_of(" (unterminated mx.example.org; spf=pass"));
  EXPECT_FALSE(authserv_id_of(" \"unterminated"));
  EXPECT_FALSE(authserv_id_of(" " + std::string(300, 'a')));
  EXPECT_FALSE(authserv_id_of(" " + std::string(100, '(') + "x"));
}

TEST(AuthResults, BadInput50StripsEveryClaimingField) {
  const std::string msg =
      "Received: from a by b\r\n"
      "Authentication-Results: mx.example.org; dkim=pass header.d=bank.example\r\n"
      "Authentication-Results: other.example; spf=pass smtp.mailfrom=x.example\r\n"
      "authentication-results: (forged) MX.EXAMPLE.ORG 1;\r\n"
      "\tdmarc=pass header.from=bank.example\r\n"
      "Authentication-Results: mx.example.org.evil; dkim=pass\r\n"
      "Authentication-Results: \"mx.example.org\"; spf=pass\r\n"
      "X-Authentication-Results: mx.example.org; dkim=pass\r\n"
      "From: a@bank.example\r\n"
      "\r\n"
      "Authentication-Results: mx.example.org; in the body, not a field\r\n";
  auto parsed = parse_message(msg);
  ASSERT_TRUE(parsed.message);
  const auto claiming = results_claiming(*parsed.message, "mx.example.org");
  EXPECT_EQ(claiming, (std::vector<std::size_t>{1, 3, 5}));
  const std::string out = strip_fields(msg, *parsed.message, claiming);
  EXPECT_EQ(out,
            "Received: from a by b\r\n"
            "Authentication-Results: other.example; spf=pass smtp.mailfrom=x.example\r\n"
            "Authentication-Results: mx.example.org.evil; dkim=pass\r\n"
            "X-Authentication-Results: mx.example.org; dkim=pass\r\n"
            "From: a@bank.example\r\n"
            "\r\n"
            "Authentication-Results: mx.example.org; in the body, not a field\r\n");
  // Nothing left to strip afterwards, and nothing is stripped for an id that no field claims.
  auto again = parse_message(out);
  ASSERT_TRUE(again.message);
  EXPECT_TRUE(results_claiming(*again.message, "mx.example.org").empty());
  EXPECT_EQ(strip_fields(out, *again.message, results_claiming(*again.message, "mx.example.org")), out);
  // Our id written with a trailing dot is still ours; an empty id claims nothing.
  EXPECT_EQ(results_claiming(*parsed.message, "MX.example.org.").size(), 3u);
  EXPECT_TRUE(results_claiming(*parsed.message, "").empty());
}

TEST(AuthResults, StripFieldsToleratesOddIndices) {
  const std::string msg = "A: 1\r\nB: 2\r\n\r\n";
  auto parsed = parse_message(msg);
  ASSERT_TRUE(parsed.message);
  EXPECT_EQ(strip_fields(msg, *parsed.message, {1, 1, 7}), "A: 1\r\n\r\n");
}

TEST(AuthResults, FormatSimple) {
  ar_entries e;
  e.push_back({"spf", "pass", "", "", {{"smtp", "mailfrom", "a.example"}}});
  EXPECT_EQ(format_authentication_results("mx.example.org", e),
            "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a.example\r\n");
  EXPECT_EQ(format_authentication_results("mx.example.org", {}), "Authentication-Results: mx.example.org; none\r\n");
}

TEST(AuthResults, FormatFoldsUnder78Columns) {
  ar_entries e;
  e.push_back({"spf", "pass", "", "", {{"smtp", "mailfrom", "a.example"}}});
  e.push_back(
      {"dkim", "pass", "", "", {{"header", "d", "a.example"}, {"header", "s", "sel"}, {"header", "b", "abcd1234"}}});
  e.push_back({"dmarc", "pass", "p=reject", "", {{"header", "from", "a.example"}}});
  const std::string out = format_authentication_results("mx.example.org", e);
  EXPECT_EQ(out,
            "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a.example;\r\n"
            "\tdkim=pass header.d=a.example header.s=sel header.b=abcd1234;\r\n"
            "\tdmarc=pass (p=reject) header.from=a.example\r\n");
  // Every line fits (a tab counted as 8 columns).
  std::size_t start = 0;
  while (start < out.size()) {
    const auto end = out.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    std::string line = out.substr(start, end - start);
    std::size_t cols = line.size();
    if (!line.empty() && line[0] == '\t') cols += 7;
    EXPECT_LE(cols, 78u) << line;
    start = end + 2;
  }
}

TEST(AuthResults, FormatQuotesAndNeutralisesValues) {
  ar_entries e;
  e.push_back({"spf", "fail", "", "", {{"smtp", "mailfrom", "user@a.example"}}});  // local-part@domain: plain
  e.push_back({"dkim", "fail", "bad (sig)", "body hash \"mismatch\"", {{"header", "d", "a b.example"}}});
  e.push_back({"x\r\nInjected", "pass\r\nBcc: v@x", "", "", {{"header", "from", "evil\r\nX-Bad: 1"}}});
  const std::string out = format_authentication_results("mx.example.org\r\nX: y", e);
  EXPECT_NE(out.find("smtp.mailfrom=user@a.example"), std::string::npos) << out;
  EXPECT_NE(out.find("(bad \\(sig\\))"), std::string::npos) << out;
  EXPECT_NE(out.find("reason=\"body hash \\\"mismatch\\\"\""), std::string::npos) << out;
  EXPECT_NE(out.find("header.d=\"a b.example\""), std::string::npos) << out;
  // No CR or LF except the folds and the final line end: nothing from the inputs can start a field.
  std::size_t pos = 0;
  while ((pos = out.find('\n', pos)) != std::string::npos) {
    ASSERT_GT(pos, 0u);
    EXPECT_EQ(out[pos - 1], '\r');
    if (pos + 1 < out.size()) {
      EXPECT_EQ(out[pos + 1], '\t') << out;
    }
    ++pos;
  }
  EXPECT_NE(out.find("xInjected=passBcc"), std::string::npos) << out;
}
