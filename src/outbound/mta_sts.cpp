// outbound/mta_sts.cpp: [pure] MTA-STS record and policy parsing, MX pattern matching, discovery decision.
// SPDX-License-Identifier: MIT
#include "outbound/mta_sts.hpp"

#include "dns/records.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstdlib>

namespace mailfort::outbound {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Name to lower-case A-label form without the trailing dot. Pure ASCII names are only lower-cased (libidn2
// would reject '_' and other bytes real MX names carry); others go through UTS #46 mapping (case folding,
// NFC) and Punycode. nullopt for names libidn2 refuses or that are empty or absurdly long.
std::optional<std::string> to_alabel(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 1024) return std::nullopt;
  bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    std::string out(name);
    for (auto& c : out) c = lower(c);
    return out;
  }
  if (name.find('\0') != std::string_view::npos) return std::nullopt;
  std::string in(name);
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK || out == nullptr) {
    idn2_free(out);
    return std::nullopt;
  }
  std::string result(out);
  idn2_free(out);
  for (auto& c : result) c = lower(c);
  return result;
}

std::optional<std::uint64_t> parse_max_age(std::string_view v) {
  // RFC 8461 3.2: 1*10DIGIT.
  if (v.empty() || v.size() > 10) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool starts_with_sts_version(std::string_view txt) {
  // RFC 8461 3.1: records that do not begin with "v=STSv1;" are discarded. Accept the record ending right
  // after the version, or whitespace before the ';', as the parser does.
  std::string_view t = txt;
  while (!t.empty() && is_wsp(t.front())) t.remove_prefix(1);
  if (t.substr(0, 7) != "v=STSv1") return false;
  t.remove_prefix(7);
  while (!t.empty() && is_wsp(t.front())) t.remove_prefix(1);
  return t.empty() || t.front() == ';';
}

}  // namespace

std::optional<sts_record> parse_sts_record(std::string_view txt) {
  if (txt.size() > 4096) return std::nullopt;
  sts_record rec;
  bool first = true;
  bool have_id = false;
  while (true) {
    auto semi = txt.find(';');
    std::string_view field = trim(txt.substr(0, semi));
    if (first) {
      if (field != "v=STSv1") return std::nullopt;
      first = false;
    } else if (!field.empty()) {
      auto eq = field.find('=');
      if (eq == std::string_view::npos || eq == 0) return std::nullopt;
      std::string_view name = field.substr(0, eq);
      std::string_view value = field.substr(eq + 1);
      if (name == "id") {
        if (value.empty() || value.size() > 32 || !std::all_of(value.begin(), value.end(), is_alnum))
          return std::nullopt;
        if (!have_id) rec.id = std::string(value);
        have_id = true;
      }
      // Other sts-ext fields are ignored (RFC 8461 3.1).
    }
    if (semi == std::string_view::npos) break;
    txt.remove_prefix(semi + 1);
  }
  if (!have_id) return std::nullopt;
  return rec;
}

const char* to_string(sts_mode m) {
  switch (m) {
    case sts_mode::enforce:
      return "enforce";
    case sts_mode::testing:
      return "testing";
    case sts_mode::none:
      return "none";
  }
  return "none";
}

std::optional<sts_mode> parse_sts_mode(std::string_view s) {
  if (s == "enforce") return sts_mode::enforce;
  if (s == "testing") return sts_mode::testing;
  if (s == "none") return sts_mode::none;
  return std::nullopt;
}

std::optional<sts_policy> check_policy(const sts_policy_fields& f) {
  if (!f.version || *f.version != "STSv1") return std::nullopt;
  if (!f.mode) return std::nullopt;
  auto mode = parse_sts_mode(*f.mode);
  if (!mode) return std::nullopt;
  if (!f.max_age || *f.max_age > sts_max_age_limit) return std::nullopt;
  if (*mode != sts_mode::none && (!f.mx || f.mx->empty())) return std::nullopt;
  sts_policy p;
  p.mode = *mode;
  p.max_age = static_cast<std::uint32_t>(*f.max_age);
  if (f.mx) p.mx = *f.mx;
  return p;
}

std::optional<sts_policy> parse_sts_policy(std::string_view body) {
  if (body.size() > sts_max_policy_size) return std::nullopt;
  sts_policy_fields f;
  bool bad_max_age = false;
  while (!body.empty()) {
    auto nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim(line);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "version") {
      if (!f.version) f.version = std::string(value);
    } else if (key == "mode") {
      if (!f.mode) f.mode = std::string(value);
    } else if (key == "max_age") {
      if (!f.max_age && !bad_max_age) {
        f.max_age = parse_max_age(value);
        bad_max_age = !f.max_age;
      }
    } else if (key == "mx") {
      if (value.empty()) return std::nullopt;
      if (!f.mx) f.mx.emplace();
      if (f.mx->size() >= sts_max_mx) return std::nullopt;
      f.mx->emplace_back(value);
    }
    // Unknown keys are ignored (RFC 8461 3.2).
  }
  if (bad_max_age) return std::nullopt;
  return check_policy(f);
}

bool sts_content_type_ok(std::string_view content_type) {
  std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  return iequals(type, "text/plain");
}

bool mx_matches(std::string_view host, std::string_view pattern) {
  bool wildcard = pattern.substr(0, 2) == "*.";
  if (wildcard) pattern.remove_prefix(2);
  auto h = to_alabel(host);
  auto p = to_alabel(pattern);
  if (!h || !p) return false;
  if (!wildcard) return *h == *p;
  // "*.example.com": exactly one non-empty label in front of the rest.
  auto dot = h->find('.');
  if (dot == 0 || dot == std::string::npos) return false;
  return std::string_view(*h).substr(dot + 1) == *p;
}

