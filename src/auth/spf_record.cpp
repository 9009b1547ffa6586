// auth/spf_record.cpp: [pure] RFC 7208 SPF record parser, macro-string and domain-spec validation, IP helpers.
// SPDX-License-Identifier: MIT
#include "auth/spf_record.hpp"

#include "common/ascii.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace mailfort::auth::spf {
namespace {

using common::is_alnum;
using common::is_alpha;
using common::is_digit;
using common::to_lower;

using common::iequals;

// Scans a macro-string. Returns false on any syntax error; `last_expand_end` is set to the offset just past
// the last macro-expand (0 when there is none), which domain-end needs.
bool scan_macro_string(std::string_view s, bool allow_space, bool allow_crt, std::size_t& last_expand_end) {
  last_expand_end = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '%') {
      if (i + 1 >= s.size()) return false;
      const char n = s[i + 1];
      if (n == '%' || n == '_' || n == '-') {
        i += 2;
        last_expand_end = i;
        continue;
      }
      if (n != '{') return false;
      std::size_t j = i + 2;
      if (j >= s.size()) return false;
      const char letter = common::ascii_lower(s[j]);
      const bool basic = std::strchr("slodiphv", letter) != nullptr && letter != '\0';
      const bool exp_only = letter == 'c' || letter == 'r' || letter == 't';
      if (!basic && !(exp_only && allow_crt)) return false;
      ++j;
      // transformers = *DIGIT [ "r" ]; a DIGIT transformer must be at least one (7.3).
      const std::size_t digits_start = j;
      while (j < s.size() && is_digit(s[j])) ++j;
      if (j > digits_start) {
        bool nonzero = false;
        for (std::size_t k = digits_start; k < j; ++k) nonzero |= s[k] != '0';
        if (!nonzero) return false;
      }
      if (j < s.size() && common::ascii_lower(s[j]) == 'r') ++j;
      while (j < s.size() && std::strchr(".-+,/_=", s[j]) != nullptr && s[j] != '\0') ++j;
      if (j >= s.size() || s[j] != '}') return false;
      i = j + 1;
      last_expand_end = i;
      continue;
    }
    if (c == ' ' && allow_space) {
      ++i;
      continue;
    }
    // macro-literal = %x21-24 / %x26-7E
    if (c < 0x21 || c > 0x7e) return false;
    ++i;
  }
  return true;
}

bool valid_toplabel(std::string_view t) {
  if (t.empty() || !is_alnum(t.front()) || !is_alnum(t.back())) return false;
  bool alpha = false, dash = false;
  for (char c : t) {
    if (is_alpha(c))
      alpha = true;
    else if (c == '-')
      dash = true;
    else if (!is_digit(c))
      return false;
  }
  return alpha || dash;
}

// CIDR length: "0" / %x31-39 0*nDIGIT, at most `max` (no leading zeros, 5.6/2).
std::optional<int> parse_cidr(std::string_view d, int max) {
  if (d.empty() || d.size() > 3) return std::nullopt;
  if (d.size() > 1 && d[0] == '0') return std::nullopt;
  int v = 0;
  for (char c : d) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// ip4-network = qnum "." qnum "." qnum "." qnum, qnum without leading zeros (RFC 7208 12).
std::optional<ip_address> parse_ip4_strict(std::string_view s) {
  ip_address ip;
  ip.v4 = true;
  std::size_t part = 0, i = 0;
  while (part < 4) {
    std::size_t j = i;
    while (j < s.size() && is_digit(s[j])) ++j;
    const std::string_view d = s.substr(i, j - i);
    if (d.empty() || d.size() > 3 || (d.size() > 1 && d[0] == '0')) return std::nullopt;
    int v = 0;
    for (char c : d) v = v * 10 + (c - '0');
    if (v > 255) return std::nullopt;
    ip.bytes[part] = static_cast<std::uint8_t>(v);
    ++part;
    if (part < 4) {
      if (j >= s.size() || s[j] != '.') return std::nullopt;
      i = j + 1;
    } else if (j != s.size()) {
      return std::nullopt;
    }
  }
  return ip;
}

std::optional<ip_address> parse_ip6_raw(std::string_view s) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  for (char c : s)
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return std::nullopt;
  const std::string z(s);
  ip_address ip;
  ip.v4 = false;
  if (inet_pton(AF_INET6, z.c_str(), ip.bytes.data()) != 1) return std::nullopt;
  return ip;
}

