// smtp/address.cpp: RFC 5321 4.1.2 path grammar with RFC 6531 UTF-8 (see address.hpp).
// SPDX-License-Identifier: MIT
#include "smtp/address.hpp"

#include "common/ascii.hpp"
#include "common/utf8.hpp"

namespace mailfort::smtp {

namespace {

constexpr std::size_t k_max_local = 64;
constexpr std::size_t k_max_domain = 255;
constexpr std::size_t k_max_path = 256;
constexpr std::size_t k_max_param_value = 1000;

bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 (checked for validity and SMTPUTF8 separately)
  if (common::is_alnum(static_cast<char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_let_dig(unsigned char c) { return c >= 0x80 || common::is_alnum(static_cast<char>(c)); }

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]. 8-bit bytes count as letters
// (U-labels); their validity is checked as UTF-8 by the caller.
bool valid_domain(std::string_view d) {
  if (d.empty()) return false;
  std::size_t label = 0;
  char prev = '.';
  for (char ch : d) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (is_let_dig(c)) {
      ++label;
    } else if (c == '-') {
      if (label == 0) return false;
      ++label;
    } else {
      return false;
    }
    if (label > 63) return false;
    prev = ch;
  }
  return label > 0 && prev != '-';
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t start = i;
    int v = 0;
    while (i < s.size() && common::is_digit(s[i])) {
      v = v * 10 + (s[i] - '0');
      if (v > 255 || i - start >= 3) return false;
      ++i;
    }
    if (i == start) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.') return false;
    ++i;
  }
  return parts == 4;
}

bool valid_ipv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  int groups = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  }
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && i - start < 5 &&
           (common::is_digit(s[i]) || (common::ascii_lower(s[i]) >= 'a' && common::ascii_lower(s[i]) <= 'f')))
      ++i;
    if (i < s.size() && s[i] == '.') {  // embedded IPv4 tail
      if (!valid_ipv4(s.substr(start))) return false;
      groups += 2;
      i = s.size();
      break;
    }
    std::size_t len = i - start;
    if (len == 0 || len > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;
    }
  }
  return compressed ? groups < 8 : groups == 8;
}

bool valid_literal(std::string_view inner) {
  if (common::istarts_with(inner, "IPv6:")) return valid_ipv6(inner.substr(5));
  return valid_ipv4(inner);
}

