// fuzz/dkim_key_fuzzer.cpp: the DKIM key-record parser and public-key decoding (OpenSSL DER) on arbitrary bytes.
// SPDX-License-Identifier: MIT
// Invariants: a record parses to a key or an error, never both or neither; a revoked key has an empty
// p=; a decodable key has the record's type, RSA within 1024..8192 bits is not required here (the
// verifier checks the minimum) but never above 8192, Ed25519 exactly 256 bits.
#include "auth/dkim_signature.hpp"
#include "auth/dkim_verify.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::dkim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_key_record(in);
  if (r.key.has_value() == !r.error.empty()) std::abort();
  if (!r.key) return 0;
  if (r.key->revoked != r.key->public_key.empty()) std::abort();
  if (auto info = inspect_public_key(*r.key)) {
    if (info->type != r.key->type) std::abort();
    if (info->type == key_type::rsa && info->bits > 8192) std::abort();
    if (info->type == key_type::ed25519 && info->bits != 256) std::abort();
  }
  return 0;
}
