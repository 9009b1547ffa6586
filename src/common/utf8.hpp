// common/utf8.hpp: [pure] the one UTF-8 decoder (RFC 3629): SMTPUTF8 addresses, metric label values, the
// DMARC report's XML, the audit report's HTML.
// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <string_view>

namespace mailfort::common {

struct utf8_char {
  std::size_t len = 0;  // bytes of the sequence; 0 when s[i] starts no well-formed one
  char32_t cp = 0;      // the code point (ASCII included)
};

// The well-formed UTF-8 sequence at s[i] (i < s.size()): its length and code point. len is 0 for a stray
// continuation byte, C0/C1 lead bytes (overlong), overlong 3- and 4-byte forms, surrogates (U+D800..U+DFFF),
// code points above U+10FFFF and a sequence cut short by the end of s.
constexpr utf8_char utf8_decode(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {1, c};
  std::size_t n = 0;
  char32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07u;
  } else {
    return {};
  }
  if (n > s.size() - i) return {};
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0u) != 0x80u) return {};
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return {};
  return {n, cp};
}

constexpr bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto u = utf8_decode(s, i);
    if (u.len == 0) return false;
    i += u.len;
  }
  return true;
}

}  // namespace mailfort::common
