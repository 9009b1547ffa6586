// address/srs.cpp: SRS0/SRS1 rewriting and reversal (srs.hpp), compatible with libsrs2 / postsrsd.
// SPDX-License-Identifier: MIT
#include "address/srs.hpp"

#include "common/ascii.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace mailfort::address::srs {

namespace {

constexpr std::string_view k_base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view k_base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr unsigned k_precision = 86400;  // one timestamp unit: a day
constexpr unsigned k_slots = 1024;       // two base32 characters

bool is_sep(char c) { return c == '=' || c == '+' || c == '-'; }

// HMAC-SHA1 over the lower-cased parts, base64, the first hash_length characters (libsrs2's srs_hash_create).
std::string hash_of(const settings& s, std::initializer_list<std::string_view> parts) {
  std::string data;
  for (auto p : parts) data += common::to_lower(p);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  if (!HMAC(EVP_sha1(), s.secret.data(), static_cast<int>(s.secret.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data(), &len))
    return {};
  std::string out;
  for (unsigned i = 0; i < len; i += 3) {
    const unsigned b0 = md[i];
    const unsigned b1 = i + 1 < len ? md[i + 1] : 0;
    const unsigned b2 = i + 2 < len ? md[i + 2] : 0;
    const unsigned v = (b0 << 16) | (b1 << 8) | b2;
    out.push_back(k_base64[(v >> 18) & 63]);
    out.push_back(k_base64[(v >> 12) & 63]);
    if (i + 1 < len) out.push_back(k_base64[(v >> 6) & 63]);
    if (i + 2 < len) out.push_back(k_base64[v & 63]);
  }
  return out.substr(0, s.hash_length);
}

std::string timestamp_of(std::int64_t now) {
  const auto t = static_cast<unsigned>((now / k_precision) % k_slots);
  std::string out;
  out.push_back(k_base32[(t >> 5) & 31]);
  out.push_back(k_base32[t & 31]);
  return out;
}

// Days since the stamp was made (mod 1024), or nullopt for a malformed stamp.
std::optional<unsigned> age_of(std::string_view stamp, std::int64_t now) {
  if (stamp.size() != 2) return std::nullopt;
  unsigned t = 0;
  for (char c : stamp) {
    auto p = k_base32.find(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
    if (p == std::string_view::npos) return std::nullopt;
    t = (t << 5) | static_cast<unsigned>(p);
  }
  const auto today = static_cast<unsigned>((now / k_precision) % k_slots);
  return (today + k_slots - t) % k_slots;
}

bool hash_ok(const settings& s, std::string_view given, std::initializer_list<std::string_view> parts) {
  if (given.size() != s.hash_length || s.secret.empty()) return false;
  const std::string want = hash_of(s, parts);
  if (want.size() != given.size()) return false;
  unsigned diff = 0;  // constant time, case-insensitive
  for (std::size_t i = 0; i < want.size(); ++i) {
    auto lc = [](char c) { return static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); };
    diff |= static_cast<unsigned>(lc(want[i]) ^ lc(given[i]));
  }
  return diff == 0;
}

}  // namespace

bool looks_like_srs(std::string_view address) {
  return address.size() > 4 && (common::istarts_with(address, "srs0") || common::istarts_with(address, "srs1")) &&
         is_sep(address[4]);
}

std::optional<std::string> forward(std::string_view sender, const settings& s, std::int64_t now) {
  const auto at = sender.rfind('@');
  if (sender.empty() || at == std::string_view::npos || at == 0 || at + 1 >= sender.size()) return std::nullopt;
  const std::string_view local = sender.substr(0, at);
  const std::string_view domain = sender.substr(at + 1);
  // A domain holding '=' cannot be told apart from the fields around it (no real domain does): not rewritten.
  if (common::iequals(domain, s.domain) || domain.find('=') != std::string_view::npos) return std::nullopt;
  if (looks_like_srs(local)) {
    // Already rewritten by another forwarder: SRS1 keeps its SRS0 part and names that forwarder.
    const std::string_view user0 = local.substr(4);  // from the separator on
    if (common::istarts_with(local, "srs0") && user0.size() >= 2) {
      const std::string_view user = user0;
      return "SRS1=" + hash_of(s, {domain, user}) + "=" + std::string(domain) + "=" + std::string(user) + "@" +
             s.domain;
    }
    // SRS1=HASH=host=rest: keep host and rest, hash again with our key.
    const std::string_view rest = local.substr(5);
    const auto e1 = rest.find('=');
    if (e1 != std::string_view::npos) {
      const std::string_view after = rest.substr(e1 + 1);
      const auto e2 = after.find('=');
      // The SRS0 part must keep its leading separator (and something after it), or it would not reverse.
      if (e2 != std::string_view::npos && e2 > 0 && e2 + 2 < after.size() && is_sep(after[e2 + 1])) {
        const std::string_view host = after.substr(0, e2);
        const std::string_view user = after.substr(e2 + 1);  // the SRS0 part from its separator on
        return "SRS1=" + hash_of(s, {host, user}) + "=" + std::string(host) + "=" + std::string(user) + "@" + s.domain;
      }
    }
  }
  const std::string ts = timestamp_of(now);
  return "SRS0=" + hash_of(s, {ts, domain, local}) + "=" + ts + "=" + std::string(domain) + "=" + std::string(local) +
         "@" + s.domain;
}

reversed reverse(std::string_view address, const settings& s, std::int64_t now) {
  reversed r;
  const auto at = address.rfind('@');
  const std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
  if (!looks_like_srs(local)) return r;
  r.error = reverse_error::malformed;
  const bool srs1 = local[3] == '1';
  std::string_view rest = local.substr(5);
  const auto h = rest.find('=');
  if (h == std::string_view::npos) return r;
  const std::string_view hash = rest.substr(0, h);
  rest = rest.substr(h + 1);
  if (srs1) {
    // host=SEPrest: the user part keeps its leading separator (an SRS0 local part after "SRS0").
    const auto e = rest.find('=');
    if (e == std::string_view::npos || e == 0 || e + 2 >= rest.size() || !is_sep(rest[e + 1])) return r;
    const std::string_view host = rest.substr(0, e);
    const std::string_view user = rest.substr(e + 1);
    if (!hash_ok(s, hash, {host, user})) {
      r.error = reverse_error::bad_hash;
      return r;
    }
    r.error = reverse_error::ok;
    r.address = "SRS0" + std::string(user) + "@" + std::string(host);
    return r;
  }
  // SRS0: TT=domain=local (the local part may itself hold '=').
  const auto e1 = rest.find('=');
  if (e1 == std::string_view::npos) return r;
  const std::string_view stamp = rest.substr(0, e1);
  const std::string_view tail = rest.substr(e1 + 1);
  const auto e2 = tail.find('=');
  if (e2 == std::string_view::npos || e2 == 0 || e2 + 1 >= tail.size()) return r;
  const std::string_view domain = tail.substr(0, e2);
  const std::string_view user = tail.substr(e2 + 1);
  const auto age = age_of(stamp, now);
  if (!age) return r;
  if (!hash_ok(s, hash, {stamp, domain, user})) {
    r.error = reverse_error::bad_hash;
    return r;
  }
  if (*age > s.max_age_days) {
    r.error = reverse_error::expired;
    return r;
  }
  r.error = reverse_error::ok;
  r.address = std::string(user) + "@" + std::string(domain);
  return r;
}

const char* reverse_error_name(reverse_error e) {
  switch (e) {
    case reverse_error::ok:
      return "ok";
    case reverse_error::not_srs:
      return "not_srs";
    case reverse_error::malformed:
      return "malformed";
    case reverse_error::bad_hash:
      return "bad_hash";
    case reverse_error::expired:
      return "expired";
  }
  return "malformed";
}

}  // namespace mailfort::address::srs
