// address/srs.hpp: [pure] the Sender Rewriting Scheme (SRS0/SRS1, as libsrs2 and postsrsd write it), so mail an
// alias forwards to a remote address keeps passing SPF at the receiver, and bounces find their way back.
// SPDX-License-Identifier: MIT
// SECURITY: reverse() parses untrusted RCPT addresses (a bounce to SRS0=...@our.domain). A forged or expired
// address must never be reversed: an SRS address we did not make would turn the server into an open relay.
// The hash is HMAC-SHA1 under a secret kept 0600 in the data directory, base64, 4 characters (compared without
// regard to case, as libsrs2 does: some MTAs lower-case local parts); the timestamp is days mod 1024 in two
// base32 characters, accepted for max_age_days.
//   forward  user@orig.example          -> SRS0=HHHH=TT=orig.example=user@our.domain
//   forward  SRS0=HHHH=TT=orig=user@fwd -> SRS1=GGGG=fwd==HHHH=TT=orig=user@our.domain
//   reverse  SRS0 ... -> user@orig.example;  SRS1=GGGG=fwd==... -> SRS0=HHHH=...@fwd
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::address::srs {

struct settings {
  std::string secret;           // the HMAC key (at least 16 bytes)
  std::string domain;           // our domain: the rewritten sender's domain
  unsigned max_age_days = 21;   // a bounce older than this is refused
  std::size_t hash_length = 4;  // base64 characters of the HMAC kept
};

// The rewritten envelope sender for a forward, or nullopt when none is needed (null sender, or a sender of
// our own domain). `now` is unix seconds.
std::optional<std::string> forward(std::string_view sender, const settings& s, std::int64_t now);

enum class reverse_error : std::uint8_t { ok, not_srs, malformed, bad_hash, expired };
const char* reverse_error_name(reverse_error e);

struct reversed {
  reverse_error error = reverse_error::not_srs;
  std::string address;  // ok: where the bounce goes
};

// Reverses an address of our SRS domain (local@domain; the domain is not checked here). Never throws.
reversed reverse(std::string_view address, const settings& s, std::int64_t now);

// Does the local part start like an SRS address (SRS0 or SRS1 and a separator, any case)?
bool looks_like_srs(std::string_view address);

}  // namespace mailfort::address::srs
