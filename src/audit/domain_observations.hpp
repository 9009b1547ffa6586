// audit/domain_observations.hpp: [pure] what `audit domain` found in DNS (and at each MX), and the checks over it.
// SPDX-License-Identifier: MIT
// The driver (audit/domain_audit.cpp) does the lookups and probes; every verdict is a pure function of these
// structs (audit/checks/<family>.cpp), unit-tested from canned observations. DNS text kept here is raw.
#pragma once
#include "audit/finding.hpp"
#include "audit/smtp_observations.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailfort::audit {

struct address_obs {
  std::string ip;
  std::vector<std::string> ptr_names;  // PTR answers
  bool ptr_lookup_failed = false;      // SERVFAIL/timeout (not "no PTR")
  bool forward_confirmed = false;      // some PTR name resolves back to ip
  std::vector<std::string> listed_in;  // DNSBL zones with a listing ("zone (127.0.0.2)")
};

struct mx_obs {
  std::string host;
  std::uint16_t preference = 0;
  bool address_lookup_failed = false;
  std::vector<address_obs> addresses;
  std::optional<smtp_observations> smtp;  // STARTTLS + certificate probe of the first address
  std::string smtp_error;
  // DANE
  enum class tlsa_state : std::uint8_t { none, insecure, secure, lookup_failed } tlsa = tlsa_state::none;
  std::size_t tlsa_records = 0;
  std::optional<bool> dane_match;  // set when a secure TLSA RRset was compared to the served chain
  std::string dane_detail;
};

struct spf_obs {
  enum class state : std::uint8_t { none, multiple, syntax_error, ok, lookup_failed } st = state::none;
  std::string record;
  std::string error;
  int dns_terms = 0;       // include/a/mx/ptr/exists/redirect, recursively (RFC 7208 4.6.4 limit 10)
  int void_lookups = 0;    // lookups answered NXDOMAIN/NODATA (4.6.4 limit 2)
  char all_qualifier = 0;  // '+', '-', '~', '?', or 0 when there is no "all" (after redirects)
  bool has_redirect = false;
  bool uses_ptr = false;
  std::vector<std::string> problems;  // nested include errors (missing record, loop, syntax)
};

struct dkim_obs {
  std::string selector;
  enum class state : std::uint8_t { missing, invalid, revoked, ok, lookup_failed } st = state::missing;
  std::string error;
  std::string key_type;  // "rsa" / "ed25519"
  int key_bits = 0;
  bool testing = false;
};

struct dmarc_obs {
  enum class state : std::uint8_t { missing, invalid, ok, lookup_failed } st = state::missing;
  std::string record;
  std::string error;
  std::string p, sp;
  int pct = 100;
  bool has_rua = false;
  // Where the record was found: _dmarc.<domain>, or (none there) _dmarc.<organisational domain> per the
  // Public Suffix List (RFC 7489 6.6.3), whose sp= then applies to the domain (inherited).
  std::string policy_domain;
  std::string org_domain;  // the domain's organisational domain (PSL), when it differs from the domain
  bool inherited = false;
};

struct mta_sts_obs {
  enum class state : std::uint8_t {
    none,
    record_invalid,
    fetch_failed,
    policy_invalid,
    ok,
    lookup_failed
  } st = state::none;
  std::string record;
  std::string detail;  // fetch error / HTTP status / why invalid
  std::string mode;    // enforce / testing / none
  std::vector<std::string> patterns;
  std::uint32_t max_age = 0;
  std::vector<std::string> unmatched_mx;  // real MX hosts no pattern matches
};

struct tls_rpt_obs {
  enum class state : std::uint8_t { none, invalid, ok, lookup_failed } st = state::none;
  std::string record;
};

struct domain_observations {
  std::string domain;
  enum class mx_state : std::uint8_t { ok, null_mx, implicit, no_domain, lookup_failed } mx = mx_state::ok;
  std::vector<mx_obs> hosts;
  spf_obs spf;
  std::vector<dkim_obs> dkim;
  dmarc_obs dmarc;
  mta_sts_obs mta_sts;
  tls_rpt_obs tls_rpt;
};

struct domain_check_options {
  std::int64_t now = 0;
};

void check_mx_hosts(const domain_observations& o, const domain_check_options& opt,
                    std::vector<finding>& out);                               // checks/mx.cpp
void check_spf(const domain_observations& o, std::vector<finding>& out);      // checks/spf.cpp
void check_dkim(const domain_observations& o, std::vector<finding>& out);     // checks/dkim.cpp
void check_dmarc(const domain_observations& o, std::vector<finding>& out);    // checks/dmarc.cpp
void check_mta_sts(const domain_observations& o, std::vector<finding>& out);  // checks/mta_sts.cpp
void check_tls_rpt(const domain_observations& o, std::vector<finding>& out);  // checks/mta_sts.cpp
void check_dane(const domain_observations& o, std::vector<finding>& out);     // checks/dane.cpp
void judge_domain(const domain_observations& o, const domain_check_options& opt, std::vector<finding>& out);

}  // namespace mailfort::audit
