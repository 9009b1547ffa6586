// fuzz/dns_records_fuzzer.cpp: every RDATA decoder, the DNS server-address parser and the shared host[:port]
// reader (common/host_port) on arbitrary bytes.
// SPDX-License-Identifier: MIT
// Invariants: no decoder reads past its input (ASan), joined TXT is never longer than the RDATA, a
// decoded name never exceeds the presentation-form bound (255 octets, each byte at most 4 chars
// escaped), a name that decodes fills exactly the bytes it claimed, MX/name results are consistent.
#include "common/host_port.hpp"
#include "dns/records.hpp"
#include "dns/upstream.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::dns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto t = parse_txt(in)) {
    if (t->size() >= in.size()) std::abort();  // at least one length octet per string was dropped
    auto parts = parse_txt_strings(in);
    if (!parts) std::abort();
    std::string joined;
    for (const auto& p : *parts) joined += p;
    if (joined != *t) std::abort();
  }

  std::size_t pos = 0;
  if (auto n = decode_name(in, pos)) {
    if (pos == 0 || pos > in.size() || pos > 255) std::abort();
    if (n->empty() || n->size() > 255 * 4) std::abort();
    auto whole = parse_name_rdata(in.substr(0, pos));
    if (!whole || *whole != *n) std::abort();
  }

  if (auto mx = parse_mx(in)) {
    auto name = parse_name_rdata(in.substr(2));
    if (!name || *name != mx->exchange) std::abort();
  }

  if (auto a = parse_a(in); a && in.size() != 4) std::abort();
  if (auto a = parse_aaaa(in); a && in.size() != 16) std::abort();
  if (auto a = parse_aaaa(in)) {
    auto text = format_aaaa(*a);
    if (text.size() < 2 || text.size() > 39) std::abort();
  }
  if (auto t = parse_tlsa(in); t && t->data.size() + 3 != in.size()) std::abort();

  for (int type : {rr_type::a, rr_type::aaaa, rr_type::mx, rr_type::txt, rr_type::ptr, rr_type::tlsa, 99})
    (void)to_text(type, in);

  if (size <= 64) {
    if (auto u = parse_upstream(in)) {
      auto again =
          parse_upstream(u->address + (u->address.find(':') != std::string::npos ? "" : ":" + std::to_string(u->port)));
      if (!again || again->address != u->address) std::abort();
    }
  }

  // The shared host[:port] reader: what it returns writes back to text that reads the same.
  if (auto hp = mailfort::common::parse_host_port(in)) {
    if (hp->host.empty() || hp->host.size() > in.size()) std::abort();
    for (char c : hp->host)
      if (static_cast<unsigned char>(c) <= 0x20 || c == '[' || c == ']') std::abort();
    bool v6 = hp->host.find(':') != std::string::npos;
    std::string text = v6 ? "[" + hp->host + "]" : hp->host;
    if (hp->port) text += ":" + std::to_string(*hp->port);
    auto again = mailfort::common::parse_host_port(text);
    if (!again || again->host != hp->host || again->port != hp->port) std::abort();
    if (hp->port && *hp->port == 0) std::abort();
  }
  return 0;
}
