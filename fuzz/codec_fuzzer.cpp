// fuzz/codec_fuzzer.cpp: the hand-written base64 and dkim-quoted-printable codecs against bit-by-bit models.
// SPDX-License-Identifier: MIT
// Targets: sasl::base64_decode (strict: AUTH responses), sasl::base64_encode, dkim::decode_base64 (b=, bh=,
// p=: FWS ignored, padding optional), dkim::encode_base64, dkim::decode_dkim_qp (i=, z=). Each indexes its
// output by hand (quanta of 4 characters / 3 bytes); the models below walk one bit or one character at a
// time with no quanta. Invariants: every decoder agrees with its model (same accept/refuse decision, same
// bytes); both encoders agree with the model encoder; the strict decoder accepts exactly the encoder's
// outputs (one encoding per value), so decode(encode(x)) == x for the input bytes themselves.
#include "auth/dkim_signature.hpp"
#include "sasl/sasl_decode.hpp"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

using namespace mailfort;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  const auto p = k_alphabet.find(c);
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

// Base64 encoding one bit at a time: 6-bit groups of the bit string, zero-filled, '=' to a multiple of 4.
std::string model_encode(std::string_view in) {
  std::string bits;
  for (unsigned char c : in)
    for (int b = 7; b >= 0; --b) bits.push_back(((c >> b) & 1) != 0 ? '1' : '0');
  while (bits.size() % 6 != 0) bits.push_back('0');
  std::string out;
  for (std::size_t i = 0; i < bits.size(); i += 6) out.push_back(k_alphabet[std::stoi(bits.substr(i, 6), nullptr, 2)]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

// Data characters (no padding) -> bytes, leftover bits (< 8) dropped; nullopt on a non-alphabet character.
std::optional<std::string> model_bits_to_bytes(std::string_view chars) {
  std::string bits;
  for (char c : chars) {
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    for (int b = 5; b >= 0; --b) bits.push_back(((v >> b) & 1) != 0 ? '1' : '0');
  }
  std::string out;
  for (std::size_t i = 0; i + 8 <= bits.size(); i += 8)
    out.push_back(static_cast<char>(std::stoi(bits.substr(i, 8), nullptr, 2)));
  return out;
}

// Strict (RFC 4648 with padding, canonical): valid exactly when some byte string encodes to it.
std::optional<std::string> model_strict_decode(std::string_view in) {
  std::string_view data = in;
  while (!data.empty() && data.back() == '=') data.remove_suffix(1);
  auto bytes = model_bits_to_bytes(data);
  if (!bytes || model_encode(*bytes) != in) return std::nullopt;
  return bytes;
}

// DKIM (RFC 6376 2.6 base64string): FWS anywhere is ignored; data, then at most two '=' that complete the
// last quantum; without padding, any length that is a whole number of bytes (not 1 mod 4); leftover bits
// are ignored; more than max_b64 characters (padding counted) is refused.
std::optional<std::string> model_dkim_decode(std::string_view in) {
  std::string s;
  for (char c : in)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') s.push_back(c);
  if (s.size() > dkim::max_b64) return std::nullopt;
  std::size_t pad = 0;
  while (pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  const std::string data = s.substr(0, s.size() - pad);
  if (data.find('=') != std::string::npos) return std::nullopt;
  if (data.size() % 4 == 1 || pad > 2) return std::nullopt;
  if (pad != 0 && (data.size() % 4) + pad != 4) return std::nullopt;
  return model_bits_to_bytes(data);
}

// dkim-quoted-printable (RFC 6376 2.11): FWS ignored, "=XX" a byte (hex, either case), any other byte itself.
std::optional<std::string> model_qp(std::string_view in) {
  std::string s;
  for (char c : in)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') s.push_back(c);
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '=') {
      out.push_back(s[i++]);
      continue;
    }
    if (s.size() - i < 3) return std::nullopt;
    const std::string hex = s.substr(i + 1, 2);
    if (hex.find_first_not_of("0123456789ABCDEFabcdef") != std::string::npos) return std::nullopt;
    out.push_back(static_cast<char>(std::stoi(hex, nullptr, 16)));
    i += 3;
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 12000) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  check(sasl::base64_decode(in) == model_strict_decode(in));
  check(dkim::decode_base64(in) == model_dkim_decode(in));
  check(dkim::decode_dkim_qp(in) == model_qp(in));

  const std::string enc = model_encode(in);
  check(sasl::base64_encode(in) == enc);
  check(dkim::encode_base64(in) == enc);
  check(sasl::base64_decode(enc) == std::string(in));
  if (enc.size() <= dkim::max_b64) check(dkim::decode_base64(enc) == std::string(in));
  return 0;
}