std::size_t trailing_digits(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && is_digit(s[s.size() - 1 - n])) ++n;
  return n;
}

bool valid_modifier_name(std::string_view n) {
  if (n.empty() || !is_alpha(n[0])) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// Parses one directive term (qualifier + mechanism). Returns an error text, or empty on success.
std::string parse_directive(std::string_view term, mechanism& m) {
  m.text = std::string(term);
  std::string_view rest = term;
  if (!rest.empty() && std::strchr("+-~?", rest[0]) != nullptr) {
    m.qual = static_cast<qualifier>(rest[0]);
    rest.remove_prefix(1);
  }
  const std::size_t e = std::min(rest.find_first_of(":/"), rest.size());
  const std::string name = to_lower(rest.substr(0, e));
  std::string_view args = rest.substr(e);
  auto domain_arg = [&](std::string_view a, bool required) -> std::string {
    if (a.empty()) return required ? "missing domain-spec" : "";
    if (a[0] != ':') return "unexpected text after mechanism name";
    a.remove_prefix(1);
    if (!valid_domain_spec(a)) return "invalid domain-spec";
    m.domain_spec = std::string(a);
    return "";
  };
  if (name == "all") {
    m.kind = mechanism_kind::all;
    return args.empty() ? "" : "'all' takes no argument";
  }
  if (name == "include" || name == "exists") {
    m.kind = name == "include" ? mechanism_kind::include : mechanism_kind::exists;
    return domain_arg(args, true);
  }
  if (name == "ptr") {
    m.kind = mechanism_kind::ptr;
    return domain_arg(args, false);
  }
  if (name == "a" || name == "mx") {
    m.kind = name == "a" ? mechanism_kind::a : mechanism_kind::mx;
    // dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], taken from the end: a valid
    // domain-spec can never end in "/" DIGITS (its toplabel is alphanumeric or it ends in a macro).
    std::size_t n = trailing_digits(args);
    if (n > 0 && args.size() >= n + 2 && args[args.size() - n - 1] == '/' && args[args.size() - n - 2] == '/') {
      auto c = parse_cidr(args.substr(args.size() - n), 128);
      if (!c) return "invalid ip6-cidr-length";
      m.cidr6 = *c;
      args = args.substr(0, args.size() - n - 2);
      n = trailing_digits(args);
    }
    if (n > 0 && args.size() >= n + 1 && args[args.size() - n - 1] == '/') {
      auto c = parse_cidr(args.substr(args.size() - n), 32);
      if (!c) return "invalid ip4-cidr-length";
      m.cidr4 = *c;
      args = args.substr(0, args.size() - n - 1);
    }
    return domain_arg(args, false);
  }
  if (name == "ip4" || name == "ip6") {
    const bool v4 = name == "ip4";
    m.kind = v4 ? mechanism_kind::ip4 : mechanism_kind::ip6;
    if (args.empty() || args[0] != ':') return "missing network";
    args.remove_prefix(1);
    std::string_view addr = args;
    if (auto slash = args.rfind('/'); slash != std::string_view::npos) {
      auto c = parse_cidr(args.substr(slash + 1), v4 ? 32 : 128);
      if (!c) return "invalid cidr-length";
      (v4 ? m.cidr4 : m.cidr6) = *c;
      addr = args.substr(0, slash);
    }
    auto ip = v4 ? parse_ip4_strict(addr) : parse_ip6_raw(addr);
    if (!ip) return v4 ? "invalid ip4-network" : "invalid ip6-network";
    m.network = *ip;
    return "";
  }
  return "unknown mechanism";
}

}  // namespace