bool mx_listed(const sts_policy& p, std::string_view host) {
  return std::any_of(p.mx.begin(), p.mx.end(), [&](const std::string& pat) { return mx_matches(host, pat); });
}

bool mx_allowed(const sts_policy& p, std::string_view host) {
  return p.mode != sts_mode::enforce || mx_listed(p, host);
}

std::optional<std::string> sts_normalize_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return std::nullopt;  // empty labels (before to_alabel, which would strip another trailing dot)
  auto a = to_alabel(domain);
  if (!a || a->size() > 253) return std::nullopt;
  std::size_t label = 0;
  for (char c : *a) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      continue;
    }
    if (!is_alnum(c) && c != '-' && c != '_') return std::nullopt;
    if (++label > 63) return std::nullopt;
  }
  if (label == 0) return std::nullopt;
  return a;
}

std::string sts_txt_name(std::string_view d) { return "_mta-sts." + std::string(d); }
std::string sts_policy_host(std::string_view d) { return "mta-sts." + std::string(d); }
std::string sts_policy_url(std::string_view d) { return "https://" + sts_policy_host(d) + "/.well-known/mta-sts.txt"; }

sts_txt_answer txt_answer_from(const dns::lookup_result& r) {
  sts_txt_answer a;
  switch (r.st) {
    case dns::status::ok:
      a.k = sts_txt_answer::kind::records;
      for (const auto& rd : r.records)
        if (auto t = dns::parse_txt(rd)) a.texts.push_back(std::move(*t));
      break;
    case dns::status::nxdomain:
    case dns::status::nodata:
      a.k = sts_txt_answer::kind::no_record;
      break;
    case dns::status::servfail:
    case dns::status::timeout:
      a.k = sts_txt_answer::kind::temp_error;
      break;
  }
  return a;
}

const char* to_string(sts_status s) {
  switch (s) {
    case sts_status::lookup_txt:
      return "lookup_txt";
    case sts_status::fetch:
      return "fetch";
    case sts_status::valid:
      return "valid";
    case sts_status::none:
      return "none";
    case sts_status::fetch_error:
      return "fetch_error";
  }
  return "none";
}

sts_discovery_result sts_discover(const sts_discovery_input& in) {
  sts_discovery_result out;
  auto domain = sts_normalize_domain(in.domain);
  if (!domain) {
    out.status = sts_status::none;
    out.reason = "malformed domain";
    return out;
  }
  out.domain = *domain;
  const bool cache_ok = in.cached && !in.cached->expired(in.now);
  // Anything short of a fresh valid policy falls back to an unexpired cached one (RFC 8461 5.1): an
  // attacker who can block DNS or HTTPS must not be able to downgrade a domain that had a policy.
  auto fallback = [&](sts_status without_cache, std::string why) {
    if (cache_ok) {
      out.status = sts_status::valid;
      out.policy = in.cached->policy;
      out.from_cache = true;
      out.reason = why + "; using cached policy";
    } else {
      out.status = without_cache;
      out.reason = std::move(why);
    }
    return out;
  };

  if (!in.txt) {
    out.status = sts_status::lookup_txt;
    return out;
  }
  switch (in.txt->k) {
    case sts_txt_answer::kind::temp_error:
      return fallback(sts_status::fetch_error, "TXT lookup failed");
    case sts_txt_answer::kind::no_record:
      return fallback(sts_status::none, "no _mta-sts TXT record");
    case sts_txt_answer::kind::records:
      break;
  }
  std::vector<const std::string*> candidates;
  for (const auto& t : in.txt->texts)
    if (starts_with_sts_version(t)) candidates.push_back(&t);
  if (candidates.size() != 1)
    return fallback(sts_status::none, candidates.empty() ? "no v=STSv1 TXT record" : "several v=STSv1 TXT records");
  auto rec = parse_sts_record(*candidates.front());
  if (!rec) return fallback(sts_status::none, "malformed _mta-sts TXT record");
  out.record_id = rec->id;
  if (cache_ok && in.cached->id == rec->id) {
    out.status = sts_status::valid;
    out.policy = in.cached->policy;
    out.from_cache = true;
    out.reason = "cached policy id matches";
    return out;
  }
  if (!in.https) {
    out.status = sts_status::fetch;
    return out;
  }
  const auto& h = *in.https;
  if (!h.connected) return fallback(sts_status::fetch_error, "policy host unreachable");
  if (!h.certificate_valid) return fallback(sts_status::fetch_error, "policy host certificate invalid");
  if (h.status != 200) return fallback(sts_status::fetch_error, "HTTP status " + std::to_string(h.status));
  if (!sts_content_type_ok(h.content_type)) return fallback(sts_status::fetch_error, "media type not text/plain");
  if (h.body_truncated || h.body.size() > sts_max_policy_size ||
      (h.content_length && *h.content_length > sts_max_policy_size))
    return fallback(sts_status::fetch_error, "policy larger than 64 KiB");
  auto policy = parse_sts_policy(h.body);
  if (!policy) return fallback(sts_status::fetch_error, "invalid policy");
  out.status = sts_status::valid;
  out.policy = std::move(*policy);
  out.store_in_cache = true;
  out.reason = "policy fetched";
  return out;
}

}  // namespace mailfort::outbound
