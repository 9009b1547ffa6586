// auth/dkim_verify.hpp: DKIM verification (RFC 6376 6, RFC 8301, RFC 8463): every DKIM-Signature of a message.
// SPDX-License-Identifier: MIT
// Untrusted input: the message and the key records (DNS, through dns::source). Bounded work: at most
// max_signatures signatures are evaluated (the rest are reported "neutral", not checked), at most
// max_header_fields header fields are read, one DNS lookup per distinct key, one body pass per distinct
// (canonicalisation, hash, l=), RSA keys of 1024..8192 bits with public exponents of at most 33 bits.
// Decoded public keys are kept in a small process-wide cache (256 entries, thread-safe), because OpenSSL 3
// key decoding costs more than the RSA verification itself.
// Policy (RFC 8301 and the mailfort issue): rsa-sha1 and RSA keys under min_rsa_bits never pass; a
// signature with l= shorter than the body never passes (result "policy", reason "unsigned content
// appended"), because content added after the signed part could be anything.
#pragma once
#include "auth/dkim_signature.hpp"
#include "dns/source.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dkim {

enum class result { none, pass, fail, neutral, policy, permerror, temperror };
const char* to_string(result r);

struct verify_options {
  std::int64_t now = 0;            // unix seconds, for x= (expiry)
  std::size_t max_signatures = 5;  // evaluated; the others are reported neutral "not checked"
  unsigned min_rsa_bits = 1024;    // RFC 8301 3.2
  std::size_t max_header_fields = 1000;
};

struct verify_result {
  result res = result::none;
  std::string domain;     // d=
  std::string selector;   // s=
  std::string algorithm;  // a=
  std::string identity;   // i= (or "@d" when absent)
  std::string reason;     // why it is not pass (empty for pass)
  std::string b_prefix;   // the first 12 characters of b= (RFC 8601 header.b)
  bool testing = false;   // the key record has t=y
};

// Verifies every DKIM-Signature field in header order (no signature: empty vector, i.e. dkim=none).
// A message whose header section cannot be parsed yields one permerror result. `message` and `opts`
// must outlive the returned awaitable (the caller co_awaits it directly).
boost::asio::awaitable<std::vector<verify_result>> verify(dns::source& dns, std::string_view message,
                                                          const verify_options& opts);

// The public key of a parsed key record, checked: for tests, fuzzers and keygen. nullopt when p= is not a
// key of the record's type (RSA: SubjectPublicKeyInfo or a bare PKCS#1 RSAPublicKey; Ed25519: 32 bytes).
struct public_key_info {
  key_type type = key_type::rsa;
  int bits = 0;
};
std::optional<public_key_info> inspect_public_key(const key_record& k);

}  // namespace mailfort::dkim
