// tests/unit/common/utf8_test.cpp: the one UTF-8 decoder (addresses, metric labels, report XML and HTML).
// SPDX-License-Identifier: MIT
#include "common/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

using mailfort::common::utf8_decode;
using mailfort::common::valid_utf8;

TEST(utf8, decodes_each_length) {
  EXPECT_EQ(utf8_decode("A", 0).len, 1u);
  auto e = utf8_decode("\xC3\xA9", 0);  // é
  EXPECT_EQ(e.len, 2u);
  EXPECT_EQ(e.cp, U'\u00E9');
  auto euro = utf8_decode("\xE2\x82\xAC", 0);
  EXPECT_EQ(euro.len, 3u);
  EXPECT_EQ(euro.cp, U'\u20AC');
  auto smile = utf8_decode("\xF0\x9F\x98\x80", 0);
  EXPECT_EQ(smile.len, 4u);
  EXPECT_EQ(smile.cp, U'\U0001F600');
  auto last = utf8_decode("\xF4\x8F\xBF\xBF", 0);
  EXPECT_EQ(last.cp, U'\U0010FFFF');
}

TEST(utf8, refuses_malformed) {
  for (const char* bad : {"\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xE0\x9F\xBF", "\xED\xA0\x80",
                          "\xED\xBF\xBF", "\xF0\x80\x80\xAF", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80",
                          "\xF5\x80\x80\x80", "\xFF", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "\xC3\x41"})
    EXPECT_EQ(utf8_decode(bad, 0).len, 0u) << std::string(bad).size();
}

TEST(utf8, whole_strings) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(
      valid_utf8("j\xC3\xB6rg@b\xC3\xBC"
                 "cher.example"));
  EXPECT_FALSE(valid_utf8("abc\xC3"));
  EXPECT_FALSE(valid_utf8("abc\xED\xA0\x80xyz"));
  // The decoder never reads past the end: a lead byte as the last byte is refused, not over-read (ASan).
  std::string cut = "x\xF0";
  EXPECT_FALSE(valid_utf8(std::string_view(cut.data(), cut.size())));
}
