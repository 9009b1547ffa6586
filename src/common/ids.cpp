// common/ids.cpp: random identifiers from OpenSSL's CSPRNG.
// SPDX-License-Identifier: MIT
#include "common/ids.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace mailfort::common {
namespace {
std::string hex_of(const unsigned char* p, size_t n) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string r;
  r.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    r.push_back(hex[p[i] >> 4]);
    r.push_back(hex[p[i] & 15]);
  }
  return r;
}
void random_bytes(unsigned char* p, int n) {
  if (RAND_bytes(p, n) != 1) throw std::runtime_error("RAND_bytes failed");
}
}  // namespace

std::string new_session_id() {
  unsigned char b[8];
  random_bytes(b, sizeof b);
  return hex_of(b, sizeof b);
}

std::string new_queue_id() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  unsigned char t[6];
  for (int i = 5; i >= 0; --i) {
    t[i] = static_cast<unsigned char>(us & 0xff);
    us >>= 8;
  }
  unsigned char r[4];
  random_bytes(r, sizeof r);
  return hex_of(t, sizeof t) + hex_of(r, sizeof r);
}

bool is_queue_id(const std::string& s) {
  if (s.size() != 20) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace mailfort::common
