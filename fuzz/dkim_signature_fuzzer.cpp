// fuzz/dkim_signature_fuzzer.cpp: the DKIM tag-list parser and DKIM-Signature semantics on arbitrary bytes.
// SPDX-License-Identifier: MIT
// Invariants: every tag's value is a view at value_offset inside the input; tag names are unique; a
// signature that parses lists From in h=, has an i= inside d=, x >= t, a non-empty b= and bh=, at most
// max_header_names header names; base64 round-trips.
#include "auth/dkim_signature.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::dkim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto tags = parse_tag_list(in)) {
    if (tags->size() > max_tags) std::abort();
    for (std::size_t i = 0; i < tags->size(); ++i) {
      const auto& t = (*tags)[i];
      if (t.value_offset > in.size() || in.substr(t.value_offset, t.value.size()) != t.value) std::abort();
      for (std::size_t j = i + 1; j < tags->size(); ++j)
        if ((*tags)[j].name == t.name) std::abort();
    }
  }
  auto r = parse_signature(in);
  if (r.sig) {
    const auto& s = *r.sig;
    bool from = false;
    for (const auto& h : s.headers)
      from = from || (h.size() == 4 && (h[0] | 0x20) == 'f' && (h[1] | 0x20) == 'r' && (h[2] | 0x20) == 'o' &&
                      (h[3] | 0x20) == 'm');
    if (!from || s.headers.size() > max_header_names) std::abort();
    if (!identity_in_domain(s.identity, s.domain, false)) std::abort();
    if (s.timestamp && s.expiration && *s.expiration < *s.timestamp) std::abort();
    if (s.b.empty() || s.bh.empty() || s.b_text.size() > max_b64) std::abort();
    if (decode_base64(encode_base64(s.b)) != s.b) std::abort();
  } else if (r.error.empty()) {
    std::abort();
  }
  if (auto q = decode_dkim_qp(in))
    if (q->size() > in.size()) std::abort();
  return 0;
}