bool has_8bit(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

// Find the '>' that closes a path opened at `open`, skipping quoted strings. npos if none.
std::size_t find_close(std::string_view s, std::size_t open) {
  bool quoted = false;
  for (std::size_t i = open + 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

// Parse "local@domain" (no angle brackets, no route).
addr_error parse_mailbox(std::string_view s, mailbox& box) {
  std::string local;
  std::size_t i = 0;
  if (!s.empty() && s[0] == '"') {
    box.quoted = true;
    ++i;
    bool closed = false;
    while (i < s.size()) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c == '\\') {
        if (i + 1 >= s.size()) return addr_error::syntax;
        auto q = static_cast<unsigned char>(s[i + 1]);
        if (q < 32 || q == 127) return addr_error::syntax;
        local.push_back(static_cast<char>(q));
        i += 2;
        continue;
      }
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (c < 32 || c == 127) return addr_error::syntax;
      local.push_back(static_cast<char>(c));
      ++i;
    }
    if (!closed) return addr_error::syntax;
    if (i >= s.size() || s[i] != '@') return addr_error::syntax;
    if (local.find('@') != std::string::npos) box.has_quoted_at = true;
  } else {
    std::size_t at = s.find('@');
    if (at == std::string_view::npos) return addr_error::syntax;
    std::string_view l = s.substr(0, at);
    if (s.find('@', at + 1) != std::string_view::npos) {
      // local@host@host: only dangerous as a relay trick; refuse it as one.
      for (char c : s)
        if (static_cast<unsigned char>(c) < 33 || c == 127) return addr_error::syntax;
      return addr_error::multiple_at;
    }
    if (l.empty() || l.front() == '.' || l.back() == '.') return addr_error::syntax;
    char prev = 0;
    for (char ch : l) {
      auto c = static_cast<unsigned char>(ch);
      if (c == '.') {
        if (prev == '.') return addr_error::syntax;
      } else if (!is_atext(c)) {
        return addr_error::syntax;
      }
      prev = ch;
    }
    local = std::string(l);
    i = at;
  }
  // s[i] == '@'
  std::string_view domain = s.substr(i + 1);
  // RFC 5321 4.5.3.1.1 limits the Local-part as sent (quotes and backslashes included): s[0, i).
  if (i > k_max_local) return addr_error::local_too_long;
  if (domain.empty()) return addr_error::syntax;
  if (domain.front() == '[') {
    if (domain.back() != ']') return addr_error::syntax;
    std::string_view inner = domain.substr(1, domain.size() - 2);
    if (!valid_literal(inner)) return addr_error::syntax;
    box.address_literal = true;
    box.domain = std::string(inner);
  } else {
    if (domain.size() > k_max_domain) return addr_error::domain_too_long;
    if (domain.back() == '.' && domain.size() > 1) {
      box.trailing_dot = true;
      domain.remove_suffix(1);
    }
    if (!valid_domain(domain)) return addr_error::syntax;
    box.domain = std::string(domain);
  }
  box.local = std::move(local);
  box.has_percent = box.local.find('%') != std::string::npos;
  box.has_bang = box.local.find('!') != std::string::npos;
  box.has_8bit = has_8bit(box.local) || has_8bit(box.domain);
  return addr_error::ok;
}

// "<" [A-d-l ":"] Mailbox ">" or "<>" / "<postmaster>"; `after` receives the index past '>'.
addr_error parse_path(std::string_view args, bool allow_null, bool allow_postmaster, path& out, std::size_t& after) {
  std::size_t i = 0;
  while (i < args.size() && args[i] == ' ') ++i;  // tolerated, as Postfix does
  if (i >= args.size() || args[i] != '<') return addr_error::syntax;
  std::size_t close = find_close(args, i);
  if (close == std::string_view::npos) return addr_error::syntax;
  std::string_view inner = args.substr(i + 1, close - i - 1);
  after = close + 1;
  for (char c : inner) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0 || u == '\r' || u == '\n') return addr_error::syntax;
  }
  if (inner.size() + 2 > k_max_path) {
    // Distinguish the RFC limits for a clearer reply, where the parts can be told apart.
    mailbox probe;
    auto e = parse_mailbox(inner, probe);
    if (e == addr_error::local_too_long || e == addr_error::domain_too_long) return e;
    return addr_error::path_too_long;
  }
  if (inner.empty()) {
    if (!allow_null) return addr_error::syntax;
    out.null = true;
    return addr_error::ok;
  }
  if (inner[0] == '@') {
    // Source route: @a,@b:mailbox. Parsed and dropped (RFC 5321 appendix C).
    std::size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return addr_error::syntax;
    std::string_view route = inner.substr(0, colon);
    std::size_t p = 0;
    while (p < route.size()) {
      if (route[p] != '@') return addr_error::syntax;
      std::size_t comma = route.find(',', p);
      std::string_view d =
          route.substr(p + 1, comma == std::string_view::npos ? std::string_view::npos : comma - p - 1);
      if (!valid_domain(d) &&
          !(d.size() > 2 && d.front() == '[' && d.back() == ']' && valid_literal(d.substr(1, d.size() - 2))))
        return addr_error::syntax;
      if (comma == std::string_view::npos) break;
      p = comma + 1;
    }
    out.source_route = true;
    inner = inner.substr(colon + 1);
  }
  if (allow_postmaster && !out.source_route && common::iequals(inner, "postmaster")) {
    out.postmaster = true;
    out.box.local = "postmaster";
    return addr_error::ok;
  }
  return parse_mailbox(inner, out.box);
}

