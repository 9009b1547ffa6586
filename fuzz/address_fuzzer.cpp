// fuzz/address_fuzzer.cpp: MAIL/RCPT path and ESMTP parameter parsing.
// SPDX-License-Identifier: MIT
// Invariants: accepted paths respect RFC 5321 lengths; 8-bit addresses are accepted only when allowed and
// valid UTF-8; a reconstructed address re-parses to the same mailbox.
#include "smtp/address.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::smtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  bool utf8 = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  for (auto r : {parse_mail_from(std::string("FROM:") + std::string(in)), parse_rcpt_to(std::string("TO:") + std::string(in), utf8)}) {
    if (r.error != addr_error::ok) continue;
    const auto& b = r.value.box;
    if (b.local.size() > 64 || b.domain.size() > 255) std::abort();
    if (b.has_8bit && (!valid_utf8(b.local) || !valid_utf8(b.domain))) std::abort();
    if (!r.value.null && !r.value.postmaster) {
      auto again = parse_rcpt_to("TO:<" + b.address() + ">", true);
      if (again.error == addr_error::ok && (again.value.box.local != b.local || again.value.box.domain != b.domain))
        std::abort();
    }
  }
  std::vector<esmtp_param> params;
  if (parse_params(in, params) == addr_error::ok)
    for (const auto& p : params)
      if (p.value.size() > 1000 || p.keyword.empty()) std::abort();
  (void)valid_helo_name(in);
  return 0;
}
