// auth/dmarc_record.hpp: [pure] parse a DMARC policy record (RFC 7489 6.3/6.4, RFC 9989 np/psd/t).
// SPDX-License-Identifier: MIT
// Untrusted input: the joined TXT record published at _dmarc.<domain>; anyone can publish anything there.
// The parser never throws and is bounded: records over max_record_length octets are refused, at most
// max_tags tags and max_uris URIs per rua/ruf list are read. Following RFC 7489 6.3, a tag whose value is
// malformed is ignored (its default applies) and unknown tags are ignored; only a missing/wrong v, or a
// missing/invalid p (or invalid sp) without a usable rua URI (6.6.3), makes the record unusable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dmarc {

enum class policy : std::uint8_t { none, quarantine, reject };
enum class alignment_mode : std::uint8_t { relaxed, strict };

const char* to_string(policy p);
const char* to_string(alignment_mode m);  // "r" / "s"

// One rua/ruf destination: the URI (percent-decoded, whitespace removed) and its optional "!size" limit.
struct report_uri {
  std::string uri;
  std::optional<std::uint64_t> max_size_bytes;  // the size suffix in bytes (k=2^10, m=2^20, g=2^30, t=2^40)
  bool operator==(const report_uri&) const = default;
};

struct record {
  policy p = policy::none;
  policy sp = policy::none;  // defaults to p
  policy np = policy::none;  // RFC 9989: defaults to sp
  bool p_given = false;      // false: p was missing/invalid and 6.6.3 made it none (a valid rua exists)
  bool sp_given = false;
  bool np_given = false;
  alignment_mode adkim = alignment_mode::relaxed;
  alignment_mode aspf = alignment_mode::relaxed;
  int pct = 100;                        // 0..100 (RFC 7489; historic in RFC 9989)
  std::vector<std::string> fo = {"0"};  // sorted, unique, each of "0" "1" "d" "s"
  std::vector<std::string> rf = {"afrf"};
  std::uint32_t ri = 86400;
  std::vector<report_uri> rua;
  std::vector<report_uri> ruf;
  char psd = 'u';  // RFC 9989: 'y', 'n' or 'u' (not given)
  bool t = false;  // RFC 9989 testing mode
};

enum class record_error : std::uint8_t {
  not_dmarc,    // does not begin with a v tag (any TXT that is not ours: SPF, verification tokens...)
  bad_version,  // v is there but the value is not exactly "DMARC1" (RFC 7489 6.4: case-sensitive literal)
  no_policy,    // p missing or invalid (or sp invalid) and no syntactically valid rua URI (6.6.3)
  too_long,
};

const char* to_string(record_error e);

struct record_result {
  std::optional<dmarc::record> value;
  record_error error = record_error::not_dmarc;  // valid when !value
};

inline constexpr std::size_t max_record_length = 8192;
inline constexpr std::size_t max_tags = 64;
inline constexpr std::size_t max_uris = 16;

record_result parse_record(std::string_view txt);

// True when txt starts like a DMARC record ("v" *WSP "=" *WSP "DMARC1" followed by end, WSP or ';'):
// discovery counts only these (RFC 7489 6.6.3 step 2); whether the rest parses is parse_record's job.
bool is_dmarc_record(std::string_view txt);

// A rua/ruf list: comma-separated URIs with optional "!size" suffixes. Malformed entries are skipped.
std::vector<report_uri> parse_uri_list(std::string_view value);

}  // namespace mailfort::dmarc
