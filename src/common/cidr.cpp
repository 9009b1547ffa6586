// common/cidr.cpp: the network type (see cidr.hpp).
// SPDX-License-Identifier: MIT
#include "common/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace mailfort::common {

namespace {

// Whether the first `bits` bits of x and y agree.
bool same_prefix(const unsigned char* x, const unsigned char* y, unsigned bits) {
  const unsigned full = bits / 8, rest = bits % 8;
  if (!std::equal(x, x + full, y)) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (x[full] & mask) == (y[full] & mask);
}

constexpr unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<cidr> cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string a(text.substr(0, slash));
  if (a.find('\0') != std::string::npos) return std::nullopt;
  cidr out;
  out.v6 = a.find(':') != std::string::npos;
  if (inet_pton(out.v6 ? AF_INET6 : AF_INET, a.c_str(), out.addr.data()) != 1) return std::nullopt;
  const unsigned max = out.v6 ? 128 : 32;
  out.prefix = max;
  if (slash != std::string_view::npos) {
    const auto p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    unsigned v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return std::nullopt;
    out.prefix = v;
  }
  return out;
}

bool cidr::contains(const boost::asio::ip::address& a0) const {
  boost::asio::ip::address a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped() && !v6)
    a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4() == v6) return false;
  if (a.is_v4()) return same_prefix(a.to_v4().to_bytes().data(), addr.data(), prefix);
  return same_prefix(a.to_v6().to_bytes().data(), addr.data(), prefix);
}

cidr cidr::effective() const {
  if (!v6 || prefix < 96 || !std::equal(addr.begin(), addr.begin() + 12, v4_mapped_prefix)) return *this;
  cidr v4;
  v4.prefix = prefix - 96;
  std::copy(addr.begin() + 12, addr.end(), v4.addr.begin());
  return v4;
}

std::string cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

}  // namespace mailfort::common
