// fuzz/address_fuzzer.cpp: MAIL/RCPT path, ESMTP parameter and HELO name parsing.
// SPDX-License-Identifier: MIT
// Input layout: byte 0 = flags (bit 0: SMTPUTF8 for RCPT), the rest is the argument text.
// Invariants: accepted paths respect RFC 5321 lengths; 8-bit addresses are accepted only when allowed and
// valid UTF-8; no accepted address holds NUL, CR or LF; the relay flags agree with the local part; a
// rebuilt address re-parses to the same mailbox; accepted parameters have legal keywords and bounded
// values; an accepted HELO name is at most 255 octets of letters, digits, '-', '.' or a literal.
#include "smtp/address.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::smtp;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

void check_path(const path_result& r, bool utf8_allowed, bool is_mail) {
  if (r.error != addr_error::ok) return;
  const path& p = r.value;
  const mailbox& b = p.box;
  check(!(p.null && !is_mail));
  check(!(p.postmaster && is_mail));
  if (p.null) {
    check(b.local.empty() && b.domain.empty() && b.address().empty());
    return;
  }
  if (p.postmaster) {
    check(b.address() == "postmaster");
    return;
  }
  check(b.local.size() <= 64 && !b.domain.empty() && b.domain.size() <= 255);
  check(b.address().size() + 2 <= 256 + 4);  // re-quoting may add at most a little over the wire form
  for (const std::string* s : {&b.local, &b.domain}) check(!has(*s, '\0') && !has(*s, '\r') && !has(*s, '\n'));
  if (b.has_8bit) check(utf8_allowed && valid_utf8(b.local) && valid_utf8(b.domain));
  check(b.has_percent == has(b.local, '%'));
  check(b.has_bang == has(b.local, '!'));
  check(!b.has_quoted_at || (b.quoted && has(b.local, '@')));
  if (!b.quoted) check(!has(b.local, '@'));
  check(!has(b.domain, '@'));
  if (!b.address_literal) check(b.domain.back() != '.');
  auto again = parse_rcpt_to("TO:<" + b.address() + ">", true);
  check(again.error == addr_error::ok);
  check(again.value.box.local == b.local && again.value.box.domain == b.domain);
  check(again.value.box.address_literal == b.address_literal);
  for (const auto& prm : p.params) {
    check(!prm.keyword.empty() && prm.value.size() <= 1000);
    check(prm.has_value == !prm.value.empty());
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  bool utf8 = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string text(in);

  // As sent (the input may carry its own FROM:/TO:), and with the keyword supplied.
  auto m1 = parse_mail_from(text);
  auto m2 = parse_mail_from("FROM:" + text);
  bool m2_utf8 = false;
  for (const auto& prm : m2.value.params) m2_utf8 |= prm.keyword == "SMTPUTF8";
  bool m1_utf8 = false;
  for (const auto& prm : m1.value.params) m1_utf8 |= prm.keyword == "SMTPUTF8";
  check_path(m1, m1_utf8, true);
  check_path(m2, m2_utf8, true);
  check_path(parse_rcpt_to(text, utf8), utf8, false);
  check_path(parse_rcpt_to("TO:" + text, utf8), utf8, false);

  std::vector<esmtp_param> params;
  if (parse_params(in, params) == addr_error::ok) {
    for (const auto& p : params) {
      check(!p.keyword.empty() && p.value.size() <= 1000);
      for (char c : p.keyword) check((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-');
      for (char c : p.value) check(static_cast<unsigned char>(c) > 32 && c != '=' && c != 0x7f);
    }
  }

  if (valid_helo_name(in)) {
    check(!in.empty() && in.size() <= 255);
    for (char c : in) {
      auto u = static_cast<unsigned char>(c);
      check(u > 32 && u != 0x7f);
    }
  }
  (void)valid_utf8(in);
  return 0;
}
