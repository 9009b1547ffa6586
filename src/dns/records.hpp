// dns/records.hpp: [pure] decoders for the RDATA of the record types mailfort uses (TXT, MX, A, AAAA, PTR/CNAME/NS,
// TLSA). SPDX-License-Identifier: MIT Untrusted input: every byte here comes from the network (an answer relayed by
// libunbound, which hands over each record's RDATA in wire format with names uncompressed). A hostile zone can put
// anything in RDATA, so each decoder checks every length against the buffer, never reads past it, never throws, and
// returns std::nullopt for anything malformed (truncated, trailing bytes, oversized names). RFCs: 1035 (names, TXT, MX,
// PTR, CNAME), 3596 (AAAA), 6698 (TLSA), 7208 3.3 and 6376 3.6.2.2 (the character-strings of one TXT record are joined
// without separators). Not handled: compression pointers (libunbound never passes them in RDATA, so one is treated as
// malformed), EDNS, and record types other than the ones below.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dns {

// The RR types we ask for (IANA numbers, as ub_resolve_async takes them).
namespace rr_type {
inline constexpr int a = 1;
inline constexpr int ns = 2;
inline constexpr int cname = 5;
inline constexpr int soa = 6;
inline constexpr int ptr = 12;
inline constexpr int mx = 15;
inline constexpr int txt = 16;
inline constexpr int aaaa = 28;
inline constexpr int dnskey = 48;
inline constexpr int tlsa = 52;
}  // namespace rr_type

// Type name ("TXT", "mx", ...) to number; nullopt for names we do not handle.
std::optional<int> rr_type_from_name(std::string_view name);

struct mx_record {
  std::uint16_t preference = 0;
  std::string exchange;  // presentation form without the trailing dot; "." for the null MX (RFC 7505)
  bool operator==(const mx_record&) const = default;
};

struct tlsa_record {
  std::uint8_t usage = 0;          // 0..3 (PKIX-TA, PKIX-EE, DANE-TA, DANE-EE)
  std::uint8_t selector = 0;       // 0 full certificate, 1 SubjectPublicKeyInfo
  std::uint8_t matching_type = 0;  // 0 exact, 1 SHA-256, 2 SHA-512
  std::string data;                // raw association bytes (binary)
  bool operator==(const tlsa_record&) const = default;
};

// TXT: the character-strings of ONE record joined without separators (SPF, DKIM, DMARC all want this).
std::optional<std::string> parse_txt(std::string_view rdata);
// TXT as its separate character-strings (at least one; an empty string is allowed).
std::optional<std::vector<std::string>> parse_txt_strings(std::string_view rdata);

std::optional<mx_record> parse_mx(std::string_view rdata);
std::optional<std::array<std::uint8_t, 4>> parse_a(std::string_view rdata);
std::optional<std::array<std::uint8_t, 16>> parse_aaaa(std::string_view rdata);
// PTR, CNAME, NS: one uncompressed domain name filling the whole RDATA.
std::optional<std::string> parse_name_rdata(std::string_view rdata);
std::optional<tlsa_record> parse_tlsa(std::string_view rdata);

// Decodes one uncompressed wire-format name at rdata[pos], advancing pos past it. The result is in
// presentation form without the trailing dot, lower case is NOT forced; bytes that would make the text
// ambiguous ('.', '\\') or are not printable ASCII are escaped as "\." / "\\" / "\DDD" (RFC 1035 5.1),
// so a label holding a dot can never pass for two labels. Root is ".". Enforces 63-octet labels and the
// 255-octet name limit.
std::optional<std::string> decode_name(std::string_view rdata, std::size_t& pos);

std::string format_a(const std::array<std::uint8_t, 4>& a);
std::string format_aaaa(const std::array<std::uint8_t, 16>& a);  // RFC 5952 canonical text

// One line of text per record, for logs and the probe tool: TXT joined, "10 mx.example.org",
// "192.0.2.1", "2001:db8::1", names, "3 1 1 <hex>". nullopt when the RDATA is malformed for the type;
// unknown types are rendered as RFC 3597 "\# len hex".
std::optional<std::string> to_text(int rrtype, std::string_view rdata);

}  // namespace mailfort::dns
