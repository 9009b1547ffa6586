// fuzz/sasl_fuzzer.cpp: strict base64 and AUTH PLAIN decoding.
// SPDX-License-Identifier: MIT
// Invariants: decode(encode(x)) == x; strict decoding accepts only the canonical encoding; a decoded PLAIN
// response has exactly the three fields it came from, a non-empty authcid, and fits the length cap.
#include "sasl/sasl_decode.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::sasl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = base64_decode(in);
  if (d && base64_encode(*d) != in) std::abort();  // strict: one canonical encoding
  auto e = base64_decode(base64_encode(in));
  if (!e || *e != in) std::abort();
  auto p = decode_plain(in, 4096);
  if (p.error == plain_error::ok) {
    auto joined = p.creds.authzid + '\0' + p.creds.authcid + '\0' + p.creds.password;
    if (base64_encode(joined) != in) std::abort();
  }
  // A small cap drives the length checks; whatever comes back ok must fit it.
  std::size_t cap = size % 64;
  auto q = decode_plain(in, cap);
  if (q.error == plain_error::ok && q.creds.authzid.size() + q.creds.authcid.size() + q.creds.password.size() + 2 > cap)
    std::abort();
  if (q.error == plain_error::ok && q.creds.authcid.empty()) std::abort();
  return 0;
}
