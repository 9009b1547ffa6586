// tests/unit/smtp/smuggling_conformance_test.cpp: the shared DATA-reader and end-of-data vectors, read unchanged.
// SPDX-License-Identifier: MIT
//
// data-reader-cases.json (chasquid's TestReadUntilDot). Adapter, following the file's "about" text:
//   - the whole input is fed at once (and again byte by byte: the answer must not change), with
//     max_bytes = the case's max_bytes and line/header limits out of the way;
//   - not done: "invalid_line_ending" if a bare CR/LF was seen, else "unexpected_eof" (chasquid reports a
//     line-ending error in preference to EOF);
//   - done: "invalid_line_ending" for bare CR/LF, "message_too_large" for too_large, else "ok";
//   - content: chasquid stores LF line ends, mailfort stores CRLF, so CRLF is mapped to LF before comparing.
//     chasquid stops at the first bad byte; mailfort stops *storing* there, so the contents agree.
// Two vectors genuinely differ from mailfort's documented size accounting and are listed in
// k_divergences with mailfort's own expectation and the reason; every other vector must match as is.
#include "smtp/data_reader.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

using namespace mailfort::smtp;

namespace {
std::string crlf_to_lf(const std::string& s) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    r.push_back(s[i]);
  }
  return r;
}

struct verdict {
  std::string expect;
  std::string content;  // LF form
};

verdict adapt(const std::string& input, std::size_t max_bytes, std::size_t chunk) {
  data_limits lim;
  lim.max_bytes = max_bytes;
  lim.max_line = std::size_t{1} << 30;
  lim.max_header = std::size_t{1} << 30;
  data_reader r(lim);
  std::string out;
  bool done = false;
  std::size_t pos = 0;
  while (pos < input.size() && !done) {
    auto res = r.feed(std::string_view(input).substr(pos, chunk), out);
    pos += res.consumed;
    done = res.status == data_status::done;
  }
  bool bad_ending = r.error() == data_error::bare_lf || r.error() == data_error::bare_cr;
  verdict v;
  if (!done)
    v.expect = bad_ending ? "invalid_line_ending" : "unexpected_eof";
  else if (bad_ending)
    v.expect = "invalid_line_ending";
  else if (r.error() == data_error::too_large)
    v.expect = "message_too_large";
  else
    v.expect = "ok";
  v.content = crlf_to_lf(out);
  return v;
}

struct divergence {
  const char* input;
  std::size_t max_bytes;
  verdict mailfort;
  const char* why;
};

// chasquid counts every octet read, the ".\r\n" terminator and the CR of each CRLF included, against the
// limit, but stores lines with LF only. mailfort's max_bytes is the stored content after unstuffing with
// CRLF line ends (data_reader.hpp; the RFC 1870 SIZE measure): terminator and stuffing dots excluded,
// CRLF = 2 octets.
const divergence k_divergences[] = {
    {"abc\r\n.\r\n",
     5,
     {"ok", "abc\n"},
     "the content \"abc\\r\\n\" is exactly 5 octets = max_bytes, so it fits; chasquid counts the 8 wire octets"},
    {"ab\r\ncdefg\r\n.\r\n",
     5,
     {"message_too_large", "ab\nc"},
     "same verdict; 5 stored octets are \"ab\\r\\nc\" with CRLF counted as 2, chasquid stores \"ab\\ncd\""},
};
}  // namespace

TEST(smuggling_conformance, data_reader_cases) {
  std::ifstream f(std::string(MAILFORT_CONFORMANCE_DIR) + "/smuggling/data-reader-cases.json");
  ASSERT_TRUE(f) << "shared conformance data missing";
  auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["format"], "mailfort-smtp-data-reader/1");
  int checked = 0, diverged = 0;
  for (const auto& c : j["cases"]) {
    std::string input = c["input"];
    std::size_t max = c["max_bytes"];
    verdict want{c["expect"], c["expect_content"]};
    SCOPED_TRACE(testing::PrintToString(input) + " max=" + std::to_string(max));
    for (const auto& d : k_divergences) {
      if (input == d.input && max == d.max_bytes) {
        SCOPED_TRACE(d.why);
        // The divergence must be real (else drop it from the list) ...
        EXPECT_FALSE(want.expect == d.mailfort.expect && want.content == d.mailfort.content);
        want = d.mailfort;  // ... and mailfort's documented behaviour is checked instead.
        ++diverged;
      }
    }
    for (std::size_t chunk : {input.size() + 1, std::size_t{1}}) {
      auto got = adapt(input, max, chunk);
      EXPECT_EQ(got.expect, want.expect) << "chunk " << chunk;
      EXPECT_EQ(got.content, want.content) << "chunk " << chunk;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 22);
  EXPECT_EQ(diverged, 2);
}

TEST(smuggling_conformance, eod_variants) {
  std::ifstream f(std::string(MAILFORT_CONFORMANCE_DIR) + "/smuggling/eod-variants.json");
  ASSERT_TRUE(f) << "shared conformance data missing";
  auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["valid_end_of_data"]["bytes"], "\r\n.\r\n");
  int n = 0;
  for (const auto& v : j["variants"]) {
    std::string fake = v["bytes"];
    SCOPED_TRACE(v["name"].get<std::string>());
    // The variant inside a message, then smuggled commands and a second message, then the real terminator.
    std::string head = "Subject: s\r\n\r\nhello";
    std::string in = head + fake + "MAIL FROM:<ceo@local>\r\nRCPT TO:<bob@local>\r\nDATA\r\nsmuggled\r\n.\r\nAFTER";
    for (std::size_t chunk : {in.size() + 1, std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
      data_reader r({});
      std::string out;
      std::size_t pos = 0;
      int dones = 0;
      std::size_t done_at = 0;
      while (pos < in.size()) {
        auto res = r.feed(std::string_view(in).substr(pos, chunk), out);
        pos += res.consumed;
        if (res.status == data_status::done) {
          ++dones;
          done_at = pos;
          break;  // the caller would go back to command mode here
        }
      }
      EXPECT_EQ(dones, 1) << "chunk " << chunk;
      EXPECT_EQ(in.substr(done_at), "AFTER") << "chunk " << chunk;  // exactly one message, at the real end
      EXPECT_NE(r.error(), data_error::none);                       // mailfort refuses every variant
      EXPECT_EQ(out.find("MAIL FROM"), std::string::npos);
    }
    ++n;
  }
  EXPECT_EQ(n, 10);
}
