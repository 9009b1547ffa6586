// auth/dkim_signature.hpp: [pure] DKIM tag lists (RFC 6376 3.2): the DKIM-Signature field and the key record.
// SPDX-License-Identifier: MIT
// Untrusted input: the DKIM-Signature field of any received message and the TXT record any domain
// publishes. Nothing here throws on bad input, does I/O or crypto: parse errors come back as a reason
// string, which dkim_verify turns into permerror. Bounded: at most max_tags tags, max_header_names names
// in h=, max_b64 characters of base64; every number is range-checked before it is converted.
// Reading is deliberately lenient about whitespace (RFC 6376 3.2 FWS anywhere in a value is dropped, as
// mail-auth and dkimpy do), and strict about meaning: duplicate tags, unknown algorithms, an h= without
// From, an i= outside d=, x= before t= are errors. RFC 8301: rsa-sha1 parses but is flagged so the
// verifier can refuse it; RFC 8463: ed25519-sha256.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dkim {

inline constexpr std::size_t max_tags = 64;           // a real signature has ~12
inline constexpr std::size_t max_header_names = 128;  // h= entries (oversigning doubles a ~30 list)
inline constexpr std::size_t max_b64 = 8192;          // base64 characters in b=, bh=, p= (RSA-16384 fits)

// One tag-spec: name and value exactly as written (value without surrounding whitespace). Both views
// point into the parsed text; value_offset lets dkim_verify blank out b= in the original field.
struct tag {
  std::string_view name;
  std::string_view value;
  std::size_t value_offset = 0;  // of value within the text given to parse_tag_list
};

// RFC 6376 3.2. nullopt on: a tag-spec without '=', an invalid tag name, a duplicate tag name, more than
// `limit` tags. Empty tag-specs (";;") and a trailing ';' are accepted.
std::optional<std::vector<tag>> parse_tag_list(std::string_view text, std::size_t limit = max_tags);

// The value with every SP, HTAB, CR and LF removed (FWS inside base64, h= lists, a= ...).
std::string strip_fws(std::string_view v);

// Standard base64 with FWS ignored; padding optional only where RFC 4648 allows it; nullopt on any other
// character or a length that is not a whole number of bytes. At most max_b64 characters.
std::optional<std::string> decode_base64(std::string_view text);
std::string encode_base64(std::string_view bytes);

enum class algorithm { rsa_sha256, ed25519_sha256, rsa_sha1 };
enum class canonicalization { simple, relaxed };
enum class key_type { rsa, ed25519 };

const char* to_string(algorithm a);
const char* to_string(canonicalization c);

struct signature {
  algorithm algo = algorithm::rsa_sha256;
  std::string b;       // decoded signature bytes
  std::string b_text;  // b= without whitespace (for header.b in Authentication-Results)
  std::string bh;      // decoded body hash
  canonicalization header_canon = canonicalization::simple;
  canonicalization body_canon = canonicalization::simple;
  std::string domain;                // d=, as written (compare case-insensitively)
  std::vector<std::string> headers;  // h=, as written, empty names dropped
  std::string identity;              // i= after dkim-quoted-printable decoding; "@" + d when absent
  bool identity_given = false;
  std::optional<std::uint64_t> length;      // l=
  std::string selector;                     // s=
  std::optional<std::int64_t> timestamp;    // t=
  std::optional<std::int64_t> expiration;   // x=
  std::vector<std::string> copied_headers;  // z=, decoded (diagnostics only; never used for verification)
};

// What a signature says about itself even when it is unusable: the verifier reports d=, s=, a=.
struct signature_parse_result {
  std::optional<signature> sig;
  std::string error;   // why sig is empty
  std::string domain;  // d=, s=, a= as far as they could be read (for the result line)
  std::string selector;
  std::string algorithm;
};

// Parses the value of a DKIM-Signature field (everything after the colon). Checks the semantics of
// RFC 6376 3.5 and 6.1.1: v=1; a, b, bh, d, h, s present; h= lists From; i= in d= or a subdomain;
// q= dns/txt; x >= t. An unknown a= is an error; rsa-sha1 is accepted here (the verifier refuses it).
signature_parse_result parse_signature(std::string_view value);

// DKIM-Quoted-Printable (RFC 6376 2.11): "=XX" hex escapes, FWS dropped. nullopt on a bad escape.
std::optional<std::string> decode_dkim_qp(std::string_view text);

struct key_record {
  key_type type = key_type::rsa;
  std::string public_key;  // decoded p=; empty means revoked
  bool revoked = false;
  bool allows_sha1 = true;  // h= absent: every hash allowed
  bool allows_sha256 = true;
  bool service_email = true;     // s= absent, "*" or lists "email"
  bool testing = false;          // t=y
  bool strict_identity = false;  // t=s: i= must be exactly d=, not a subdomain
};

struct key_parse_result {
  std::optional<key_record> key;
  std::string error;
};

// Parses a key record (RFC 6376 3.6.1, RFC 8463 k=ed25519). Errors: bad tag list, v= other than DKIM1,
// k= other than rsa/ed25519, p= missing or not base64. An empty p= is a revoked key (not an error).
// Unknown h=, s= and t= values are ignored, as the RFC requires.
key_parse_result parse_key_record(std::string_view text);

// True when `identity`'s domain (after '@') is `domain` or, unless `strict`, a subdomain of it.
bool identity_in_domain(std::string_view identity, std::string_view domain, bool strict);

}  // namespace mailfort::dkim
