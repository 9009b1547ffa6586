// auth/dmarc.cpp: DMARC evaluation: From domain extraction, policy discovery, alignment, disposition.
// SPDX-License-Identifier: MIT
#include "auth/dmarc.hpp"

#include "common/ascii.hpp"
#include "dns/records.hpp"

#include <libpsl.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// for a class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::dmarc {

namespace {

// ---- From ---------------------------------------------------------------------------------------------

using common::is_space_or_eol;
using common::trim_space;

// Skips a comment starting at v[i] == '('; i ends after the matching ')'. Nesting is bounded so a field
// of '(' cannot recurse or loop long. false when unterminated or too deep.
bool skip_comment(std::string_view v, std::size_t& i) {
  int depth = 0;
  for (; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '\\') {
      ++i;
    } else if (c == '(') {
      if (++depth > 32) return false;
    } else if (c == ')') {
      if (--depth == 0) {
        ++i;
        return true;
      }
    }
  }
  return false;
}

// Position of the last `c` outside double quotes (a backslash inside quotes escapes the next character), or npos.
std::size_t last_unquoted(std::string_view v, char c) {
  std::size_t pos = std::string_view::npos;
  bool q = false;
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (v[k] == '\\' && q)
      ++k;
    else if (v[k] == '"')
      q = !q;
    else if (v[k] == c && !q)
      pos = k;
  }
  return pos;
}

// Copies a quoted string starting at v[i] == '"' (quotes and escapes kept) into out.
bool copy_quoted(std::string_view v, std::size_t& i, std::string& out) {
  out.push_back('"');
  for (++i; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '\\') {
      if (i + 1 >= v.size()) return false;
      out.push_back(c);
      out.push_back(v[++i]);
    } else if (c == '"') {
      out.push_back(c);
      ++i;
      return true;
    } else {
      out.push_back(c);
    }
  }
  return false;
}

// Splits an address-list (RFC 5322 3.4, with the obsolete forms of 4.4 that matter: empty list elements,
// routes in angle brackets) into the addr-spec text of each mailbox. Display names, comments and group
// names are dropped. false on syntax we cannot read.
bool split_addresses(std::string_view v, std::vector<std::string>& out) {
  std::string cur;    // text of the current element outside comments and angle brackets
  std::string angle;  // inside <...>
  bool has_angle = false, in_angle = false, in_group = false;
  auto finish = [&]() -> bool {
    std::string addr;
    if (has_angle) {
      std::string_view a = angle;
      // obs-route "<@a,@b:user@d>": the mailbox is after the last ':' outside quotes.
      const std::size_t colon = last_unquoted(a, ':');
      if (colon != std::string_view::npos) a.remove_prefix(colon + 1);
      addr = std::string(trim_space(a));
      if (addr.empty()) return false;  // "<>" in From: no author at all
    } else {
      addr = std::string(trim_space(cur));
    }
    if (!addr.empty()) {
      if (out.size() >= max_from_mailboxes) return false;
      out.push_back(std::move(addr));
    }
    cur.clear();
    angle.clear();
    has_angle = false;
    return true;
  };
  for (std::size_t i = 0; i < v.size();) {
    const char c = v[i];
    std::string& buf = in_angle ? angle : cur;
    if (c == '(') {
      if (!skip_comment(v, i)) return false;
      continue;
    }
    if (c == '"') {
      if (!copy_quoted(v, i, buf)) return false;
      continue;
    }
    if (c == '[') {  // domain literal: kept whole (the domain check refuses it)
      const auto close = v.find(']', i);
      if (close == std::string_view::npos) return false;
      buf.append(v.substr(i, close + 1 - i));
      i = close + 1;
      continue;
    }
    ++i;
    if (in_angle) {
      if (c == '>')
        in_angle = false;
      else if (c == '<')
        return false;
      else
        angle.push_back(c);
      continue;
    }
    switch (c) {
      case '<':
        if (has_angle) return false;
        has_angle = in_angle = true;
        cur.clear();  // the display name
        break;
      case '>':
        return false;
      case ':':
        if (in_group || has_angle) return false;
        in_group = true;
        cur.clear();  // the group's display name
        break;
      case ';':
        if (!in_group) return false;
        if (!finish()) return false;
        in_group = false;
        break;
      case ',':
        if (!finish()) return false;
        break;
      default:
        if (has_angle) {
          if (!is_space_or_eol(c)) return false;  // text after "<addr>" that is not a separator
        } else {
          cur.push_back(c);
        }
    }
  }
  if (in_angle) return false;
  return finish();
}

