// auth/spf.cpp: RFC 7208 check_host(): record lookup and selection, mechanism evaluation, limits, macros, exp=.
// SPDX-License-Identifier: MIT
#include "auth/spf.hpp"

#include "common/ascii.hpp"

#include "dns/records.hpp"

#include <algorithm>
#include <ctime>
#include <utility>
#include <vector>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// for a class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::auth::spf {
namespace {

using common::is_digit;
using common::to_lower;

std::string strip_dot(std::string s) {
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// Keeps log text printable: names and records come from DNS.
std::string printable(std::string_view s, std::size_t max = 200) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

std::string reverse_name(const ip_address& ip) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  if (ip.v4) {
    for (int i = 3; i >= 0; --i) out += std::to_string(ip.bytes[static_cast<std::size_t>(i)]) + ".";
    return out + "in-addr.arpa";
  }
  for (int i = 15; i >= 0; --i) {
    const auto b = ip.bytes[static_cast<std::size_t>(i)];
    out += hex[b & 0xf];
    out += '.';
    out += hex[b >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

// %{i}: dotted quad, or 32 dot-separated nibbles for IPv6 (7.3).
std::string dotted_ip(const ip_address& ip) {
  if (ip.v4) return format_ip(ip);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i) out += '.';
    out += hex[ip.bytes[i] >> 4];
    out += '.';
    out += hex[ip.bytes[i] & 0xf];
  }
  return out;
}

void url_escape(std::string_view in, std::string& out) {
  static const char* hex = "0123456789ABCDEF";
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
}

bool name_matches(std::string_view name, std::string_view target) {
  const std::string n = to_lower(strip_dot(std::string(name))), t = to_lower(strip_dot(std::string(target)));
  if (n == t) return true;
  return n.size() > t.size() && n.compare(n.size() - t.size(), t.size(), t) == 0 && n[n.size() - t.size() - 1] == '.';
}

bool uses_p_macro(std::string_view s) {
  for (std::size_t i = 0; i + 2 < s.size(); ++i)
    if (s[i] == '%' && s[i + 1] == '{' && common::ascii_lower(s[i + 2]) == 'p') return true;
  return false;
}

enum class outcome { match, no_match, temperror, permerror };

struct eval_out {
  result_code code = result_code::neutral;
  std::string mechanism;
  std::string explanation;
  std::string reason;
};

// One check_host() evaluation: the counters are shared by every include and redirect below it.
struct state {
  dns::source& dns;
  const request& req;
  std::int64_t now = 0;
  int dns_lookups = 0;
  int void_lookups = 0;
  int depth = 0;
  int include_depth = 0;  // explanations inside an include are never used (6.2/13): skip their lookups
  std::string error;      // reason for a temperror/permerror raised inside a mechanism
};

boost::asio::awaitable<dns::lookup_result> lookup(state& st, std::string name, int type) {
  auto r = co_await st.dns.lookup(strip_dot(std::move(name)), type);
  co_return r;
}

bool is_dns_error(dns::status s) { return s == dns::status::servfail || s == dns::status::timeout; }

// Counts a void lookup; false when the limit is exceeded.
bool count_void(state& st) {
  if (++st.void_lookups > max_void_lookups) {
    st.error = "more than " + std::to_string(max_void_lookups) + " void DNS lookups";
    return false;
  }
  return true;
}

bool count_term(state& st) {
  if (++st.dns_lookups > max_dns_terms) {
    st.error = "more than " + std::to_string(max_dns_terms) + " DNS-querying terms";
    return false;
  }
  return true;
}

struct addr_result {
  dns::status st = dns::status::servfail;
  std::vector<ip_address> addrs;
};

// The addresses of `name` in the client's family (5: A for IPv4 clients, AAAA for IPv6).
boost::asio::awaitable<addr_result> lookup_addrs(state& st, std::string name, bool v4) {
  addr_result out;
  auto r = co_await lookup(st, std::move(name), v4 ? dns::rr_type::a : dns::rr_type::aaaa);
  out.st = r.st;
  if (r.st != dns::status::ok) co_return out;
  for (const auto& rd : r.records) {
    ip_address ip;
    ip.v4 = v4;
    if (v4) {
      auto a = dns::parse_a(rd);
      if (!a) continue;
      std::copy(a->begin(), a->end(), ip.bytes.begin());
    } else {
      auto a = dns::parse_aaaa(rd);
      if (!a) continue;
      ip.bytes = *a;
    }
    out.addrs.push_back(ip);
  }
  if (out.addrs.empty()) out.st = dns::status::nodata;
  co_return out;
}

struct ptr_names {
  dns::status st = dns::status::servfail;
  std::vector<std::string> validated;
};

// 5.5: PTR names of the client (at most 10) whose forward lookup contains the client address. A DNS
// error on one name's forward lookup skips that name.
boost::asio::awaitable<ptr_names> validated_names(state& st) {
  ptr_names out;
  auto r = co_await lookup(st, reverse_name(st.req.ip), dns::rr_type::ptr);
  out.st = r.st;
  if (r.st != dns::status::ok) co_return out;
  std::size_t n = 0;
  for (const auto& rd : r.records) {
    if (n >= static_cast<std::size_t>(max_ptr_names)) break;
    auto name = dns::parse_name_rdata(rd);
    if (!name) continue;
    ++n;
    if (!valid_dns_name(*name)) continue;
    auto addrs = co_await lookup_addrs(st, *name, st.req.ip.v4);
    if (addrs.st != dns::status::ok) continue;
    for (const auto& a : addrs.addrs) {
      if (a == st.req.ip) {
        out.validated.push_back(strip_dot(*name));
        break;
      }
    }
  }
  co_return out;
}

// %{p} (7.3): the <domain> itself if validated, else a subdomain of it, else any validated name.
boost::asio::awaitable<std::string> p_macro(state& st, std::string domain) {
  auto names = co_await validated_names(st);
  if (names.validated.empty()) co_return std::string("unknown");
  for (const auto& n : names.validated)
    if (to_lower(n) == to_lower(strip_dot(domain))) co_return n;
  for (const auto& n : names.validated)
    if (name_matches(n, domain)) co_return n;
  co_return names.validated.front();
}

struct expanded {
  bool ok = false;  // false: the macro-string could not be expanded (permerror)
  std::string text;
};

boost::asio::awaitable<expanded> expand(state& st, std::string spec, std::string domain, bool explanation) {
  std::string p = "unknown";
  if (uses_p_macro(spec)) p = co_await p_macro(st, domain);
  macro_context ctx;
  ctx.sender = st.req.sender;
  ctx.domain = domain;
  ctx.ip = st.req.ip;
  ctx.helo = st.req.helo;
  ctx.receiver = st.req.receiver;
  ctx.ptr_name = p;
  ctx.now = st.now;
  auto out = expand_macros(spec, ctx, explanation);
  expanded e;
  if (out) {
    e.ok = true;
    e.text = std::move(*out);
  }
  co_return e;
}

// The target-name of a mechanism or modifier: <domain> when there is no domain-spec, else its expansion,
// truncated to 253 octets (7.3). An empty result means "a name that does not exist".
boost::asio::awaitable<expanded> target_name(state& st, const std::string& spec, const std::string& domain) {
  expanded e;
  if (spec.empty()) {
    e.ok = true;
    e.text = domain;
    co_return e;
  }
  e = co_await expand(st, spec, domain, false);
  if (!e.ok) co_return e;
  e.text = strip_dot(truncate_domain(std::move(e.text)));
  if (!valid_dns_name(e.text)) e.text.clear();
  co_return e;
}

boost::asio::awaitable<eval_out> eval_domain(state& st, std::string domain);

// 6.2: the explanation for a fail. Any problem (no name, DNS error, not exactly one TXT record, bad syntax,
// non-ASCII) yields an empty explanation rather than an error.
boost::asio::awaitable<std::string> explanation_for(state& st, std::string spec, std::string domain) {
  auto target = co_await target_name(st, spec, domain);
  if (!target.ok || target.text.empty()) co_return std::string();
  auto r = co_await lookup(st, target.text, dns::rr_type::txt);
  if (r.st != dns::status::ok || r.records.size() != 1) co_return std::string();
  auto txt = dns::parse_txt(r.records.front());
  if (!txt || txt->size() > max_expansion) co_return std::string();
  for (char c : *txt)
    if (c < 0x20 || c > 0x7e) co_return std::string();
  if (!valid_macro_string(*txt, true)) co_return std::string();
  auto e = co_await expand(st, *txt, domain, true);
  if (!e.ok) co_return std::string();
  co_return printable(e.text, max_expansion);
}

boost::asio::awaitable<outcome> match_mechanism(state& st, const mechanism& m, const std::string& domain) {
  const ip_address& ip = st.req.ip;
  switch (m.kind) {
    case mechanism_kind::all:
      co_return outcome::match;
    case mechanism_kind::ip4:
    case mechanism_kind::ip6:
      co_return ip_in_network(ip, m.network, m.kind == mechanism_kind::ip4 ? m.cidr4 : m.cidr6) ? outcome::match
                                                                                                : outcome::no_match;
    default:
      break;
  }
  if (!count_term(st)) co_return outcome::permerror;
  auto target = co_await target_name(st, m.domain_spec, domain);
  if (!target.ok) {
    st.error = "cannot expand '" + printable(m.text) + "'";
    co_return outcome::permerror;
  }
  switch (m.kind) {
    case mechanism_kind::include: {
      if (target.text.empty()) {
        st.error = "include target is not a domain name";
        co_return outcome::permerror;
      }
      ++st.depth;
      ++st.include_depth;
      auto r = co_await eval_domain(st, target.text);
      --st.include_depth;
      --st.depth;
      // 5.2 table: pass matches; fail/softfail/neutral do not; errors propagate; none is a permerror.
      switch (r.code) {
        case result_code::pass:
          co_return outcome::match;
        case result_code::fail:
        case result_code::softfail:
        case result_code::neutral:
          co_return outcome::no_match;
        case result_code::temperror:
          st.error = r.reason;
          co_return outcome::temperror;
        case result_code::permerror:
          st.error = r.reason;
          co_return outcome::permerror;
        case result_code::none:
          st.error = "include:" + printable(target.text) + " has no SPF record";
          co_return outcome::permerror;
      }
      co_return outcome::permerror;
    }
    case mechanism_kind::a: {
      if (target.text.empty()) co_return outcome::no_match;
      auto r = co_await lookup_addrs(st, target.text, ip.v4);
      if (is_dns_error(r.st)) {
        st.error = "DNS error looking up " + printable(target.text);
        co_return outcome::temperror;
      }
      if (r.st != dns::status::ok) co_return count_void(st) ? outcome::no_match : outcome::permerror;
      for (const auto& a : r.addrs)
        if (ip_in_network(ip, a, ip.v4 ? m.cidr4 : m.cidr6)) co_return outcome::match;
      co_return outcome::no_match;
    }
    case mechanism_kind::mx: {
      if (target.text.empty()) co_return outcome::no_match;
      auto r = co_await lookup(st, target.text, dns::rr_type::mx);
      if (is_dns_error(r.st)) {
        st.error = "DNS error looking up MX of " + printable(target.text);
        co_return outcome::temperror;
      }
      if (r.st != dns::status::ok || r.records.empty())
        co_return count_void(st) ? outcome::no_match : outcome::permerror;
      if (r.records.size() > static_cast<std::size_t>(max_mx_names)) {
        st.error = "more than " + std::to_string(max_mx_names) + " MX records for " + printable(target.text);
        co_return outcome::permerror;
      }
      std::vector<dns::mx_record> mxs;
      for (const auto& rd : r.records)
        if (auto mx = dns::parse_mx(rd)) mxs.push_back(std::move(*mx));
      std::stable_sort(mxs.begin(), mxs.end(),
                       [](const auto& a, const auto& b) { return a.preference < b.preference; });
      for (const auto& mx : mxs) {
        if (mx.exchange == "." || !valid_dns_name(mx.exchange)) continue;  // null MX: no addresses
        auto a = co_await lookup_addrs(st, mx.exchange, ip.v4);
        if (is_dns_error(a.st)) {
          st.error = "DNS error looking up " + printable(mx.exchange);
          co_return outcome::temperror;
        }
        for (const auto& addr : a.addrs)
          if (ip_in_network(ip, addr, ip.v4 ? m.cidr4 : m.cidr6)) co_return outcome::match;
      }
      co_return outcome::no_match;
    }
    case mechanism_kind::ptr: {
      if (target.text.empty()) co_return outcome::no_match;
      auto names = co_await validated_names(st);
      if (names.st == dns::status::nxdomain || names.st == dns::status::nodata)
        co_return count_void(st) ? outcome::no_match : outcome::permerror;
      for (const auto& n : names.validated)
        if (name_matches(n, target.text)) co_return outcome::match;
      co_return outcome::no_match;  // includes a DNS error on the PTR query (5.5)
    }
    case mechanism_kind::exists: {
      if (target.text.empty()) co_return outcome::no_match;
      auto r = co_await lookup(st, target.text, dns::rr_type::a);  // always A (5.7)
      if (is_dns_error(r.st)) {
        st.error = "DNS error looking up " + printable(target.text);
        co_return outcome::temperror;
      }
      if (r.st != dns::status::ok || r.records.empty())
        co_return count_void(st) ? outcome::no_match : outcome::permerror;
      co_return outcome::match;
    }
    default:
      break;
  }
  co_return outcome::permerror;
}

result_code from_qualifier(qualifier q) {
  switch (q) {
    case qualifier::pass:
      return result_code::pass;
    case qualifier::fail:
      return result_code::fail;
    case qualifier::softfail:
      return result_code::softfail;
    case qualifier::neutral:
      return result_code::neutral;
  }
  return result_code::neutral;
}

eval_out error_out(result_code c, std::string reason) {
  eval_out o;
  o.code = c;
  o.reason = std::move(reason);
  return o;
}

// check_host() for one domain (4.3 to 4.8).
boost::asio::awaitable<eval_out> eval_domain(state& st, std::string domain) {
  domain = strip_dot(std::move(domain));
  if (!valid_check_domain(domain))
    co_return error_out(result_code::none, "'" + printable(domain) + "' is not a valid domain");
  if (st.depth > max_dns_terms) co_return error_out(result_code::permerror, "include/redirect nesting too deep");
  auto r = co_await lookup(st, domain, dns::rr_type::txt);
  if (is_dns_error(r.st))
    co_return error_out(result_code::temperror,
                        std::string("DNS ") + dns::to_string(r.st) + " looking up TXT of " + printable(domain));
  std::vector<std::string> spf;
  if (r.st == dns::status::ok) {
    for (const auto& rd : r.records) {
      auto txt = dns::parse_txt(rd);
      if (txt && is_spf_record(*txt)) spf.push_back(std::move(*txt));
    }
  }
  if (spf.empty()) co_return error_out(result_code::none, "no SPF record at " + printable(domain));
  if (spf.size() > 1) co_return error_out(result_code::permerror, "multiple SPF records at " + printable(domain));
  auto parsed = parse_record(spf.front());
  if (!parsed.rec)
    co_return error_out(result_code::permerror, "SPF record of " + printable(domain) + ": " + printable(parsed.error));
  const record& rec = *parsed.rec;

  for (const auto& m : rec.mechanisms) {
    const outcome o = co_await match_mechanism(st, m, domain);
    if (o == outcome::temperror) co_return error_out(result_code::temperror, st.error);
    if (o == outcome::permerror) co_return error_out(result_code::permerror, st.error);
    if (o == outcome::no_match) continue;
    eval_out out;
    out.code = from_qualifier(m.qual);
    out.mechanism = m.text;
    out.reason = "matched '" + printable(m.text) + "' in the SPF record of " + printable(domain);
    if (out.code == result_code::fail && rec.exp && st.include_depth == 0)
      out.explanation = co_await explanation_for(st, *rec.exp, domain);
    co_return out;
  }
  if (rec.redirect) {
    // 6.1: only when no mechanism matched; the target's result (and its exp=) replaces ours.
    if (!count_term(st)) co_return error_out(result_code::permerror, st.error);
    auto target = co_await target_name(st, *rec.redirect, domain);
    if (!target.ok || target.text.empty())
      co_return error_out(result_code::permerror, "redirect target of " + printable(domain) + " is not a domain name");
    ++st.depth;
    auto out = co_await eval_domain(st, target.text);
    --st.depth;
    if (out.code == result_code::none)
      co_return error_out(result_code::permerror, "redirect=" + printable(target.text) + " has no SPF record");
    co_return out;
  }
  eval_out out;
  out.code = result_code::neutral;
  out.reason = "no mechanism matched in the SPF record of " + printable(domain);
  co_return out;
}

}  // namespace

const char* to_string(result_code c) {
  switch (c) {
    case result_code::none:
      return "none";
    case result_code::neutral:
      return "neutral";
    case result_code::pass:
      return "pass";
    case result_code::fail:
      return "fail";
    case result_code::softfail:
      return "softfail";
    case result_code::temperror:
      return "temperror";
    case result_code::permerror:
      return "permerror";
  }
  return "permerror";
}

std::optional<result_code> result_code_from_string(std::string_view s) {
  for (auto c : {result_code::none, result_code::neutral, result_code::pass, result_code::fail, result_code::softfail,
                 result_code::temperror, result_code::permerror})
    if (to_lower(s) == to_string(c)) return c;
  return std::nullopt;
}

std::string truncate_domain(std::string name) {
  while (name.size() > 253) {
    const std::size_t dot = name.find('.');
    if (dot == std::string::npos) return std::string();
    name.erase(0, dot + 1);
  }
  return name;
}

std::optional<std::string> expand_macros(std::string_view s, const macro_context& ctx, bool explanation) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (out.size() > max_expansion) return std::nullopt;
    const char c = s[i];
    if (c != '%') {
      if ((c < 0x21 || c > 0x7e) && !(explanation && c == ' ')) return std::nullopt;
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return std::nullopt;
    const char n = s[i + 1];
    if (n == '%' || n == '_' || n == '-') {
      out += n == '%' ? "%" : n == '_' ? " " : "%20";
      i += 2;
      continue;
    }
    if (n != '{' || i + 2 >= s.size()) return std::nullopt;
    const char letter = s[i + 2];
    const bool upper = letter >= 'A' && letter <= 'Z';
    std::string value;
    const std::string_view sender = ctx.sender;
    const std::size_t at = sender.rfind('@');
    switch (common::ascii_lower(letter)) {
      case 's':
        value = std::string(sender);
        break;
      case 'l':
        value = std::string(at == std::string_view::npos ? std::string_view("postmaster") : sender.substr(0, at));
        break;
      case 'o':
        value = std::string(at == std::string_view::npos ? sender : sender.substr(at + 1));
        break;
      case 'd':
        value = std::string(ctx.domain);
        break;
      case 'i':
        value = dotted_ip(ctx.ip);
        break;
      case 'p':
        value = std::string(ctx.ptr_name);
        break;
      case 'v':
        value = ctx.ip.v4 ? "in-addr" : "ip6";
        break;
      case 'h':
        value = std::string(ctx.helo);
        break;
      case 'c':
        if (!explanation) return std::nullopt;
        value = format_ip(ctx.ip);
        break;
      case 'r':
        if (!explanation) return std::nullopt;
        value = std::string(ctx.receiver);
        break;
      case 't':
        if (!explanation) return std::nullopt;
        value = std::to_string(ctx.now);
        break;
      default:
        return std::nullopt;
    }
    std::size_t j = i + 3;
    std::size_t keep = 0;  // 0: all parts
    bool any_digit = false;
    while (j < s.size() && is_digit(s[j])) {
      any_digit = true;
      if (keep < 100000) keep = keep * 10 + static_cast<std::size_t>(s[j] - '0');
      ++j;
    }
    if (any_digit && keep == 0) return std::nullopt;
    bool reverse = false;
    if (j < s.size() && common::ascii_lower(s[j]) == 'r') {
      reverse = true;
      ++j;
    }
    std::string delims;
    while (j < s.size() && std::string_view(".-+,/_=").find(s[j]) != std::string_view::npos) delims += s[j++];
    if (j >= s.size() || s[j] != '}') return std::nullopt;
    i = j + 1;
    if (delims.empty()) delims = ".";
    // Split on any delimiter, reverse if asked, keep the rightmost `keep` parts, join with "." (7.3).
    std::vector<std::string_view> parts;
    std::string_view v = value;
    std::size_t start = 0;
    for (std::size_t k = 0; k <= v.size(); ++k) {
      if (k == v.size() || delims.find(v[k]) != std::string::npos) {
        parts.push_back(v.substr(start, k - start));
        start = k + 1;
      }
    }
    if (reverse) std::reverse(parts.begin(), parts.end());
    std::size_t first = (keep != 0 && keep < parts.size()) ? parts.size() - keep : 0;
    std::string joined;
    for (std::size_t k = first; k < parts.size(); ++k) {
      if (k != first) joined += '.';
      joined += parts[k];
    }
    if (upper)
      url_escape(joined, out);
    else
      out += joined;
  }
  if (out.size() > max_expansion) return std::nullopt;
  return out;
}