path_result finish(path_result r, bool smtputf8) {
  if (r.error != addr_error::ok) return r;
  const mailbox& b = r.value.box;
  if (b.has_8bit) {
    if (!valid_utf8(b.local) || !valid_utf8(b.domain)) {
      r.error = addr_error::invalid_utf8;
    } else if (!smtputf8) {
      r.error = addr_error::needs_smtputf8;
    }
  }
  return r;
}

path_result parse_cmd(std::string_view args, std::string_view keyword, bool is_mail, bool smtputf8_in) {
  path_result r;
  if (!common::istarts_with(args, keyword)) {
    r.error = addr_error::syntax;
    return r;
  }
  std::size_t after = 0;
  r.error = parse_path(args.substr(keyword.size()), is_mail, !is_mail, r.value, after);
  if (r.error != addr_error::ok) return r;
  std::string_view rest = args.substr(keyword.size() + after);
  if (!rest.empty() && rest[0] != ' ') {
    r.error = addr_error::syntax;
    return r;
  }
  if (auto e = parse_params(rest, r.value.params); e != addr_error::ok) {
    r.error = e;
    return r;
  }
  bool smtputf8 = smtputf8_in;
  if (is_mail)
    for (const auto& p : r.value.params)
      if (p.keyword == "SMTPUTF8") smtputf8 = true;
  return finish(std::move(r), smtputf8);
}

}  // namespace

std::string mailbox::address() const {
  if (local.empty() && domain.empty()) return {};
  if (domain.empty()) return local;  // "<postmaster>" (RCPT only): no domain to append
  bool needs_quotes = quoted;
  if (quoted) {
    // Re-quote only when the local part is not a valid dot-string.
    needs_quotes =
        local.empty() || local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos;
    for (char c : local)
      if (c != '.' && !is_atext(static_cast<unsigned char>(c))) needs_quotes = true;
  }
  std::string r;
  if (needs_quotes) {
    r.push_back('"');
    for (char c : local) {
      if (c == '"' || c == '\\') r.push_back('\\');
      r.push_back(c);
    }
    r.push_back('"');
  } else {
    r = local;
  }
  r.push_back('@');
  if (address_literal) {
    r += "[" + domain + "]";
  } else {
    r += domain;
  }
  return r;
}

addr_error parse_params(std::string_view text, std::vector<esmtp_param>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    std::string_view tok = text.substr(start, i - start);
    std::size_t eq = tok.find('=');
    std::string_view kw = tok.substr(0, eq);
    if (kw.empty() || !common::is_alnum(kw[0]) || kw.size() > 64) return addr_error::bad_parameter;
    for (char c : kw)
      if (!common::is_alnum(c) && c != '-') return addr_error::bad_parameter;
    esmtp_param p;
    for (char c : kw) p.keyword.push_back(common::ascii_upper(c));
    if (eq != std::string_view::npos) {
      std::string_view v = tok.substr(eq + 1);
      if (v.empty()) return addr_error::bad_parameter;
      if (v.size() > k_max_param_value) return addr_error::parameter_too_long;
      for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u == '=' || u == 127) return addr_error::bad_parameter;
      }
      if (has_8bit(v) && !valid_utf8(v)) return addr_error::bad_parameter;
      p.value = std::string(v);
      p.has_value = true;
    }
    if (out.size() >= 16) return addr_error::bad_parameter;
    out.push_back(std::move(p));
  }
  return addr_error::ok;
}

path_result parse_mail_from(std::string_view args) { return parse_cmd(args, "FROM:", true, false); }

path_result parse_rcpt_to(std::string_view args, bool smtputf8) { return parse_cmd(args, "TO:", false, smtputf8); }

bool valid_helo_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  if (s.front() == '[') return s.size() > 2 && s.back() == ']' && valid_literal(s.substr(1, s.size() - 2));
  if (s.back() == '.') s.remove_suffix(1);
  return valid_domain(s) && (!has_8bit(s) || valid_utf8(s));
}

bool valid_utf8(std::string_view s) { return common::valid_utf8(s); }

}  // namespace mailfort::smtp
