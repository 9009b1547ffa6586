// auth/dkim_sign.hpp: DKIM signing (RFC 6376 5, RFC 8463): keys, key generation, the DNS record, signing.
// SPDX-License-Identifier: MIT
// Input: mail from our own authenticated users (not hostile, but still parsed with the bounded header
// splitter). Output: the DKIM-Signature field to prepend, folded to lines of at most 76 columns plus CRLF.
// Defaults follow current practice: relaxed/relaxed, rsa-sha256 or ed25519-sha256 by key type, t= set,
// no l= (it lets anyone append content) and no x=, From oversigned (listed once more than present) so a
// second From cannot be added without breaking the signature. Dual-signing is two calls with two keys.
#pragma once
#include "auth/dkim_signature.hpp"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dkim {

struct signing_key {
  key_type type = key_type::rsa;
  std::shared_ptr<EVP_PKEY> pkey;  // private key
};

struct key_load_result {
  std::optional<signing_key> key;
  std::string error;
};

// PEM private key (PKCS#8 or traditional "RSA PRIVATE KEY"); RSA of 1024..8192 bits or Ed25519.
key_load_result parse_signing_key(std::string_view pem);
key_load_result load_signing_key(const std::string& path);
// Ed25519 from its raw 32-byte seed (RFC 8032 test vectors are published that way).
std::optional<signing_key> signing_key_from_ed25519_seed(std::string_view seed);

// New key: Ed25519, or RSA of rsa_bits (2048 by default). nullopt only if OpenSSL fails.
std::optional<signing_key> generate_key(key_type type, int rsa_bits = 2048);
std::string private_key_pem(const signing_key& key);  // PKCS#8 PEM
// The TXT record value to publish at <selector>._domainkey.<domain>: "v=DKIM1; k=rsa; p=<base64 SPKI>"
// (Ed25519: the raw 32-byte key, RFC 8463 4.2).
std::string dns_txt_record(const signing_key& key);

// The header fields signed when sign_options::headers is empty, each as often as it occurs; From once more.
const std::vector<std::string>& default_signed_headers();

// Tag order and folding. standard: v a c d s t [x] [i] h bh, then b on its own line. go_msgauth:
// go-msgauth's sorted order and folding, byte for byte, so its published signing vector can be checked.
enum class tag_layout { standard, go_msgauth };

struct sign_options {
  std::string domain;
  std::string selector;
  std::optional<std::int64_t> timestamp;   // t=; the CLI and the server always set it
  std::optional<std::int64_t> expiration;  // x=
  std::vector<std::string> headers;        // h= exactly as given; empty: the default set, From oversigned
  canonicalization header_canon = canonicalization::relaxed;
  canonicalization body_canon = canonicalization::relaxed;
  std::string identity;  // i=, when not empty
  tag_layout layout = tag_layout::standard;
};

// The complete "DKIM-Signature: ...\r\n" field to prepend to `message`; empty when the message's header
// section cannot be parsed, the options are unusable (no domain/selector, no From) or signing fails.
std::string sign(std::string_view message, const signing_key& key, const sign_options& opts);
// The same for a message whose body is not in memory: `head` is its header section (through the empty line),
// `raw_body_hash` the body's digest (body_hasher(opts.body_canon, sha256, nullopt) over the body, finish()).
std::string sign_with_body_hash(std::string_view head, std::string_view raw_body_hash, const signing_key& key,
                                const sign_options& opts);

}  // namespace mailfort::dkim
