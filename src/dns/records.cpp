// dns/records.cpp: [pure] bounded RDATA decoders (see records.hpp for the threat model).
// SPDX-License-Identifier: MIT
#include "dns/records.hpp"

#include "common/ascii.hpp"

namespace mailfort::dns {
namespace {

constexpr std::size_t max_label = 63;
constexpr std::size_t max_name_wire = 255;  // RFC 1035 2.3.4, counting length octets and the root

std::uint8_t byte_at(std::string_view s, std::size_t i) { return static_cast<std::uint8_t>(s[i]); }

void hex_append(std::string& out, std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : bytes) {
    auto b = static_cast<std::uint8_t>(c);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xf]);
  }
}

}  // namespace

std::optional<int> rr_type_from_name(std::string_view name) {
  struct entry {
    std::string_view name;
    int type;
  };
  static constexpr entry table[] = {{"A", rr_type::a},     {"NS", rr_type::ns},     {"CNAME", rr_type::cname},
                                    {"SOA", rr_type::soa}, {"PTR", rr_type::ptr},   {"MX", rr_type::mx},
                                    {"TXT", rr_type::txt}, {"AAAA", rr_type::aaaa}, {"TLSA", rr_type::tlsa}};
  for (const auto& e : table)
    if (common::iequals(e.name, name)) return e.type;
  return std::nullopt;
}

std::optional<std::vector<std::string>> parse_txt_strings(std::string_view rdata) {
  // RFC 1035 3.3.14: one or more <character-string>s, each a length octet and that many bytes.
  if (rdata.empty()) return std::nullopt;
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < rdata.size()) {
    std::size_t len = byte_at(rdata, pos++);
    if (len > rdata.size() - pos) return std::nullopt;  // truncated string: never read past RDATA
    out.emplace_back(rdata.substr(pos, len));
    pos += len;
  }
  return out;
}

std::optional<std::string> parse_txt(std::string_view rdata) {
  auto parts = parse_txt_strings(rdata);
  if (!parts) return std::nullopt;
  std::string joined;
  joined.reserve(rdata.size());
  // RFC 7208 3.3 / RFC 6376 3.6.2.2: concatenate with no separator ("v=spf1 " "ip4:..." -> one string).
  for (const auto& p : *parts) joined += p;
  return joined;
}

std::optional<std::string> decode_name(std::string_view rdata, std::size_t& pos) {
  std::string out;
  std::size_t wire = 0;
  std::size_t p = pos;
  for (;;) {
    if (p >= rdata.size()) return std::nullopt;  // name runs off the end: truncated
    std::size_t len = byte_at(rdata, p++);
    ++wire;
    if (len == 0) break;
    // 0xC0 = compression pointer, 0x40/0x80 = obsolete extended labels: none belong in uncompressed RDATA.
    if (len > max_label) return std::nullopt;
    if (len > rdata.size() - p) return std::nullopt;
    wire += len;
    if (wire > max_name_wire - 1) return std::nullopt;  // leave room for the root octet: <= 255 in all
    if (!out.empty()) out.push_back('.');
    for (std::size_t i = 0; i < len; ++i) {
      auto b = byte_at(rdata, p + i);
      if (b == '.' || b == '\\') {
        // Escaped so that "a.b" inside one label cannot read as two labels in policy checks.
        out.push_back('\\');
        out.push_back(static_cast<char>(b));
      } else if (b > 0x20 && b < 0x7f) {
        out.push_back(static_cast<char>(b));
      } else {
        out.push_back('\\');
        out.push_back(static_cast<char>('0' + b / 100));
        out.push_back(static_cast<char>('0' + (b / 10) % 10));
        out.push_back(static_cast<char>('0' + b % 10));
      }
    }
    p += len;
  }
  pos = p;
  if (out.empty()) return std::string(".");
  return out;
}

