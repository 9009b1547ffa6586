// publish/dns_records.hpp: [pure] every DNS record a mailfort deployment should publish, and the comparison of each
// with what DNS returns (`mailfort dns-records [--check]`, issue 19).
// SPDX-License-Identifier: MIT
// build_records() turns facts the CLI gathered (config, DKIM public keys, the certificate's TLSA, the MTA-STS policy
// id) into records; nothing here reads files or the network. compare() judges one DNS answer (untrusted: any RDATA
// a zone holds, decoded with the bounded dns/records.hpp decoders and the SRV decoder below) against one wanted
// record: ok, missing (no record of that kind), stale (records of that kind, none what we want) or error (the
// lookup failed: servfail, timeout, bogus).
// What counts as "the same" is per kind, so an admin's legitimate choices are not called stale: DMARC and TLS-RPT
// need our report mailbox among their rua addresses (any p= on the ladder passes); SPF must equal ours (spaces and
// case aside); DKIM compares the p= key; MX, TLSA, SRV, CNAME, A/AAAA and PTR need one record equal to ours.
#pragma once
#include "dns/source.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::publish {

struct dkim_selector {
  std::string domain;
  std::string selector;
  std::string txt;  // "v=DKIM1; k=rsa; p=..." (dkim::dns_txt_record)
};

struct srv_service {
  std::string service;  // "_submission._tcp", "_imaps._tcp" (RFC 6186, RFC 8314 for _submissions)
  int port = 0;         // the listener's port
};

struct inputs {
  std::string hostname;              // the MX and HELO name
  std::vector<std::string> domains;  // local domains to print records for
  std::vector<dkim_selector> dkim;
  std::string tlsa;                      // "3 1 1 <hex>" of the current certificate key; empty: unknown
  std::string tlsa_next;                 // the next key's, during a key roll; empty: none
  std::string sts_id;                    // MTA-STS policy id; empty: policy hosting off (no _mta-sts records)
  std::string smarthost;                 // host of relay.smarthost, empty: direct delivery
  std::string report_mailbox;            // DMARC rua/ruf and TLS-RPT rua; empty: postmaster@<domain>
  std::string public_ipv4, public_ipv6;  // for A/AAAA of the hostname and the PTR; empty: unknown
  std::vector<srv_service> services;     // offered client services
  std::uint32_t ttl = 3600;
};

struct record {
  std::string name;          // absolute, lower case, without the trailing dot
  std::string type;          // "MX", "TXT", "TLSA", "SRV", "CNAME", "A", "AAAA", "PTR"
  std::string value;         // presentation form; TXT as the joined text (unquoted), names with a trailing dot
  std::string kind;          // "mx", "spf", "dkim", "dmarc", "mta-sts", "mta-sts-host", "tls-rpt", "tlsa", "srv", "a",
                             // "aaaa", "ptr"
  std::string comment;       // one line of advice, printed above the record
  bool at_provider = false;  // set by the hosting provider, not in the domain's zone (PTR)
  std::uint32_t ttl = 3600;
};

// Records for every domain in in.domains (and the hostname's TLSA, A/AAAA and PTR once).
std::vector<record> build_records(const inputs& in);

// One zone-file line: "name. TTL IN TYPE value" (TXT quoted and split into <= 255-byte strings).
std::string zone_line(const record& r);
// The whole listing: each record with its comment above it; PTR lines commented out (not part of a zone).
std::string zone_text(const std::vector<record>& records);

enum class check_state { ok, missing, stale, error };
const char* to_string(check_state s);

struct check_result {
  check_state state = check_state::error;
  std::vector<std::string> found;  // the answer's records in presentation form
  bool secure = false;             // DNSSEC-validated answer
  std::string detail;              // why stale/error, or a note (a TLSA in an unsigned zone)
};

// Judges one answer for (r.name, rrtype of r.type).
check_result compare(const record& want, const dns::lookup_result& answer);

// The RR type number of a record type name we publish (SRV = 33 included).
int rrtype_of(std::string_view type);

struct srv_record {
  std::uint16_t priority = 0, weight = 0, port = 0;
  std::string target;  // presentation form without the trailing dot; "." when the service is not offered
};
// RFC 2782 SRV RDATA; nullopt when malformed.
std::optional<srv_record> parse_srv(std::string_view rdata);

// "4.3.2.1.in-addr.arpa" / nibble form for IPv6; nullopt for a string that is not an address.
std::optional<std::string> reverse_name(std::string_view ip);

// The records (and check results, when given: same order) as JSON.
nlohmann::json to_json(const std::vector<record>& records, const std::vector<check_result>* results = nullptr);

}  // namespace mailfort::publish
