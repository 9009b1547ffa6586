// fuzz/dmarc_record_fuzzer.cpp: the DMARC record parser and rua/ruf URI lists on arbitrary text, and the
// aggregate report XML built from that record and from fields cut out of the same input.
// SPDX-License-Identifier: MIT
// Invariants: a parsed record was recognised as DMARC by is_dmarc_record, its values are in range
// (pct 0..100, psd y/n/u, fo sorted, unique and non-empty), lists respect max_uris, and no URI carries
// whitespace or control bytes (they end up in report envelopes). The report XML is well-formed whatever the
// fields hold: the fixed prolog, balanced tags with names we write, one root, every '&' an entity, no raw '<'
// or '>' from input, no C0 control byte other than LF, no byte that can never appear in UTF-8.
#include "auth/dmarc_record.hpp"
#include "auth/dmarc_report.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace mailfort::dmarc;

namespace {

void check_uris(const std::vector<report_uri>& uris) {
  if (uris.size() > max_uris) std::abort();
  for (const auto& u : uris) {
    if (u.uri.find(':') == std::string::npos) std::abort();
    for (char c : u.uri) {
      const auto uc = static_cast<unsigned char>(c);
      if (uc <= 0x20 || uc >= 0x7f) std::abort();
    }
  }
}

bool tag_name_ok(std::string_view n) {
  if (n.empty()) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

bool well_formed(std::string_view x) {
  constexpr std::string_view prolog = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (x.substr(0, prolog.size()) != prolog) return false;
  std::vector<std::string_view> open;
  bool root_closed = false;
  for (std::size_t i = prolog.size(); i < x.size();) {
    const char c = x[i];
    const auto uc = static_cast<unsigned char>(c);
    if (c == '<') {
      if (x.substr(i, 4) == "<!--") {
        const auto e = x.find("-->", i + 4);
        if (e == std::string_view::npos || x.substr(i + 4, e - i - 4).find("--") != std::string_view::npos)
          return false;
        i = e + 3;
        continue;
      }
      const bool closing = i + 1 < x.size() && x[i + 1] == '/';
      const std::size_t start = i + 1 + (closing ? 1 : 0);
      const auto e = x.find('>', start);
      if (e == std::string_view::npos) return false;
      const auto name = x.substr(start, e - start);
      if (!tag_name_ok(name)) return false;
      if (closing) {
        if (open.empty() || open.back() != name) return false;
        open.pop_back();
        if (open.empty()) root_closed = true;
      } else {
        if (root_closed) return false;  // one root element
        open.push_back(name);
      }
      i = e + 1;
      continue;
    }
    if (c == '&') {
      bool ok = false;
      for (std::string_view ent : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
        if (x.substr(i, ent.size()) == ent) {
          i += ent.size();
          ok = true;
          break;
        }
      if (!ok) return false;
      continue;
    }
    if (c == '>') return false;
    if ((uc < 0x20 && c != '\n' && c != '\t' && c != '\r') || uc == 0xC0 || uc == 0xC1 || uc >= 0xF5) return false;
    if (open.empty() && c != '\n') return false;  // nothing but line breaks outside the root
    ++i;
  }
  return root_closed && open.empty();
}

// The report of `rec` (or the default record) with text fields cut from the input at ';'.
void check_report(std::string_view in, const record* rec) {
  std::vector<std::string_view> f;
  for (std::size_t pos = 0; f.size() < 64;) {
    const auto semi = in.find(';', pos);
    f.push_back(in.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  auto field = [&f](std::size_t i) { return i < f.size() ? std::string(f[i]) : std::string(); };
  aggregate_report r;
  r.org_name = field(0);
  r.email = field(1);
  r.report_id = field(2);
  r.policy_domain = field(3);
  r.begin = static_cast<std::int64_t>(in.size()) - 1000;
  r.end = r.begin * 7;
  if (rec) r.policy = *rec;
  for (std::size_t i = 4; i + 4 < f.size(); i += 5)
    r.rows.push_back(aggregate_row{field(i), field(i + 1), field(i + 2), field(i + 3), field(i + 4),
                                   static_cast<std::int64_t>(f[i].size()) - 2, field(i + 2)});
  // The stored raw results: decoding any text never fails, and what is encoded decodes to itself.
  const auto raw = decode_raw_auth(in);
  const auto again = decode_raw_auth(encode_raw_auth(raw));
  if (again.spf.domain != raw.spf.domain || again.spf.result != raw.spf.result || again.dkim.size() != raw.dkim.size())
    std::abort();
  if (!well_formed(build_aggregate_report_xml(r))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = parse_record(in);
  if (r.value) {
    if (!is_dmarc_record(in)) std::abort();
    const auto& rec = *r.value;
    if (rec.pct < 0 || rec.pct > 100) std::abort();
    if (rec.psd != 'y' && rec.psd != 'n' && rec.psd != 'u') std::abort();
    if (rec.fo.empty() || !std::is_sorted(rec.fo.begin(), rec.fo.end()) ||
        std::adjacent_find(rec.fo.begin(), rec.fo.end()) != rec.fo.end())
      std::abort();
    if (!rec.p_given && (rec.rua.empty() || rec.p != policy::none)) std::abort();  // RFC 7489 6.6.3 rule
    if (!rec.sp_given && rec.p_given && rec.sp != rec.p) std::abort();
    check_uris(rec.rua);
    check_uris(rec.ruf);
  } else if (r.error == record_error::too_long && in.size() <= max_record_length) {
    std::abort();
  }
  check_uris(parse_uri_list(in));
  check_report(in, r.value ? &*r.value : nullptr);
  return 0;
}
