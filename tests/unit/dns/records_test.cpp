// tests/unit/dns/records_test.cpp: RDATA decoders on hand-made wire bytes, valid, truncated and hostile.
// SPDX-License-Identifier: MIT
#include "dns/records.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailfort::dns;
using namespace std::string_literals;

namespace {
// Wire name from dotted text (test helper; labels must be <= 63 octets).
std::string wire_name(std::string_view dotted) {
  std::string out;
  while (!dotted.empty()) {
    auto dot = dotted.find('.');
    auto label = dotted.substr(0, dot);
    out.push_back(static_cast<char>(label.size()));
    out.append(label);
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  out.push_back('\0');
  return out;
}
}  // namespace

TEST(dns_txt, joins_character_strings_without_separator) {
  auto r = parse_txt("\x07v=spf1 \x0dip4:192.0.2.1\x05 -all"s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "v=spf1 ip4:192.0.2.1 -all");
  auto parts = parse_txt_strings("\x07v=spf1 \x0dip4:192.0.2.1\x05 -all"s);
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[1], "ip4:192.0.2.1");
}

TEST(dns_txt, empty_string_and_binary_bytes) {
  EXPECT_EQ(parse_txt("\x00"s), "");
  EXPECT_EQ(parse_txt("\x00\x02"
                      "ab"s),
            "ab");
  EXPECT_EQ(parse_txt("\x03\x00\xff\n"s), "\x00\xff\n"s);  // bytes kept as they are
}

TEST(dns_txt, full_255_octet_string) {
  std::string rd(1, static_cast<char>(255));
  rd.append(255, 'k');
  rd.push_back(1);
  rd.push_back('z');
  auto r = parse_txt(rd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 256u);
  EXPECT_EQ(r->back(), 'z');
}

TEST(dns_txt, malformed) {
  EXPECT_FALSE(parse_txt(""));  // no character-string at all
  EXPECT_FALSE(
      parse_txt("\x05"
                "abc"s));  // length runs past the end
  EXPECT_FALSE(
      parse_txt("\x02"
                "ab\x01"s));  // second string truncated
  EXPECT_FALSE(parse_txt("\xff"s));
}

TEST(dns_mx, preference_and_name) {
  auto r = parse_mx("\x00\x0a"s + wire_name("mx1.Example.ORG"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->preference, 10);
  EXPECT_EQ(r->exchange, "mx1.Example.ORG");  // case kept; callers compare case-insensitively
  auto big = parse_mx("\xff\xfe"s + wire_name("a.b"));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->preference, 65534);
}

TEST(dns_mx, null_mx) {
  auto r = parse_mx("\x00\x00\x00"s);  // RFC 7505: preference 0, exchange "."
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exchange, ".");
}

TEST(dns_mx, malformed) {
  EXPECT_FALSE(parse_mx(""));
  EXPECT_FALSE(parse_mx("\x00\x0a"s));                          // no name
  EXPECT_FALSE(parse_mx("\x00\x0a\x03mx1"s));                   // name without root label
  EXPECT_FALSE(parse_mx("\x00\x0a"s + wire_name("mx") + "x"));  // trailing byte
  EXPECT_FALSE(parse_mx("\x00\x0a\xc0\x0c"s));                  // compression pointer
  EXPECT_FALSE(parse_mx("\x00\x0a\x40\x00"s));                  // label length 64
}

TEST(dns_name, escapes_ambiguous_bytes) {
  // One label "a.b" must not read as two labels; a space and a NUL are escaped as \DDD.
  auto r = parse_name_rdata(
      "\x03"
      "a.b\x07"
      "ex\\ am\x01"
      "\x00"s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "a\\.b.ex\\\\\\032am\\001");
}

TEST(dns_name, length_limits) {
  // 4 labels of 63 octets = 4*64 + 1 = 257 wire octets: over the 255 limit.
  std::string label(63, 'a');
  std::string too_long = wire_name(label + "." + label + "." + label + "." + label);
  EXPECT_FALSE(parse_name_rdata(too_long));
  // 3*64 + 62 wire octets + root = 255: exactly the limit.
  std::string ok = wire_name(label + "." + label + "." + label + "." + std::string(61, 'b'));
  EXPECT_EQ(ok.size(), 255u);
  auto r = parse_name_rdata(ok);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 253u);
  std::string over = wire_name(label + "." + label + "." + label + "." + std::string(62, 'b'));
  EXPECT_EQ(over.size(), 256u);
  EXPECT_FALSE(parse_name_rdata(over));
}

TEST(dns_name, ptr_and_trailing) {
  EXPECT_EQ(parse_name_rdata(wire_name("host.example.net")), "host.example.net");
  EXPECT_EQ(parse_name_rdata("\x00"s), ".");
  EXPECT_FALSE(parse_name_rdata(wire_name("host") + "\x00"s));
  EXPECT_FALSE(parse_name_rdata(""));
}

TEST(dns_address, a_and_aaaa) {
  auto a = parse_a("\xc0\x00\x02\x01"s);
  ASSERT_TRUE(a);
  EXPECT_EQ(format_a(*a), "192.0.2.1");
  EXPECT_FALSE(parse_a("\x01\x02\x03"s));
  EXPECT_FALSE(parse_a("\x01\x02\x03\x04\x05"s));
  auto six = parse_aaaa("\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"s);
  ASSERT_TRUE(six);
  EXPECT_EQ(format_aaaa(*six), "2001:db8::1");
  EXPECT_FALSE(parse_aaaa("\x20\x01"s));
}

TEST(dns_address, rfc5952_forms) {
  std::array<std::uint8_t, 16> z{};
  EXPECT_EQ(format_aaaa(z), "::");
  z[15] = 1;
  EXPECT_EQ(format_aaaa(z), "::1");
  // 2001:db8:0:1:1:1:1:1 -> a single zero group is not shortened.
  std::array<std::uint8_t, 16> one{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  EXPECT_EQ(format_aaaa(one), "2001:db8:0:1:1:1:1:1");
  // 2001:0:0:1:0:0:0:1 -> the longer run is shortened.
  std::array<std::uint8_t, 16> two{0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(format_aaaa(two), "2001:0:0:1::1");
}

TEST(dns_tlsa, fields) {
  auto t = parse_tlsa("\x03\x01\x01\xab\xcd"s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->usage, 3);
  EXPECT_EQ(t->selector, 1);
  EXPECT_EQ(t->matching_type, 1);
  EXPECT_EQ(t->data, "\xab\xcd"s);
  EXPECT_EQ(to_text(rr_type::tlsa, "\x03\x01\x01\xab\xcd"s), "3 1 1 abcd");
  EXPECT_FALSE(parse_tlsa("\x03\x01\x01"s));  // no association data
}

TEST(dns_text, renders_each_type) {
  EXPECT_EQ(to_text(rr_type::mx, "\x00\x05"s + wire_name("mx.example")), "5 mx.example");
  EXPECT_EQ(to_text(rr_type::a, "\x7f\x00\x00\x01"s), "127.0.0.1");
  EXPECT_EQ(to_text(rr_type::txt, "\x02hi\x01!"s), "hi!");
  EXPECT_EQ(to_text(99, "\x01\xff"s), "\\# 2 01ff");
  EXPECT_FALSE(to_text(rr_type::a, "\x01"s));
}

TEST(dns_types, names) {
  EXPECT_EQ(rr_type_from_name("txt"), rr_type::txt);
  EXPECT_EQ(rr_type_from_name("AAAA"), rr_type::aaaa);
  EXPECT_EQ(rr_type_from_name("TLSA"), 52);
  EXPECT_FALSE(rr_type_from_name("AXFR"));
}