// The domain of an addr-spec: after the last '@' outside quotes, whitespace removed, checked to be a
// hostname (LDH labels, '_' tolerated), lower-cased, trailing dot dropped.
std::optional<std::string> addr_domain(std::string_view addr) {
  const std::size_t at = last_unquoted(addr, '@');
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  std::string d;
  for (char c : addr.substr(at + 1))
    if (!is_space_or_eol(c)) d.push_back(common::ascii_lower(c));
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.size() > 253) return std::nullopt;
  std::size_t label = 0;
  char prev = '.';
  for (char c : d) {
    if (c == '.') {
      if (label == 0 || prev == '-') return std::nullopt;
      label = 0;
    } else {
      if (!common::is_alnum(c) && c != '-' && c != '_') return std::nullopt;  // also refuses literals, UTF-8
      if ((c == '-' && label == 0) || ++label > 63) return std::nullopt;
    }
    prev = c;
  }
  if (label == 0 || prev == '-') return std::nullopt;
  return d;
}

void add_domain(std::vector<std::string>& ds, std::string d) {
  if (ds.size() < max_from_domains && std::find(ds.begin(), ds.end(), d) == ds.end()) ds.push_back(std::move(d));
}

// Parses one From value: the addresses and the domains that could be read.
struct field_parse {
  bool ok = false;
  std::size_t mailboxes = 0;
  std::vector<std::string> domains;
  bool bad_domain = false;
};

field_parse parse_from_value(std::string_view raw_value) {
  field_parse fp;
  const std::string v = auth::unfold(raw_value);
  if (v.size() > max_from_length) return fp;
  std::vector<std::string> addrs;
  fp.ok = split_addresses(v, addrs);
  fp.mailboxes = addrs.size();
  for (const auto& a : addrs) {
    if (auto d = addr_domain(a))
      add_domain(fp.domains, std::move(*d));
    else
      fp.bad_domain = true;
  }
  return fp;
}

}  // namespace

const char* to_string(from_error e) {
  switch (e) {
    case from_error::no_from:
      return "no From field";
    case from_error::multiple_fields:
      return "multiple From fields";
    case from_error::multiple_mailboxes:
      return "multiple mailboxes in From";
    case from_error::no_mailbox:
      return "no mailbox in From";
    case from_error::unparseable:
      return "unparseable From";
  }
  return "unparseable From";
}

from_result from_field_value(std::string_view value) {
  from_result r;
  auto fp = parse_from_value(value);
  r.domains = fp.domains;
  if (!fp.ok) {
    r.error = from_error::unparseable;
  } else if (fp.mailboxes == 0) {
    r.error = from_error::no_mailbox;
  } else if (fp.mailboxes > 1) {
    r.error = from_error::multiple_mailboxes;
  } else if (fp.bad_domain || fp.domains.size() != 1) {
    r.error = from_error::unparseable;
  } else {
    r.domain = fp.domains.front();
  }
  return r;
}

from_result from_domain(const auth::parsed_message& msg) {
  from_result r;
  std::size_t count = 0;
  for (const auto& f : msg.fields) {
    if (!auth::name_equals(f.name, "From")) continue;
    ++count;
    auto one = from_field_value(f.value);
    if (count == 1) {
      r = std::move(one);
    } else {
      for (auto& d : one.domains) add_domain(r.domains, std::move(d));
    }
  }
  if (count == 0) {
    r.error = from_error::no_from;
  } else if (count > 1) {
    r.domain.reset();
    r.error = from_error::multiple_fields;
  }
  return r;
}

std::optional<std::vector<std::string>> from_addresses(const auth::parsed_message& msg) {
  std::vector<std::string> out;
  std::size_t fields = 0;
  for (const auto& f : msg.fields) {
    if (!auth::name_equals(f.name, "From")) continue;
    if (++fields > 8) return std::nullopt;
    const std::string v = auth::unfold(f.value);
    if (v.size() > max_from_length) return std::nullopt;
    std::vector<std::string> addrs;
    if (!split_addresses(v, addrs) || addrs.empty()) return std::nullopt;
    for (const auto& a : addrs) {
      auto d = addr_domain(a);
      if (!d) return std::nullopt;
      // The local part: everything before the last '@' outside quotes (addr_domain found it), whitespace
      // outside quotes removed (folding may leave some).
      const std::size_t at = last_unquoted(a, '@');
      std::string local;
      bool q = false;
      for (std::size_t k = 0; k < at && k < a.size(); ++k) {
        if (a[k] == '"') q = !q;
        if (!q && is_space_or_eol(a[k])) continue;
        local.push_back(a[k]);
      }
      if (local.empty()) return std::nullopt;
      out.push_back(local + "@" + *d);
      if (out.size() > max_from_mailboxes) return std::nullopt;
    }
  }
  return out;
}

