// fuzz/cidr_fuzzer.cpp: the one network parser (common/cidr.hpp) on arbitrary bytes (configuration values and
// `mailfort ban` arguments reach it).
// SPDX-License-Identifier: MIT
// Invariants: never crashes or throws; a parsed network has a prefix within its family's width; its canonical
// text parses back to the same network; it contains its own address; effective() of it is IPv4 only when it
// was written as an IPv4-mapped IPv6 network of /96 or longer, and then keeps the low 32 bits and prefix - 96.
#include "common/cidr.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using mailfort::common::cidr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto c = cidr::parse(in);
  if (!c) return 0;
  if (c->prefix > (c->v6 ? 128u : 32u)) std::abort();
  const auto back = cidr::parse(c->to_string());
  if (!back || back->v6 != c->v6 || back->prefix != c->prefix || back->addr != c->addr) std::abort();
  boost::asio::ip::address self;
  if (c->v6) {
    boost::asio::ip::address_v6::bytes_type b{};
    std::copy(c->addr.begin(), c->addr.end(), b.begin());
    self = boost::asio::ip::address_v6(b);
  } else {
    boost::asio::ip::address_v4::bytes_type b{};
    std::copy(c->addr.begin(), c->addr.begin() + 4, b.begin());
    self = boost::asio::ip::address_v4(b);
  }
  if (!c->contains(self)) std::abort();
  const auto e = c->effective();
  if (!e.v6 && c->v6) {
    if (c->prefix < 96 || e.prefix != c->prefix - 96) std::abort();
    if (!std::equal(e.addr.begin(), e.addr.begin() + 4, c->addr.begin() + 12)) std::abort();
  }
  if (e.v6 != c->v6 && !c->v6) std::abort();
  return 0;
}
