// sasl/sasl_decode.cpp: strict base64 and AUTH PLAIN decoding (see sasl_decode.hpp).
// SPDX-License-Identifier: MIT
#include "sasl/sasl_decode.hpp"

#include <array>

namespace mailfort::sasl {

namespace {
constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> make_table() {
  std::array<int, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(k_alphabet[i])] = i;
  return t;
}
constexpr auto k_table = make_table();
}  // namespace

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=') {
        // Padding only in the last quantum, only at its end.
        if (i + 4 != in.size() || k < 2) return std::nullopt;
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad) return std::nullopt;
      v[k] = k_table[static_cast<unsigned char>(c)];
      if (v[k] < 0) return std::nullopt;
    }
    std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                      (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    // Non-zero bits under the padding would give two encodings of one value (RFC 4648 3.5): refuse.
    if ((pad == 2 && (n & 0xffff) != 0) || (pad == 1 && (n & 0xff) != 0)) return std::nullopt;
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    out.push_back(k_alphabet[(n >> 18) & 63]);
    out.push_back(k_alphabet[(n >> 12) & 63]);
    out.push_back(k_alphabet[(n >> 6) & 63]);
    out.push_back(k_alphabet[n & 63]);
  }
  std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out.push_back(k_alphabet[(n >> 18) & 63]);
    out.push_back(k_alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? k_alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

plain_result decode_plain(std::string_view b64, std::size_t max_len) {
  plain_result r;
  if (b64.size() > (max_len + 2) / 3 * 4 + 4) {
    r.error = plain_error::too_long;
    return r;
  }
  auto dec = base64_decode(b64);
  if (!dec) {
    r.error = plain_error::bad_base64;
    return r;
  }
  if (dec->size() > max_len) {
    r.error = plain_error::too_long;
    return r;
  }
  auto first = dec->find('\0');
  if (first == std::string::npos) {
    r.error = plain_error::wrong_nul_count;
    return r;
  }
  auto second = dec->find('\0', first + 1);
  if (second == std::string::npos || dec->find('\0', second + 1) != std::string::npos) {
    r.error = plain_error::wrong_nul_count;
    return r;
  }
  r.creds.authzid = dec->substr(0, first);
  r.creds.authcid = dec->substr(first + 1, second - first - 1);
  r.creds.password = dec->substr(second + 1);
  if (r.creds.authcid.empty()) r.error = plain_error::empty_authcid;
  return r;
}

}  // namespace mailfort::sasl