// ---- Organizational domain ----------------------------------------------------------------------------

std::optional<std::string> organizational_domain(std::string_view domain) {
  std::string d = common::to_lower(domain);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.size() > 253 || d.find('\0') != std::string::npos) return std::nullopt;
  const char* reg = psl_registrable_domain(psl_builtin(), d.c_str());
  if (reg == nullptr) return d;  // a public suffix itself (or a bare TLD): its own organizational domain
  return std::string(reg);
}

std::vector<std::string> tree_walk_names(std::string_view domain) {
  std::vector<std::size_t> starts{0};
  for (std::size_t i = 0; i < domain.size(); ++i)
    if (domain[i] == '.') starts.push_back(i + 1);
  std::vector<std::string> out;
  if (domain.empty()) return out;
  out.emplace_back(domain);
  const std::size_t n = starts.size();
  for (std::size_t k = std::min<std::size_t>(n - 1, 7); k >= 1; --k) out.emplace_back(domain.substr(starts[n - k]));
  return out;
}

// ---- Evaluation ---------------------------------------------------------------------------------------

const char* to_string(result_kind r) {
  switch (r) {
    case result_kind::none:
      return "none";
    case result_kind::pass:
      return "pass";
    case result_kind::fail:
      return "fail";
    case result_kind::temperror:
      return "temperror";
    case result_kind::permerror:
      return "permerror";
  }
  return "none";
}

bool temperror_undecided(std::optional<result_kind> dmarc, bool spf_temperror, bool dkim_temperror) {
  if (dmarc && (*dmarc == result_kind::pass || *dmarc == result_kind::permerror)) return false;
  if (dmarc && *dmarc == result_kind::temperror) return true;
  return spf_temperror || dkim_temperror;
}

policy_answer policy_answer_of(const dns::lookup_result& r) {
  policy_answer a;
  if (r.sec == dns::dnssec::bogus || r.st == dns::status::servfail || r.st == dns::status::timeout) {
    a.temp_fail = true;
  } else if (r.st == dns::status::ok) {
    for (const auto& rd : r.records) {
      auto txt = dns::parse_txt(rd);
      if (txt && is_dmarc_record(*txt)) a.dmarc.push_back(std::move(*txt));
      if (a.dmarc.size() > 8) break;  // "multiple" is all we need to know
    }
  }
  return a;
}

std::optional<record> single_record(const policy_answer& a) {
  if (a.dmarc.size() != 1) return std::nullopt;
  return parse_record(a.dmarc.front()).value;
}

