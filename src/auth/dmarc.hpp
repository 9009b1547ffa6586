// auth/dmarc.hpp: DMARC evaluation (RFC 7489, with RFC 9989's DNS tree walk, np, psd and t): the From
// domain, policy discovery, identifier alignment and the policy to apply.
// SPDX-License-Identifier: MIT
// from_domain() and organizational_domain() are pure; evaluate() does DNS only through dns::source.
// The caller supplies the SPF and DKIM outcomes as plain values, so this module does not depend on the
// SPF or DKIM code. Untrusted input: the message's From field and every DNS answer.
#pragma once
#include "auth/auth_results.hpp"
#include "auth/dmarc_record.hpp"
#include "auth/message.hpp"
#include "dns/source.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dmarc {

// ---- RFC5322.From -------------------------------------------------------------------------------------

enum class from_error : std::uint8_t {
  no_from,             // no From field at all
  multiple_fields,     // two or more From fields
  multiple_mailboxes,  // one field, two or more mailboxes (RFC 5322 allows it with Sender:, DMARC cannot)
  no_mailbox,          // a field with no mailbox in it (empty, or an empty group "x:;")
  unparseable,         // syntax we cannot read (unbalanced quotes/comments/brackets, literal or bad domain)
};
const char* to_string(from_error e);

struct from_result {
  std::optional<std::string> domain;       // the single author domain, lower case, no trailing dot
  from_error error = from_error::no_from;  // valid when !domain
  // Every well-formed domain seen (lower case, unique, at most max_from_domains), also when there is an
  // error: with two From fields or mailboxes the strictest of their policies can still be applied.
  std::vector<std::string> domains;
};

inline constexpr std::size_t max_from_length = 8192;  // unfolded field value; longer is unparseable
inline constexpr std::size_t max_from_domains = 4;
inline constexpr std::size_t max_from_mailboxes = 100;

// The From domain of a parsed message (RFC 7489 6.6.1). Never throws; bounded.
from_result from_domain(const auth::parsed_message& msg);
// The same for one field value (after the colon; folding allowed). For fuzzing and tests.
from_result from_field_value(std::string_view value);

// Every mailbox of every From field of a parsed message, as "local@domain" (the local part as written, the
// domain lower-cased without a trailing dot), for the submission send-as check (smtp/send_as.hpp). nullopt
// when a From field cannot be read or a mailbox has no usable domain (the caller refuses the message); an
// empty list when there is no From field. Never throws; bounded like from_domain.
std::optional<std::vector<std::string>> from_addresses(const auth::parsed_message& msg);

// ---- Organizational domain ----------------------------------------------------------------------------

// The registrable domain per the Public Suffix List built into libpsl (RFC 7489 3.2), lower case. A name
// that is itself a public suffix (or unknown to the list and one label long) is returned as it is.
// Input is an A-label name; a trailing dot is ignored. nullopt for an empty or over-long name.
std::optional<std::string> organizational_domain(std::string_view domain);

// The RFC 9989 4.10 DNS tree walk names for a domain: the domain, then (if it has more than 8 labels) the
// rightmost 7 labels, then one label fewer each time down to the TLD: at most 8 names.
std::vector<std::string> tree_walk_names(std::string_view domain);

// ---- Evaluation ---------------------------------------------------------------------------------------

// Upper bound on the _dmarc TXT queries of one evaluation (policy walk + organizational-domain walks).
inline constexpr std::size_t max_dmarc_queries = 40;

enum class result_kind : std::uint8_t { none, pass, fail, temperror, permerror };
const char* to_string(result_kind r);

// How organizational domains (and the fallback policy record) are found.
enum class discovery : std::uint8_t {
  tree_walk,  // RFC 9989 4.10: DNS tree walk; honours psd=y/n. Default: what the conformance cases expect.
  psl,        // RFC 7489 3.2 / 6.6.3: Public Suffix List via libpsl; one fallback query at the org domain.
};

struct spf_outcome {
  std::string result;  // "pass", "fail", "softfail", ... : only "pass" can align
  std::string domain;  // the MAIL FROM domain, or the HELO name when MAIL FROM was empty
};

struct input {
  from_result from;  // from_domain(msg), or {.domain = "example.org"}
  spf_outcome spf;
  std::vector<std::string> dkim_passes;  // d= of each signature that verified (pass); at most 32 are used
  std::optional<int> pct_roll;           // 0..99 for tests; nullopt: drawn at random
  discovery mode = discovery::tree_walk;
};