boost::asio::awaitable<result> check_host(dns::source& dns, const request& req) {
  state st{dns, req};
  st.now = req.now != 0 ? req.now : static_cast<std::int64_t>(std::time(nullptr));
  auto out = co_await eval_domain(st, req.domain);
  result r;
  r.code = out.code;
  if (out.code == result_code::fail) r.explanation = std::move(out.explanation);
  r.mechanism = std::move(out.mechanism);
  r.domain = strip_dot(req.domain);
  r.reason = std::move(out.reason);
  r.dns_lookups = st.dns_lookups;
  r.void_lookups = st.void_lookups;
  r.sender = req.sender;
  r.identity = req.identity;
  co_return r;
}

boost::asio::awaitable<result> check_mail_from(dns::source& dns, ip_address ip, std::string helo, std::string mail_from,
                                               std::string receiver) {
  if (mail_from.size() >= 2 && mail_from.front() == '<' && mail_from.back() == '>')
    mail_from = mail_from.substr(1, mail_from.size() - 2);
  if (mail_from.empty()) {
    // 2.4: the null reverse-path is checked as postmaster@<HELO>.
    auto r = co_await check_helo(dns, ip, std::move(helo), std::move(receiver));
    r.identity = "mailfrom";
    co_return r;
  }
  request req;
  req.ip = ip;
  req.helo = std::move(helo);
  req.receiver = std::move(receiver);
  const std::size_t at = mail_from.rfind('@');
  const std::string local = at == std::string::npos ? std::string() : mail_from.substr(0, at);
  req.domain = at == std::string::npos ? mail_from : mail_from.substr(at + 1);
  req.sender = (local.empty() ? std::string("postmaster") : local) + "@" + req.domain;
  req.identity = "mailfrom";
  auto r = co_await check_host(dns, req);
  co_return r;
}

