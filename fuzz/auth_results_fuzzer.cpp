// fuzz/auth_results_fuzzer.cpp: Authentication-Results authserv-id parsing, stripping of fields that
// claim our id, and the formatter fed with arbitrary strings.
// SPDX-License-Identifier: MIT
// Invariants: after strip_fields the message still parses and no field claims our id; stripping only
// removes bytes; the formatted field has CR LF only as "CRLF TAB" folds and the final CRLF.
#include "auth/auth_results.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::auth;

namespace {

constexpr std::string_view ours = "mx.example.org";

void check_formatted(const std::string& f) {
  if (f.size() < 2 || f.compare(f.size() - 2, 2, "\r\n") != 0) std::abort();
  for (std::size_t i = 0; i + 2 < f.size(); ++i) {
    const char c = f[i];
    if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\r' && c != '\t')) std::abort();
    if (c == '\r' && (f[i + 1] != '\n' || f[i + 2] != '\t')) std::abort();
    if (c == '\r') i += 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto id = authserv_id_of(in); id && (id->empty() || id->size() > 255)) std::abort();

  // The input as a header section (CRLF line ends, as the spool stores messages).
  const std::string msg = std::string(in) + "\r\n\r\nbody\r\n";
  if (const auto parsed = parse_message(msg); parsed.message) {
    const auto claiming = results_claiming(*parsed.message, ours);
    const std::string out = strip_fields(msg, *parsed.message, claiming);
    if (out.size() > msg.size() || (claiming.empty() && out != msg)) std::abort();
    const auto again = parse_message(out);
    if (!again.message || !results_claiming(*again.message, ours).empty()) std::abort();
  }

  // The input split into the formatter's strings at '|'.
  std::vector<std::string> parts;
  std::string cur;
  for (char c : in) {
    if (c == '|') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(cur);
  ar_entries entries;
  for (std::size_t k = 1; k + 3 < parts.size() && entries.size() < 8; k += 4)
    entries.push_back({parts[k], parts[k + 1], parts[k + 2], "", {{"header", "d", parts[k + 3]}}});
  check_formatted(format_authentication_results(parts[0], entries));
  return 0;
}
