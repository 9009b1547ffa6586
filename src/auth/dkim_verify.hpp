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
#include "auth/dkim_canon.hpp"
#include "auth/dkim_signature.hpp"
#include "dns/source.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
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

// A message whose body is not in memory (it streams from a file, off the event loop): the body hashes its
// signatures need, computed in one pass by body_digester, then verify() over the header section alone.
struct body_spec {
  canonicalization c = canonicalization::simple;
  hash_alg h = hash_alg::sha256;
  std::optional<std::uint64_t> l;
  bool operator<(const body_spec& o) const { return std::tie(c, h, l) < std::tie(o.c, o.h, o.l); }
};
struct body_digest {
  std::string hash;          // raw digest
  std::uint64_t length = 0;  // canonical body length
};
using body_digests = std::map<body_spec, body_digest>;
// The distinct body hashes the signatures of `head` (the header section) need: at most max_signatures.
std::vector<body_spec> body_specs(std::string_view head, const verify_options& opts);
class body_digester {
 public:
  explicit body_digester(const std::vector<body_spec>& specs);
  ~body_digester();
  body_digester(const body_digester&) = delete;
  body_digester& operator=(const body_digester&) = delete;
  void update(std::string_view chunk);
  body_digests finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};
// `head` is the header section (through the empty line); `bodies` holds body_specs(head)'s hashes.
boost::asio::awaitable<std::vector<verify_result>> verify(dns::source& dns, std::string_view head,
                                                          const body_digests& bodies, const verify_options& opts);

// The public key of a parsed key record, checked: for tests, fuzzers and keygen. nullopt when p= is not a
// key of the record's type (RSA: SubjectPublicKeyInfo or a bare PKCS#1 RSAPublicKey; Ed25519: 32 bytes).
struct public_key_info {
  key_type type = key_type::rsa;
  int bits = 0;
};
std::optional<public_key_info> inspect_public_key(const key_record& k);

}  // namespace mailfort::dkim
