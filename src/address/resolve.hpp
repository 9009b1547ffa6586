// address/resolve.hpp: [pure] who a recipient address of a hosted domain really is (aliases, subaddresses,
// postmaster@ and abuse@, catch-all), and which addresses a logged-in user may send as.
// SPDX-License-Identifier: MIT
// Issue 20. Everything is decided here over a snapshot of the address tables (address/address_db.hpp loads
// it from state.db): the session asks at RCPT (expanded recipients count toward the limits), the submission
// From: check and DKIM signing ask may_send_as. Addresses are compared in lower case.
//
// Resolution of a local address A, in order:
//   1. A is a user: A itself.
//   2. A is an alias: each target resolved in turn (remote targets as they are), recursively up to
//      max_depth levels; a target already on the current chain is a loop and is skipped; duplicates once.
//   3. A is local+tag with the subaddress delimiter: A itself when `local` is a user (delivery files it into
//      folder `tag` when that exists), else the alias `local@domain` expanded.
//   4. postmaster@ / abuse@ (RFC 5321 4.5.1, RFC 2142): the configured target, else the first user of the
//      domain, else the first user at all. They never go nowhere while any user exists.
//   5. The domain's catch-all target, when it has one (off by default).
//   Else unknown. An expansion that yields nothing because of a loop is `loop`; one deeper than max_depth is
//   `too_deep`; more than max_targets addresses is `too_many`.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::address {

// A snapshot of the address tables. Keys and values are lower-case local@domain (domains: lower-case names).
struct book {
  std::set<std::string> users;
  std::vector<std::string> users_in_order;  // in creation order: "the first user"
  std::set<std::string> domains;            // hosted domains from state.db (the config's are added by the caller)
  std::map<std::string, std::vector<std::string>> aliases;  // alias -> targets (local or remote)
  std::map<std::string, std::set<std::string>> senders;     // alias -> users allowed to send as it
  std::map<std::string, std::string> catch_all;             // domain -> target
};

struct options {
  std::string delimiter = "+";  // subaddress delimiter ("" = off); any one of these characters splits
  std::size_t max_depth = 8;
  std::size_t max_targets = 100;
  std::string postmaster;  // where postmaster@/abuse@ go when nothing else claims them ("" = first user)
};

enum class outcome { ok, unknown, loop, too_deep, too_many };
const char* outcome_name(outcome o);

struct resolution {
  outcome result = outcome::unknown;
  std::vector<std::string> recipients;  // final addresses: users (maybe user+tag) and remote addresses
  bool via_alias = false;               // an alias, catch-all or role default took part
  bool loop_seen = false;               // a loop was skipped on the way (logged)
};

// is_local(domain): is this domain hosted here (config domains and book.domains)?
resolution resolve(std::string_view address, const book& b, const options& o,
                   const std::function<bool(std::string_view)>& is_local);

// postmaster@ or abuse@ (any case) of any domain.
bool is_role_address(std::string_view address);

// local+tag@domain split at the first delimiter character: base "local@domain" and the tag (base "" when the
// address has no delimiter, or nothing before or after it).
struct subaddress {
  std::string base;  // user@domain
  std::string tag;
};
subaddress split_subaddress(std::string_view address, std::string_view delimiter);

// Submission: may `login` (a user, as the database spells it) use `address` as MAIL FROM or header From:?
// Its own address, its subaddresses (login-local + delimiter + tag, same domain), and the aliases (or their
// subaddresses) that list it as an allowed sender.
bool may_send_as(std::string_view login, std::string_view address, const book& b, std::string_view delimiter);

// A folder name a subaddress tag may select: [a-z0-9_-], 1..64 characters, no dots (Maildir++ nesting).
bool safe_folder_tag(std::string_view tag);

}  // namespace mailfort::address
