// fuzz/from_header_fuzzer.cpp: RFC5322.From extraction (address lists with display names, quoted strings,
// comments, groups) from one field value and from a whole header section.
// SPDX-License-Identifier: MIT
// Invariants: a single domain is reported only with no error and then is the only domain seen; every
// domain is lower-case LDH text without a trailing dot; at most max_from_domains are listed; a header
// section with two From fields never yields a single domain.
#include "auth/dmarc.hpp"
#include "auth/message.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort;

namespace {

void check(const dmarc::from_result& r) {
  if (r.domains.size() > dmarc::max_from_domains) std::abort();
  for (const auto& d : r.domains) {
    if (d.empty() || d.size() > 253 || d.back() == '.') std::abort();
    for (char c : d)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) std::abort();
  }
  if (r.domain && (r.domains.size() != 1 || r.domains.front() != *r.domain)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check(dmarc::from_field_value(in));

  // As a header section: the input is the From value, followed by a second From field when its first
  // byte is odd (and then DMARC must see "multiple fields", whatever the values hold).
  std::string msg = "From:" + std::string(in) + "\r\n";
  const bool twice = size > 0 && (data[0] & 1);
  if (twice) msg += "From: x@example.com\r\n";
  msg += "\r\n";
  const auto parsed = auth::parse_message(msg);
  if (parsed.message) {
    const auto r = dmarc::from_domain(*parsed.message);
    check(r);
    std::size_t froms = 0;
    for (const auto& f : parsed.message->fields) froms += auth::name_equals(f.name, "From") ? 1 : 0;
    if (froms != 1 && r.domain) std::abort();
    if (twice && froms >= 2 && r.error != dmarc::from_error::multiple_fields) std::abort();
  }
  return 0;
}