boost::asio::awaitable<result> check_helo(dns::source& dns, ip_address ip, std::string helo, std::string receiver) {
  request req;
  req.ip = ip;
  req.helo = helo;
  req.domain = helo;
  req.sender = "postmaster@" + helo;
  req.receiver = std::move(receiver);
  req.identity = "helo";
  auto r = co_await check_host(dns, req);
  co_return r;
}

std::string format_received_spf(const result& r, const ip_address& ip, std::string_view helo,
                                std::string_view receiver) {
  // key=value pairs take a dot-atom or a quoted-string (RFC 7208 9.1); quote anything else.
  auto value = [](std::string_view v) {
    bool atom = !v.empty();
    for (char c : v)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
            std::string_view("!#$%&'*+-/=?^_`{|}~.@").find(c) != std::string_view::npos))
        atom = false;
    if (atom) return std::string(v);
    std::string q = "\"";
    for (char c : v) {
      if (c < 0x20 || c > 0x7e) c = '?';
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + "\"";
  };
  auto comment = [](std::string_view v) {
    std::string o;
    for (char c : v) o += (c == '(' || c == ')' || c == '\\' || c < 0x20 || c > 0x7e) ? ' ' : c;
    return o;
  };
  std::string out = to_string(r.code);
  out += " (" + comment(std::string(receiver) + ": " + r.reason) + ")";
  out += " client-ip=" + format_ip(ip) + ";";
  if (r.identity == "mailfrom") out += " envelope-from=" + value(r.sender) + ";";
  out += " helo=" + value(helo) + ";";
  if (!receiver.empty()) out += " receiver=" + value(receiver) + ";";
  if (!r.mechanism.empty()) out += " mechanism=" + value(r.mechanism) + ";";
  if (r.code == result_code::permerror || r.code == result_code::temperror) out += " problem=" + value(r.reason) + ";";
  out += " identity=" + value(r.identity);
  return out;
}

}  // namespace mailfort::auth::spf