namespace {

using txt_answer = policy_answer;

// One evaluation's DNS state: answers are cached so the policy walk and the organizational-domain walks
// never ask the same name twice (RFC 9989 caps the walk at 8 queries per name).
struct walker {
  dns::source& dns;
  std::vector<std::string>& queries;
  std::map<std::string, txt_answer> cache;
};

boost::asio::awaitable<txt_answer> query(walker& w, std::string domain) {
  if (auto it = w.cache.find(domain); it != w.cache.end()) co_return it->second;
  std::string name = "_dmarc." + domain;
  if (name.size() > 253) co_return txt_answer{};  // cannot exist in the DNS: no record, not an error
  w.queries.push_back(name);
  const auto r = co_await w.dns.lookup(std::move(name), dns::rr_type::txt);
  txt_answer a = policy_answer_of(r);
  w.cache.emplace(domain, a);
  co_return a;
}

std::size_t label_count(std::string_view d) {
  return static_cast<std::size_t>(std::count(d.begin(), d.end(), '.')) + 1;
}

// The rightmost `n` labels of d.
std::string last_labels(std::string_view d, std::size_t n) {
  std::size_t total = label_count(d);
  std::size_t pos = 0;
  for (std::size_t skip = total > n ? total - n : 0; skip > 0; --skip) pos = d.find('.', pos) + 1;
  return std::string(d.substr(pos));
}

struct org_result {
  bool temp_fail = false;
  std::string domain;
};

// The organizational domain of `domain`. RFC 9989 4.10.2: walk up from `domain`; psd=n marks the organizational domain,
// psd=y (above the start) marks a public suffix domain so the organizational domain is one label below it; otherwise
// the name with the fewest labels that publishes a record; failing all that, the domain itself.
boost::asio::awaitable<org_result> org_of(walker& w, std::string domain, discovery mode) {
  org_result out;
  if (mode == discovery::psl) {  // RFC 7489 3.2: no DNS, the Public Suffix List decides
    out.domain = organizational_domain(domain).value_or(domain);
    co_return out;
  }
  std::string candidate;
  const auto names = tree_walk_names(domain);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto a = co_await query(w, names[i]);
    if (a.temp_fail) {
      out.temp_fail = true;
      co_return out;
    }
    const auto rec = single_record(a);
    if (!rec) continue;
    if (rec->psd == 'n') {
      out.domain = names[i];
      co_return out;
    }
    if (rec->psd == 'y' && i > 0) {
      out.domain = last_labels(domain, label_count(names[i]) + 1);
      co_return out;
    }
    candidate = names[i];
  }
  out.domain = candidate.empty() ? domain : candidate;
  co_return out;
}

enum class found_kind { found, none, temperror, unusable };
struct policy_found {
  found_kind kind = found_kind::none;
  std::string domain;
  std::optional<record> rec;
  std::string reason;
};

// Policy discovery (RFC 7489 6.6.3; RFC 9989 4.10.1 when walking).
boost::asio::awaitable<policy_found> discover(walker& w, const std::string& author, discovery mode) {
  policy_found pf;
  std::vector<std::string> names;
  if (mode == discovery::tree_walk) {
    names = tree_walk_names(author);
  } else {
    names.push_back(author);
    const auto org = organizational_domain(author).value_or(author);
    if (org != author) names.push_back(org);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto a = co_await query(w, names[i]);
    if (a.temp_fail) {
      pf.kind = found_kind::temperror;
      pf.reason = "DNS failure at _dmarc." + names[i];
      co_return pf;
    }
    if (a.dmarc.empty()) continue;
    if (a.dmarc.size() > 1) {
      // Several records: all are discarded. At the author domain this ends discovery (RFC 9989 4.10.1
      // step 2: the author's intent is unknown, so no parent policy is inherited); higher up, walk on.
      if (i == 0) {
        pf.reason = "multiple DMARC records at _dmarc." + names[i];
        co_return pf;
      }
      continue;
    }
    auto parsed = parse_record(a.dmarc.front());
    if (!parsed.value) {
      pf.kind = found_kind::unusable;
      pf.domain = names[i];
      pf.reason = std::string("unusable record at _dmarc.") + names[i] + ": " + to_string(parsed.error);
      co_return pf;
    }
    pf.kind = found_kind::found;
    pf.domain = names[i];
    pf.rec = std::move(parsed.value);
    co_return pf;
  }
  pf.reason = "no DMARC record";
  co_return pf;
}

// RFC 9989 4.7 np: the author domain does not exist when A, AAAA and MX all come back without records.
// A DNS failure counts as existing: the sp policy applies, never a weaker guess.
boost::asio::awaitable<bool> domain_exists(dns::source& dns, const std::string& d) {
  for (int t : {dns::rr_type::a, dns::rr_type::aaaa, dns::rr_type::mx}) {
    const auto r = co_await dns.lookup(d, t);
    if (r.st == dns::status::ok && !r.records.empty()) co_return true;
    if (r.st == dns::status::servfail || r.st == dns::status::timeout) co_return true;
  }
  co_return false;
}

policy one_step_lower(policy p) {
  if (p == policy::reject) return policy::quarantine;
  return policy::none;
}

int roll_pct(const input& in) {
  if (in.pct_roll) return std::clamp(*in.pct_roll, 0, 99);
  thread_local std::mt19937 gen{std::random_device{}()};
  return std::uniform_int_distribution<int>(0, 99)(gen);
}

// The relevant-TLD quick check: identifiers under different TLDs can never share an organizational
// domain, so no DNS is spent on them (a hostile signer can list many d= domains).
bool same_tld(std::string_view a, std::string_view b) {
  return a.substr(a.rfind('.') + 1) == b.substr(b.rfind('.') + 1);
}

