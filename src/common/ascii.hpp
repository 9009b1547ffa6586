// common/ascii.hpp: locale-free ASCII helpers for protocol text (never std::tolower on untrusted bytes).
// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <string_view>

namespace mailfort::common {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

// Space, tab, CR or LF (folding whitespace in a header value, once unfolded).
constexpr bool is_space_or_eol(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

constexpr std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_space_or_eol(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space_or_eol(s.back())) s.remove_suffix(1);
  return s;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline std::string to_lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = ascii_lower(c);
  return r;
}

// Printable, log-safe rendering of untrusted bytes: control and 8-bit bytes become \xNN, capped at max bytes.
inline std::string printable(std::string_view s, size_t max = 200) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string r;
  for (size_t i = 0; i < s.size() && r.size() < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      r.push_back(static_cast<char>(c));
    } else {
      r += "\\x";
      r.push_back(hex[c >> 4]);
      r.push_back(hex[c & 15]);
    }
  }
  if (r.size() >= max) r += "...";
  return r;
}

}  // namespace mailfort::common
