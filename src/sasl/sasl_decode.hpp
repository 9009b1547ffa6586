// sasl/sasl_decode.hpp: [pure] AUTH PLAIN / LOGIN decoding (RFC 4616, RFC 4954).
// SPDX-License-Identifier: MIT
// Untrusted input: base64 blobs after AUTH. Strict base64 (RFC 4648 alphabet, padding required, no
// whitespace); a lone "*" cancels (501). PLAIN is authzid NUL authcid NUL passwd: exactly two NULs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::sasl {

// Decode strict base64; nullopt on any invalid character, bad padding or length.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

enum class plain_error : std::uint8_t { ok, bad_base64, wrong_nul_count, empty_authcid, too_long };

struct plain_credentials {
  std::string authzid;  // may be empty
  std::string authcid;
  std::string password;
};

struct plain_result {
  plain_error error = plain_error::ok;
  plain_credentials creds;
};

// Decode the base64 PLAIN response (max_len bounds the decoded size).
plain_result decode_plain(std::string_view b64, std::size_t max_len = 4096);

}  // namespace mailfort::sasl