struct align_outcome {
  bool aligned = false;
  bool temp_fail = false;
};

boost::asio::awaitable<align_outcome> aligned(walker& w, const std::string& author, const std::string& author_org,
                                              std::string id, alignment_mode mode, discovery disc) {
  align_outcome out;
  id = common::to_lower(id);
  while (!id.empty() && id.back() == '.') id.pop_back();
  if (id.empty() || id.size() > 253) co_return out;
  if (id == author) {
    out.aligned = true;
    co_return out;
  }
  if (mode == alignment_mode::strict || !same_tld(id, author)) co_return out;
  // Bounded DNS: an identifier whose whole walk would not fit in the budget is not aligned (never a
  // partial walk, which could miss a psd=y record and find a too-high organizational domain).
  if (disc == discovery::tree_walk && w.queries.size() + tree_walk_names(id).size() > max_dmarc_queries) co_return out;
  const auto org = co_await org_of(w, id, disc);
  out.temp_fail = org.temp_fail;
  out.aligned = !org.temp_fail && org.domain == author_org;
  co_return out;
}

// Evaluates one usable author domain.
boost::asio::awaitable<result> evaluate_domain(dns::source& dns, const input& in, const std::string& author) {
  result res;
  res.author_domain = author;
  walker w{dns, res.queries, {}};
  auto pf = co_await discover(w, author, in.mode);
  res.reason = pf.reason;
  if (pf.kind == found_kind::temperror) {
    res.result = result_kind::temperror;
    co_return res;
  }
  if (pf.kind != found_kind::found) {
    res.result = result_kind::none;
    co_return res;
  }
  res.policy_domain = pf.domain;
  res.rec = pf.rec;
  const record& rec = *pf.rec;

  // The author's organizational domain: needed for relaxed alignment and reported in logs. Asked even
  // when no identifier needs it, so the DNS a receiver sends does not depend on the sender's signatures.
  const auto author_org = co_await org_of(w, author, in.mode);
  if (author_org.temp_fail) {
    res.result = result_kind::temperror;
    res.reason = "DNS failure while finding the organizational domain of " + author;
    co_return res;
  }
  res.org_domain = author_org.domain;

  // Which policy: the author domain's own record -> p; inherited -> sp, or np for a non-existent name.
  policy published = rec.p;
  if (pf.domain != author) {
    published = rec.sp;
    if (rec.np != rec.sp) {
      // (co_await kept out of && : GCC 12 mis-handles co_await in short-circuit and ?: operands.)
      const bool exists = co_await domain_exists(dns, author);
      if (!exists) published = rec.np;
    }
  }
  res.published = published;
  res.requested = rec.t ? one_step_lower(published) : published;

  bool temp = false;
  if (common::iequals(in.spf.result, "pass")) {
    const auto a = co_await aligned(w, author, res.org_domain, in.spf.domain, rec.aspf, in.mode);
    res.spf_aligned = a.aligned;
    temp = temp || a.temp_fail;
  }
  std::size_t n = 0;
  for (const auto& d : in.dkim_passes) {
    if (++n > 32) break;
    const auto a = co_await aligned(w, author, res.org_domain, d, rec.adkim, in.mode);
    temp = temp || a.temp_fail;
    if (a.aligned) {
      res.dkim_aligned = true;
      res.dkim_aligned_domain = common::to_lower(d);
      break;
    }
  }
  if (res.spf_aligned || res.dkim_aligned) {
    res.result = result_kind::pass;
    res.applied = policy::none;
    res.reason = res.dkim_aligned ? "DKIM aligned" : "SPF aligned";
    co_return res;
  }
  if (temp) {
    res.result = result_kind::temperror;
    res.reason = "DNS failure while checking alignment";
    co_return res;
  }
  res.result = result_kind::fail;
  res.reason = "no aligned SPF or DKIM pass";
  res.applied = *res.requested;
  // RFC 7489 6.6.4 pct: a message outside the sample gets the next weaker policy.
  if (rec.pct < 100 && res.applied != policy::none && roll_pct(in) >= rec.pct) {
    res.applied = one_step_lower(res.applied);
    res.sampled_out = true;
  }
  co_return res;
}

}  // namespace

