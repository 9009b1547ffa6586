// fuzz/dsn_fuzzer.cpp: the DSN builder with hostile remote replies, addresses and original headers: the result
// must be CRLF-only, every remote byte quoted, and the MIME boundary must frame exactly three parts.
// SPDX-License-Identifier: MIT
#include "queue/dsn.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::queue;

namespace {
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Split the input into fields at NUL bytes: diagnostic, address, remote MTA, sender, original message.
  std::string_view parts[5];
  for (int i = 0; i < 4; ++i) {
    auto z = in.find('\0');
    parts[i] = in.substr(0, z);
    in = z == std::string_view::npos ? std::string_view() : in.substr(z + 1);
  }
  parts[4] = in;
  dsn_input d;
  d.reporting_mta = "mx.example.org";
  d.queue_id = "0123456789abcdef";
  d.sender = std::string(parts[3]);
  d.arrival = 1700000000;
  d.now = 1700000100;
  dsn_recipient r;
  r.diagnostic = std::string(parts[0]);
  r.address = std::string(parts[1]);
  r.remote_mta = std::string(parts[2]);
  r.remote = !r.remote_mta.empty();
  r.status = "5.1.1";
  d.recipients.push_back(r);
  d.original = parts[4];
  std::string m = build_dsn(d);
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) std::abort();             // bare LF
    if (m[i] == '\r' && (i + 1 >= m.size() || m[i + 1] != '\n')) std::abort();  // bare CR
  }
  constexpr std::string_view k_ct = "report-type=delivery-status;\r\n\tboundary=\"";  // our header, not a value
  auto b = m.find(k_ct);
  if (b == std::string::npos) std::abort();
  b += k_ct.size();
  auto e = m.find('"', b);
  std::string boundary = m.substr(b, e - b);
  if (count(m, "\r\n--" + boundary + "\r\n") != 3 || count(m, "\r\n--" + boundary + "--\r\n") != 1) std::abort();
  // Quoted fields never carry a line break: the diagnostic stays on its one line.
  auto dc = m.find("\r\nDiagnostic-Code: ");
  if (dc == std::string::npos || m.find("\r\n", dc + 2) - dc > 1000) std::abort();
  // Every line we write (all but the returned original headers) stays under the RFC 5322 998-octet limit.
  auto hdrs = m.find("Content-Type: text/rfc822-headers");
  for (std::size_t p = 0, q; p < hdrs; p = q + 2) {
    q = m.find("\r\n", p);
    if (q == std::string::npos || q - p > 998) std::abort();
  }
  return 0;
}
