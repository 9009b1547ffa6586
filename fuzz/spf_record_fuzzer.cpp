// fuzz/spf_record_fuzzer.cpp: the SPF record parser, macro-string / domain-spec validation, macro expansion and
// the IP helpers on arbitrary bytes.
// SPDX-License-Identifier: MIT
// Invariants: a parsed record never holds more terms than the text has bytes, every domain-spec it keeps
// is valid, CIDR lengths stay in range, expansion of a valid macro-string succeeds (unless over the output
// bound) and a string the validator rejects never expands; parse_ip round-trips through format_ip.
#include "auth/spf.hpp"
#include "auth/spf_record.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::auth::spf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto r = parse_record(in);
  if (r.rec) {
    if (!is_spf_record(in)) std::abort();
    if (r.rec->mechanisms.size() + r.rec->unknown.size() > in.size()) std::abort();
    for (const auto& m : r.rec->mechanisms) {
      if (m.cidr4 < 0 || m.cidr4 > 32 || m.cidr6 < 0 || m.cidr6 > 128) std::abort();
      if (!m.domain_spec.empty() && !valid_domain_spec(m.domain_spec)) std::abort();
      if (m.text.empty() || in.find(m.text) == std::string_view::npos) std::abort();
    }
    if (r.rec->redirect && !valid_domain_spec(*r.rec->redirect)) std::abort();
    if (r.rec->exp && !valid_domain_spec(*r.rec->exp)) std::abort();
  } else if (r.error.empty()) {
    std::abort();
  }

  macro_context ctx;
  ctx.sender = "local-part+tag@example.com";
  ctx.domain = "example.com";
  ctx.helo = "mx.example.net";
  ctx.ip = *parse_ip("2001:db8::1");
  for (bool explanation : {false, true}) {
    const bool valid = valid_macro_string(in, explanation);
    auto e = expand_macros(in, ctx, explanation);
    if (e && !valid) std::abort();
    if (e && e->size() > max_expansion) std::abort();
    if (valid && !e && in.size() * 64 < max_expansion) std::abort();
  }
  if (valid_domain_spec(in)) {
    auto e = expand_macros(in, ctx, false);
    if (e) {
      auto t = truncate_domain(*e);
      if (t.size() > 253) std::abort();
    }
  }

  if (auto ip = parse_ip(in)) {
    auto again = parse_ip(format_ip(*ip));
    if (!again || !(*again == *ip)) std::abort();
  }
  (void)valid_check_domain(in);
  return 0;
}