boost::asio::awaitable<result> evaluate(dns::source& dns, const input& in) {
  if (in.from.domain) {
    std::string author = common::to_lower(*in.from.domain);
    while (!author.empty() && author.back() == '.') author.pop_back();
    if (!author.empty() && author.size() <= 253) co_return co_await evaluate_domain(dns, in, author);
  }
  // No single author domain (bad input 49): never pass. Apply the strictest policy any of the From
  // domains asks for; when none publishes one, refuse the message (permerror, applied reject).
  result res;
  res.reason = in.from.domain ? std::string("unusable From domain") : std::string(to_string(in.from.error));
  bool found = false;
  for (const auto& d : in.from.domains) {
    input one = in;
    one.from = from_result{};
    one.dkim_passes.clear();
    one.spf = {};
    auto r = co_await evaluate_domain(dns, one, d);
    res.queries.insert(res.queries.end(), r.queries.begin(), r.queries.end());
    if (!r.requested) continue;
    if (!found || *r.requested > *res.requested) {
      res.requested = r.requested;
      res.published = r.published;
      res.policy_domain = r.policy_domain;
      res.rec = r.rec;
      res.org_domain = r.org_domain;
    }
    found = true;
  }
  if (found) {
    res.result = result_kind::fail;
    res.applied = *res.requested;
  } else {
    res.result = result_kind::permerror;
    res.applied = policy::reject;
  }
  co_return res;
}

std::optional<report_destination> report_destination_of(std::string_view policy_domain, const report_uri& u) {
  if (!common::istarts_with(u.uri, "mailto:")) return std::nullopt;
  std::string_view addr = std::string_view(u.uri).substr(7);
  addr = addr.substr(0, addr.find('?'));  // mailto:a@b?subject=...
  if (addr.empty() || addr.size() > 254) return std::nullopt;
  for (char c : addr) {
    const auto uc = static_cast<unsigned char>(c);
    if (uc <= 0x20 || uc >= 0x7f || std::string_view("<>()[],;:\"\\").find(c) != std::string_view::npos)
      return std::nullopt;
  }
  const auto at = addr.find('@');
  if (at == std::string_view::npos || at == 0 || addr.rfind('@') != at) return std::nullopt;
  std::string dest = common::to_lower(addr.substr(at + 1));
  if (dest.empty() || dest.size() > 253 || dest.front() == '.' || dest.back() == '.' ||
      dest.find("..") != std::string::npos)
    return std::nullopt;
  report_destination d;
  d.address = std::string(addr);
  d.domain = dest;
  d.max_size_bytes = u.max_size_bytes;
  std::string pd = common::to_lower(policy_domain);
  while (!pd.empty() && pd.back() == '.') pd.pop_back();
  const auto policy_org = organizational_domain(pd).value_or(pd);
  if (organizational_domain(dest).value_or(dest) != policy_org) {
    d.verify_name = pd + "._report._dmarc." + dest;
    if (d.verify_name.size() > 253) return std::nullopt;  // cannot exist in the DNS: never authorised
  }
  return d;
}

bool report_destination_authorized(const dns::lookup_result& r) {
  if (r.st != dns::status::ok || r.sec == dns::dnssec::bogus) return false;
  for (const auto& rd : r.records) {
    const auto txt = dns::parse_txt(rd);
    if (txt && is_dmarc_record(*txt)) return true;
  }
  return false;
}

boost::asio::awaitable<std::vector<report_uri>> usable_report_uris(dns::source& dns, std::string policy_domain,
                                                                   std::vector<report_uri> uris) {
  std::vector<report_uri> out;
  for (auto& u : uris) {
    const auto d = report_destination_of(policy_domain, u);
    if (!d) continue;
    if (!d->verify_name.empty()) {
      std::string name = d->verify_name;
      const auto r = co_await dns.lookup(std::move(name), dns::rr_type::txt);
      if (!report_destination_authorized(r)) continue;
    }
    out.push_back(std::move(u));
  }
  co_return out;
}

auth::ar_entry ar_entry_for(const result& r) {
  auth::ar_entry e;
  e.method = "dmarc";
  e.result = to_string(r.result);
  if (r.requested) {
    e.comment = std::string("p=") + to_string(*r.requested);
    if (r.result == result_kind::fail) e.comment += std::string(" dis=") + to_string(r.applied);
  }
  if (!r.author_domain.empty())
    e.properties.push_back({"header", "from", r.author_domain});
  else if (!r.reason.empty())
    e.reason = r.reason;
  return e;
}

}  // namespace mailfort::dmarc
