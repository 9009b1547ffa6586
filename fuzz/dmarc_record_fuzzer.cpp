// fuzz/dmarc_record_fuzzer.cpp: the DMARC record parser and rua/ruf URI lists on arbitrary text.
// SPDX-License-Identifier: MIT
// Invariants: a parsed record was recognised as DMARC by is_dmarc_record, its values are in range
// (pct 0..100, psd y/n/u, fo sorted, unique and non-empty), lists respect max_uris, and no URI carries
// whitespace or control bytes (they end up in report envelopes).
#include "auth/dmarc_record.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

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
  return 0;
}