struct result {
  result_kind result = result_kind::none;
  // What the receiver should do: none unless result is fail (or the From is unusable, see evaluate).
  policy applied = policy::none;
  // The policy the domain owner asks for this author domain (p, sp or np; lowered one step by t=y);
  // nullopt when no usable record was found.
  std::optional<policy> requested;
  std::optional<policy> published;  // p, sp or np as written, before t=y
  std::string policy_domain;        // where the record was found ("" when none)
  std::string author_domain;        // the From domain ("" when the From was unusable)
  std::string org_domain;           // the author's organizational domain (when it was needed)
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string dkim_aligned_domain;  // the first aligned d= (for Authentication-Results)
  std::optional<dmarc::record> rec;
  bool sampled_out = false;          // pct excluded this failing message: applied is one step lower
  std::string reason;                // short text for logs and Authentication-Results comments
  std::vector<std::string> queries;  // every _dmarc TXT name queried, in order (tests, logs)
};

// Evaluates DMARC. Never throws for bad input or DNS trouble.
// - DNS temporary failure (servfail/timeout/bogus) during discovery -> temperror.
// - No usable record -> none. More than one v=DMARC1 record at the author domain -> none (no fallback).
// - From unusable (none, several fields or mailboxes, unparseable): never pass. If any From domain found
//   publishes a policy -> fail with the strictest requested policy applied; otherwise permerror with
//   applied = reject (a message DMARC cannot evaluate is refused: CVE-2019-16378 class).
boost::asio::awaitable<result> evaluate(dns::source& dns, const input& in);

// Whether a temporary DNS failure leaves sender authentication undecided (issue 15 item 0), so the message
// is deferred (451 4.7.5, auth.temperror = "defer") rather than judged: DMARC itself ended in temperror, or it
// did not pass while SPF or a DKIM signature ended in temperror (the missing result might have passed, or
// the message might be a forgery p=reject would refuse). Never for a DMARC pass, nor for a permerror (an
// unusable From: is refused whatever DNS says). `dmarc` is nullopt when DMARC was not evaluated.
bool temperror_undecided(std::optional<result_kind> dmarc, bool spf_temperror, bool dkim_temperror);

// ---- Policy records and report destinations, for the aggregate-report sender ---------------------------

// One answer to a _dmarc.<domain> TXT query: its v=DMARC1 records (at most 9: "several" is all that matters),
// or temp_fail for servfail, timeout or a DNSSEC-bogus answer (the caller tries again later).
struct policy_answer {
  bool temp_fail = false;
  std::vector<std::string> dmarc;
};
policy_answer policy_answer_of(const dns::lookup_result& r);
// The usable record of an answer: exactly one v=DMARC1 record, and it parses (RFC 7489 6.6.3).
std::optional<record> single_record(const policy_answer& a);

// Where one mailto: rua/ruf URI sends reports (RFC 7489 7.1).
struct report_destination {
  std::string address;      // local@domain: printable ASCII, one '@', none of <>()[],;:"\ (an envelope address)
  std::string domain;       // its domain, lower case
  std::string verify_name;  // "<policy-domain>._report._dmarc.<domain>" when the domain is outside the policy
                            // domain's organizational domain (PSL); "" when no check is needed
  std::optional<std::uint64_t> max_size_bytes;  // the "!size" limit
};
// nullopt: not a mailto: URI, or its address is not one we would put in an envelope.
std::optional<report_destination> report_destination_of(std::string_view policy_domain, const report_uri& u);
// Whether the answer to a verify_name query authorises the destination: ok, not DNSSEC-bogus, and one of its
// TXT records starts like a DMARC record.
bool report_destination_authorized(const dns::lookup_result& r);

// RFC 7489 7.1: the rua/ruf URIs a report may go to. Only mailto: is kept. An address whose domain has
// the policy domain's organizational domain (PSL) needs no check; any other needs a v=DMARC1 TXT record at
// <policy-domain>._report._dmarc.<address-domain> (DNS failure: not usable, the next report retries).
boost::asio::awaitable<std::vector<report_uri>> usable_report_uris(dns::source& dns, std::string policy_domain,
                                                                   std::vector<report_uri> uris);

// The dmarc= entry of our Authentication-Results: "dmarc=fail (p=reject dis=reject) header.from=a.example"
// (header.from is the author domain, not the policy domain; omitted when the From was unusable, which
// puts the reason in reason="...").
auth::ar_entry ar_entry_for(const result& r);

}  // namespace mailfort::dmarc
