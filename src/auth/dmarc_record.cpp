// auth/dmarc_record.cpp: [pure] DMARC record parser (RFC 7489 6.3/6.4/6.6.3, RFC 9989 4.7).
// SPDX-License-Identifier: MIT
#include "auth/dmarc_record.hpp"

#include "common/ascii.hpp"

#include <algorithm>
#include <utility>

namespace mailfort::dmarc {

namespace {

using common::iequals;

using common::is_space_or_eol;
using common::trim_space;

std::optional<policy> parse_policy(std::string_view v) {
  if (iequals(v, "none")) return policy::none;
  if (iequals(v, "quarantine")) return policy::quarantine;
  if (iequals(v, "reject")) return policy::reject;
  return std::nullopt;
}

std::optional<alignment_mode> parse_alignment(std::string_view v) {
  if (iequals(v, "r")) return alignment_mode::relaxed;
  if (iequals(v, "s")) return alignment_mode::strict;
  return std::nullopt;
}

// 1*DIGIT up to `max`; anything else (empty, sign, overflow) is invalid.
std::optional<std::uint64_t> parse_uint(std::string_view v, std::uint64_t max) {
  if (v.empty() || v.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (!common::is_digit(c)) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (n > max) return std::nullopt;
  }
  return n;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// URI = scheme ":" rest (RFC 3986 3.1 scheme). We only check the shape: what a receiver can do with a
// URI is the report sender's business; the parser must only decide "syntactically valid" for 6.6.3.
bool valid_uri(std::string_view u) {
  const auto colon = u.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= u.size()) return false;
  if (!common::is_alpha(u[0])) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    const char c = u[i];
    if (!common::is_alnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  for (char c : u) {
    const auto uc = static_cast<unsigned char>(c);
    if (uc <= 0x20 || uc >= 0x7f) return false;
  }
  return true;
}

std::optional<report_uri> parse_one_uri(std::string_view item) {
  std::string_view uri_part = item;
  std::optional<std::uint64_t> size;
  // RFC 7489 6.4: '!' and ',' inside a URI must be percent-encoded, so the first '!' starts the size.
  if (const auto bang = item.find('!'); bang != std::string_view::npos) {
    uri_part = item.substr(0, bang);
    std::string sz;
    for (char c : item.substr(bang + 1))
      if (!is_space_or_eol(c)) sz.push_back(c);
    if (sz.empty()) return std::nullopt;
    std::uint64_t mult = 1;
    switch (common::ascii_lower(sz.back())) {
      case 'k':
        mult = 1ULL << 10;
        break;
      case 'm':
        mult = 1ULL << 20;
        break;
      case 'g':
        mult = 1ULL << 30;
        break;
      case 't':
        mult = 1ULL << 40;
        break;
      default:
        break;
    }
    if (mult != 1) sz.pop_back();
    // Cap the number so that number * unit never overflows (2^40 * 2^23 < 2^64).
    const auto n = parse_uint(sz, (1ULL << 23) - 1);
    if (!n) return std::nullopt;
    size = *n * mult;
  }
  // Percent-decode, then drop whitespace: publishers write "mailto:a@b.example ! 10m" and even
  // "user%20@..."; neither space can be part of a deliverable address.
  std::string uri;
  for (std::size_t i = 0; i < uri_part.size(); ++i) {
    char c = uri_part[i];
    if (c == '%' && i + 2 < uri_part.size() && hex_value(uri_part[i + 1]) >= 0 && hex_value(uri_part[i + 2]) >= 0) {
      c = static_cast<char>(hex_value(uri_part[i + 1]) * 16 + hex_value(uri_part[i + 2]));
      i += 2;
      // An encoded CR/LF/NUL could smuggle header lines into a report's envelope: refuse the URI.
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
    }
    if (is_space_or_eol(c)) continue;
    uri.push_back(c);
  }
  if (!valid_uri(uri)) return std::nullopt;
  return report_uri{std::move(uri), size};
}

// "0" "1" "d" "s" separated by ':'; unknown options are dropped; nothing valid -> nullopt (default).
std::optional<std::vector<std::string>> parse_fo(std::string_view v) {
  std::vector<std::string> out;
  while (true) {
    const auto colon = v.find(':');
    const auto opt = trim_space(v.substr(0, colon));
    if (opt == "0" || opt == "1" || iequals(opt, "d") || iequals(opt, "s"))
      out.emplace_back(1, common::ascii_lower(opt[0]));
    if (colon == std::string_view::npos) break;
    v.remove_prefix(colon + 1);
  }
  if (out.empty()) return std::nullopt;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::vector<std::string>> parse_rf(std::string_view v) {
  std::vector<std::string> out;
  while (out.size() < 8) {
    const auto colon = v.find(':');
    const auto opt = trim_space(v.substr(0, colon));
    if (!opt.empty() && opt.size() <= 32 &&
        std::all_of(opt.begin(), opt.end(), [](char c) { return common::is_alnum(c) || c == '-'; }))
      out.push_back(common::to_lower(opt));
    if (colon == std::string_view::npos) break;
    v.remove_prefix(colon + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

struct tag {
  std::string_view name;
  std::string_view value;
};

// Splits "name = value" (WSP allowed around '='); nullopt when it is not a tag (empty piece, bad name).
std::optional<tag> split_tag(std::string_view piece) {
  piece = trim_space(piece);
  if (piece.empty()) return std::nullopt;
  const auto eq = piece.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  const auto name = trim_space(piece.substr(0, eq));
  if (name.empty() || name.size() > 32 || !common::is_alpha(name[0])) return std::nullopt;
  for (char c : name)
    if (!common::is_alnum(c) && c != '_') return std::nullopt;
  return tag{name, trim_space(piece.substr(eq + 1))};
}

}  // namespace

const char* to_string(policy p) {
  switch (p) {
    case policy::none:
      return "none";
    case policy::quarantine:
      return "quarantine";
    case policy::reject:
      return "reject";
  }
  return "none";
}

const char* to_string(alignment_mode m) { return m == alignment_mode::strict ? "s" : "r"; }

const char* to_string(record_error e) {
  switch (e) {
    case record_error::not_dmarc:
      return "not a DMARC record";
    case record_error::bad_version:
      return "version is not DMARC1";
    case record_error::no_policy:
      return "no valid p tag and no valid rua";
    case record_error::too_long:
      return "record too long";
  }
  return "invalid";
}

std::vector<report_uri> parse_uri_list(std::string_view value) {
  std::vector<report_uri> out;
  while (out.size() < max_uris) {
    const auto comma = value.find(',');
    if (auto u = parse_one_uri(trim_space(value.substr(0, comma)))) out.push_back(std::move(*u));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

bool is_dmarc_record(std::string_view txt) {
  const auto semi = txt.find(';');
  const auto first = split_tag(txt.substr(0, semi));
  return first && iequals(first->name, "v") && first->value == "DMARC1";
}

record_result parse_record(std::string_view txt) {
  record_result res;
  if (txt.size() > max_record_length) {
    res.error = record_error::too_long;
    return res;
  }
  const auto semi = txt.find(';');
  const auto first = split_tag(txt.substr(0, semi));
  if (!first || !iequals(first->name, "v")) {
    res.error = record_error::not_dmarc;
    return res;
  }
  if (first->value != "DMARC1") {
    res.error = record_error::bad_version;
    return res;
  }
  record r;
  std::optional<policy> p, sp, np;
  bool p_invalid = false, sp_invalid = false;
  bool seen_rua = false, seen_ruf = false, seen_adkim = false, seen_aspf = false, seen_pct = false, seen_fo = false,
       seen_rf = false, seen_ri = false, seen_psd = false, seen_t = false;
  std::string_view rest = semi == std::string_view::npos ? std::string_view{} : txt.substr(semi + 1);
  std::size_t count = 0;
  // The first occurrence of a tag wins; later duplicates are ignored (RFC 7489 is silent; this keeps
  // a record from overriding its own policy halfway through).
  while (!rest.empty() && count < max_tags) {
    const auto end = rest.find(';');
    const auto piece = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const auto t = split_tag(piece);
    if (!t) continue;
    ++count;
    const auto& n = t->name;
    const auto& v = t->value;
    if (iequals(n, "p")) {
      if (p || p_invalid) continue;
      p = parse_policy(v);
      p_invalid = !p;
    } else if (iequals(n, "sp")) {
      if (sp || sp_invalid) continue;
      sp = parse_policy(v);
      sp_invalid = !sp;
    } else if (iequals(n, "np")) {
      if (np) continue;
      np = parse_policy(v);  // invalid np: ignored, the default (sp) applies
    } else if (iequals(n, "adkim")) {
      if (std::exchange(seen_adkim, true)) continue;
      if (auto m = parse_alignment(v)) r.adkim = *m;
    } else if (iequals(n, "aspf")) {
      if (std::exchange(seen_aspf, true)) continue;
      if (auto m = parse_alignment(v)) r.aspf = *m;
    } else if (iequals(n, "pct")) {
      if (std::exchange(seen_pct, true)) continue;
      if (auto x = parse_uint(v, 100)) r.pct = static_cast<int>(*x);
    } else if (iequals(n, "ri")) {
      if (std::exchange(seen_ri, true)) continue;
      if (auto x = parse_uint(v, 0xffffffffULL)) r.ri = static_cast<std::uint32_t>(*x);
    } else if (iequals(n, "fo")) {
      if (std::exchange(seen_fo, true)) continue;
      if (auto x = parse_fo(v)) r.fo = std::move(*x);
    } else if (iequals(n, "rf")) {
      if (std::exchange(seen_rf, true)) continue;
      if (auto x = parse_rf(v)) r.rf = std::move(*x);
    } else if (iequals(n, "rua")) {
      if (std::exchange(seen_rua, true)) continue;
      r.rua = parse_uri_list(v);
    } else if (iequals(n, "ruf")) {
      if (std::exchange(seen_ruf, true)) continue;
      r.ruf = parse_uri_list(v);
    } else if (iequals(n, "psd")) {
      if (std::exchange(seen_psd, true)) continue;
      if (iequals(v, "y") || iequals(v, "n") || iequals(v, "u")) r.psd = common::ascii_lower(v[0]);
    } else if (iequals(n, "t")) {
      if (std::exchange(seen_t, true)) continue;
      if (iequals(v, "y")) r.t = true;
    }
    // Unknown tags (and v repeated) are ignored: RFC 7489 6.3 lets new tags appear without a new version.
  }
  if (!p || sp_invalid) {
    // RFC 7489 6.6.3 / RFC 9989 4.7: act as "v=DMARC1; p=none" when a valid rua exists, else no DMARC.
    if (r.rua.empty()) {
      res.error = record_error::no_policy;
      return res;
    }
    r.p = r.sp = r.np = policy::none;
    r.p_given = r.sp_given = r.np_given = false;
    res.value = std::move(r);
    return res;
  }
  r.p = *p;
  r.p_given = true;
  r.sp = sp.value_or(r.p);
  r.sp_given = sp.has_value();
  r.np = np.value_or(r.sp);
  r.np_given = np.has_value();
  res.value = std::move(r);
  return res;
}

}  // namespace mailfort::dmarc