bool is_spf_record(std::string_view txt) {
  return txt.size() >= 6 && iequals(txt.substr(0, 6), "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

bool valid_macro_string(std::string_view s, bool explanation) {
  std::size_t end = 0;
  return scan_macro_string(s, explanation, explanation, end);
}

bool valid_domain_spec(std::string_view s) {
  std::size_t last = 0;
  if (s.empty() || !scan_macro_string(s, false, false, last)) return false;
  if (last == s.size()) return true;  // domain-end = macro-expand
  std::string_view tail = s.substr(last);
  if (tail.back() == '.') tail.remove_suffix(1);
  if (tail.empty()) return last > 0;  // "%{d}." : a macro-expand and the root dot
  const std::size_t dot = tail.rfind('.');
  if (dot == std::string_view::npos) return false;  // 7.1/2: not only a toplabel
  return valid_toplabel(tail.substr(dot + 1));
}

parse_result parse_record(std::string_view txt) {
  parse_result out;
  if (txt.size() > max_record_length) {
    out.error = "record too long";
    return out;
  }
  for (char c : txt) {
    // 3.1 (7-bit ASCII) and 4.6.1 (terms are separated by SP only, so any other control is an error).
    if (c < 0x20 || c > 0x7e) {
      out.error = "record holds non-ASCII or control characters";
      return out;
    }
  }
  if (!is_spf_record(txt)) {
    out.error = "not an SPF record";
    return out;
  }
  record rec;
  std::string_view rest = txt.substr(6);
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find(' '), rest.size());
    const std::string_view term = rest.substr(0, end);
    rest.remove_prefix(end);
    // 4.6.1: a modifier's name is followed by "=" before any ":" or "/".
    const std::size_t p = term.find_first_of("=:/");
    if (p != std::string_view::npos && term[p] == '=') {
      const std::string_view name = term.substr(0, p), value = term.substr(p + 1);
      if (!valid_modifier_name(name)) {
        out.error = "invalid modifier name in '" + std::string(term) + "'";
        return out;
      }
      const std::string lname = to_lower(name);
      if (lname == "redirect" || lname == "exp") {
        auto& slot = lname == "redirect" ? rec.redirect : rec.exp;
        if (slot) {
          out.error = "'" + lname + "' appears twice";  // 6/2
          return out;
        }
        if (!valid_domain_spec(value)) {
          out.error = "invalid domain-spec in '" + std::string(term) + "'";
          return out;
        }
        slot = std::string(value);
      } else {
        std::size_t unused = 0;
        if (!scan_macro_string(value, false, true, unused)) {
          out.error = "invalid macro-string in '" + std::string(term) + "'";
          return out;
        }
        rec.unknown.push_back({lname, std::string(value)});
      }
      continue;
    }
    mechanism m;
    if (std::string err = parse_directive(term, m); !err.empty()) {
      out.error = err + " in '" + std::string(term) + "'";
      return out;
    }
    rec.mechanisms.push_back(std::move(m));
  }
  out.rec = std::move(rec);
  return out;
}

bool valid_dns_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label > 0;
}

bool valid_check_domain(std::string_view name) {
  if (!valid_dns_name(name) || name.front() == '[') return false;
  if (name.back() == '.') name.remove_suffix(1);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view top = name.substr(dot + 1);
  return !std::all_of(top.begin(), top.end(), is_digit);
}

std::optional<ip_address> parse_ip(std::string_view s) {
  if (s.find(':') == std::string_view::npos) return parse_ip4_strict(s);
  auto ip = parse_ip6_raw(s);
  if (!ip) return std::nullopt;
  static constexpr std::array<std::uint8_t, 12> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(mapped.begin(), mapped.end(), ip->bytes.begin())) {
    ip_address v4;
    v4.v4 = true;
    std::copy(ip->bytes.begin() + 12, ip->bytes.end(), v4.bytes.begin());
    return v4;
  }
  return ip;
}

std::string format_ip(const ip_address& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.v4 ? AF_INET : AF_INET6, ip.bytes.data(), buf, sizeof buf);
  return buf;
}

bool ip_in_network(const ip_address& ip, const ip_address& network, int prefix) {
  if (ip.v4 != network.v4) return false;
  const int bits = ip.v4 ? 32 : 128;
  if (prefix < 0 || prefix > bits) return false;
  int full = prefix / 8;
  for (int i = 0; i < full; ++i)
    if (ip.bytes[static_cast<std::size_t>(i)] != network.bytes[static_cast<std::size_t>(i)]) return false;
  const int rem = prefix % 8;
  if (rem == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rem));
  return (ip.bytes[static_cast<std::size_t>(full)] & mask) == (network.bytes[static_cast<std::size_t>(full)] & mask);
}

}  // namespace mailfort::auth::spf