std::optional<mx_record> parse_mx(std::string_view rdata) {
  if (rdata.size() < 3) return std::nullopt;  // 2-octet preference + at least the root label
  mx_record r;
  r.preference = static_cast<std::uint16_t>((byte_at(rdata, 0) << 8) | byte_at(rdata, 1));
  std::size_t pos = 2;
  auto name = decode_name(rdata, pos);
  if (!name || pos != rdata.size()) return std::nullopt;  // trailing bytes: malformed record
  r.exchange = std::move(*name);
  return r;
}

std::optional<std::array<std::uint8_t, 4>> parse_a(std::string_view rdata) {
  if (rdata.size() != 4) return std::nullopt;
  std::array<std::uint8_t, 4> a{};
  for (std::size_t i = 0; i < 4; ++i) a[i] = byte_at(rdata, i);
  return a;
}

std::optional<std::array<std::uint8_t, 16>> parse_aaaa(std::string_view rdata) {
  if (rdata.size() != 16) return std::nullopt;
  std::array<std::uint8_t, 16> a{};
  for (std::size_t i = 0; i < 16; ++i) a[i] = byte_at(rdata, i);
  return a;
}

std::optional<std::string> parse_name_rdata(std::string_view rdata) {
  std::size_t pos = 0;
  auto name = decode_name(rdata, pos);
  if (!name || pos != rdata.size()) return std::nullopt;
  return name;
}

std::optional<tlsa_record> parse_tlsa(std::string_view rdata) {
  // RFC 6698 2.1: usage, selector, matching type, then the association data (non-empty). Unknown
  // field values are returned as they are: RFC 7672 says the DANE client ignores unusable records,
  // which is the caller's decision, not the decoder's.
  if (rdata.size() < 4) return std::nullopt;
  tlsa_record r;
  r.usage = byte_at(rdata, 0);
  r.selector = byte_at(rdata, 1);
  r.matching_type = byte_at(rdata, 2);
  r.data.assign(rdata.substr(3));
  return r;
}

std::string format_a(const std::array<std::uint8_t, 4>& a) {
  std::string s;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i) s.push_back('.');
    s += std::to_string(a[i]);
  }
  return s;
}

std::string format_aaaa(const std::array<std::uint8_t, 16>& a) {
  // RFC 5952: lower-case hex, no leading zeros, the longest run (>= 2) of zero groups becomes "::",
  // the first such run on a tie.
  std::array<unsigned, 8> g{};
  for (std::size_t i = 0; i < 8; ++i) g[i] = (static_cast<unsigned>(a[2 * i]) << 8) | a[2 * i + 1];
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s.push_back(':');
    unsigned v = g[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned d = (v >> shift) & 0xf;
      if (d || started || shift == 0) {
        s.push_back(hex[d]);
        started = true;
      }
    }
  }
  return s;
}

std::optional<std::string> to_text(int rrtype, std::string_view rdata) {
  switch (rrtype) {
    case rr_type::txt:
      return parse_txt(rdata);
    case rr_type::mx: {
      auto m = parse_mx(rdata);
      if (!m) return std::nullopt;
      return std::to_string(m->preference) + " " + m->exchange;
    }
    case rr_type::a: {
      auto a = parse_a(rdata);
      if (!a) return std::nullopt;
      return format_a(*a);
    }
    case rr_type::aaaa: {
      auto a = parse_aaaa(rdata);
      if (!a) return std::nullopt;
      return format_aaaa(*a);
    }
    case rr_type::ptr:
    case rr_type::cname:
    case rr_type::ns:
      return parse_name_rdata(rdata);
    case rr_type::tlsa: {
      auto t = parse_tlsa(rdata);
      if (!t) return std::nullopt;
      std::string s =
          std::to_string(t->usage) + " " + std::to_string(t->selector) + " " + std::to_string(t->matching_type) + " ";
      hex_append(s, t->data);
      return s;
    }
    default: {
      std::string s = "\\# " + std::to_string(rdata.size()) + " ";
      hex_append(s, rdata);
      return s;
    }
  }
}

}  // namespace mailfort::dns
