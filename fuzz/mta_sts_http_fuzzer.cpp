// fuzz/mta_sts_http_fuzzer.cpp: the MTA-STS policy listener's request reader and its answer (publish/http_request).
// SPDX-License-Identifier: MIT
// Input: the bytes a client sends. Invariants: the reader never reads past the bound (a head longer than the limit is
// too_large, never ok); an accepted request has GET-able method and target without control bytes or spaces, a host of
// name characters only; feeding the same bytes in two pieces gives the same answer; the policy is served only for
// GET/HEAD of the exact path on mta-sts.<our domain>; every response is one well-formed head with Connection: close.
#include "publish/http_request.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::publish;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t limit = 512;
  auto r = parse_http_request(in, limit);
  if (r.status == http_parse_status::ok) {
    check(!r.request.method.empty() && !r.request.target.empty() && r.request.target.size() <= 2048);
    for (char c : r.request.target) check(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f);
    for (char c : r.request.host)
      check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '[' ||
            c == ']' || c == ':');
    auto again = parse_http_request(std::string(in) + "trailing body bytes", limit);
    check(again.status == http_parse_status::ok && again.request.host == r.request.host &&
          again.request.target == r.request.target);
    const std::string policy = "version: STSv1\r\nmode: testing\r\nmx: mx.example.org\r\nmax_age: 86400\r\n";
    auto resp = respond(r.request, {"example.org"}, policy);
    if (resp.status == 200) {
      check(r.request.host == "mta-sts.example.org" && r.request.target == "/.well-known/mta-sts.txt");
      check(r.request.method == "GET" || r.request.method == "HEAD");
      check(resp.body == policy);
    }
    auto wire = serialize(resp);
    check(wire.rfind("HTTP/1.1 ", 0) == 0 && wire.find("Connection: close\r\n\r\n") != std::string::npos);
  } else if (r.status == http_parse_status::incomplete) {
    check(in.size() < limit);
  } else {
    check(serialize(respond_error(r.status)).rfind("HTTP/1.1 4", 0) == 0);
  }
  // A prefix of an ok head is never ok (the reader waits for the empty line).
  if (size > 1 && r.status == http_parse_status::ok) {
    auto half = parse_http_request(in.substr(0, 1), limit);
    check(half.status != http_parse_status::ok);
  }
  return 0;
}
