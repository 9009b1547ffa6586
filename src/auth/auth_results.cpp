// auth/auth_results.cpp: [pure] Authentication-Results parsing (authserv-id only), stripping, formatting.
// SPDX-License-Identifier: MIT
#include "auth/auth_results.hpp"

#include "common/ascii.hpp"

#include <algorithm>

namespace mailfort::auth {

namespace {

using common::is_space_or_eol;

bool is_ctl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// RFC 2045 5.1 token character: US-ASCII, not SPACE, not a CTL, not a tspecial.
bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

// Skips whitespace and (nested) comments; false on an unterminated comment or excessive nesting.
bool skip_cfws(std::string_view v, std::size_t& i) {
  while (i < v.size()) {
    if (is_space_or_eol(v[i])) {
      ++i;
      continue;
    }
    if (v[i] != '(') return true;
    int depth = 0;
    for (; i < v.size(); ++i) {
      if (v[i] == '\\') {
        ++i;
      } else if (v[i] == '(') {
        if (++depth > 32) return false;
      } else if (v[i] == ')' && --depth == 0) {
        ++i;
        break;
      }
    }
    if (depth != 0) return false;
  }
  return true;
}

bool is_atext(char c) {
  return common::is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// local-part "@" domain with a dot-atom local part and an LDH domain (RFC 8601 pvalue): no quoting needed.
bool is_plain_address(std::string_view s) {
  const auto at = s.rfind('@');
  if (at == std::string_view::npos) return false;
  const auto local = s.substr(0, at), domain = s.substr(at + 1);
  if (domain.empty() || domain.front() == '.' || domain.back() == '.') return false;
  if (!std::all_of(domain.begin(), domain.end(),
                   [](char c) { return common::is_alnum(c) || c == '-' || c == '.' || c == '_'; }))
    return false;
  if (local.empty()) return true;  // "@domain" is allowed
  if (local.front() == '.' || local.back() == '.') return false;
  return std::all_of(local.begin(), local.end(), [](char c) { return is_atext(c) || c == '.'; });
}

std::string drop_ctls(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!is_ctl(c)) out.push_back(c);
  return out;
}

// Method, result, ptype and property names are keywords: keep only [A-Za-z0-9._-].
std::string keyword(std::string_view s) {
  std::string out;
  for (char c : s)
    if (common::is_alnum(c) || c == '-' || c == '_' || c == '.') out.push_back(c);
  return out.empty() ? std::string("none") : out;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : drop_ctls(s)) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string pvalue(std::string_view s) {
  if (is_token(s) || is_plain_address(s)) return std::string(s);
  return quoted(s);
}

std::string comment(std::string_view s) {
  std::string out = "(";
  for (char c : drop_ctls(s)) {
    if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back(')');
  return out;
}

std::string normalised_id(std::string_view id) {
  std::string s = common::to_lower(id);
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::optional<std::string> authserv_id_of(std::string_view value) {
  std::size_t i = 0;
  if (!skip_cfws(value, i) || i >= value.size()) return std::nullopt;
  std::string id;
  if (value[i] == '"') {
    for (++i; i < value.size(); ++i) {
      char c = value[i];
      if (c == '\\') {
        if (++i >= value.size()) return std::nullopt;
        c = value[i];
      } else if (c == '"') {
        return id.empty() ? std::nullopt : std::optional<std::string>(std::move(id));
      }
      if (id.size() >= 255) return std::nullopt;
      id.push_back(c);
    }
    return std::nullopt;  // unterminated quoted-string
  }
  while (i < value.size() && is_token_char(value[i])) {
    if (id.size() >= 255) return std::nullopt;
    id.push_back(value[i++]);
  }
  if (id.empty()) return std::nullopt;
  return id;
}

std::vector<std::size_t> results_claiming(const parsed_message& msg, std::string_view authserv_id) {
  std::vector<std::size_t> out;
  const std::string ours = normalised_id(authserv_id);
  if (ours.empty()) return out;
  for (std::size_t k = 0; k < msg.fields.size(); ++k) {
    const auto& f = msg.fields[k];
    if (!name_equals(f.name, "Authentication-Results")) continue;
    const auto id = authserv_id_of(f.value);
    if (id && normalised_id(*id) == ours) out.push_back(k);
  }
  return out;
}

std::string strip_fields(std::string_view message, const parsed_message& msg, const std::vector<std::size_t>& indices) {
  std::vector<std::pair<std::size_t, std::size_t>> cut;  // [begin, end) ranges to drop
  for (std::size_t k : indices) {
    if (k >= msg.fields.size()) continue;
    const auto& f = msg.fields[k];
    std::size_t begin = f.offset, end = f.offset + f.raw.size();
    if (begin > message.size() || end > message.size()) continue;
    if (message.substr(end, 2) == "\r\n")
      end += 2;
    else if (message.substr(end, 1) == "\n")
      end += 1;
    cut.emplace_back(begin, end);
  }
  std::sort(cut.begin(), cut.end());
  std::string out;
  out.reserve(message.size());
  std::size_t pos = 0;
  for (const auto& [b, e] : cut) {
    if (b < pos) {  // duplicate index: already cut
      pos = std::max(pos, e);
      continue;
    }
    out.append(message.substr(pos, b - pos));
    pos = e;
  }
  out.append(message.substr(std::min(pos, message.size())));
  return out;
}

std::string format_authentication_results(std::string_view authserv_id, const ar_entries& entries) {
  // Atoms are the pieces that may not be split across lines; folding happens between them.
  std::vector<std::string> atoms;
  std::string id = drop_ctls(authserv_id);
  atoms.push_back("Authentication-Results: " + (is_token(id) ? id : quoted(id)) + ";");
  if (entries.empty()) atoms.emplace_back("none");
  for (std::size_t e = 0; e < entries.size(); ++e) {
    const auto& en = entries[e];
    atoms.push_back(keyword(en.method) + "=" + keyword(en.result));
    if (!en.comment.empty()) atoms.push_back(comment(en.comment));
    if (!en.reason.empty()) atoms.push_back("reason=" + quoted(en.reason));
    for (const auto& p : en.properties)
      atoms.push_back(keyword(p.ptype) + "." + keyword(p.property) + "=" + pvalue(drop_ctls(p.value)));
    if (e + 1 < entries.size()) atoms.back().push_back(';');
  }
  constexpr std::size_t max_columns = 78;
  constexpr std::size_t tab_width = 8;
  std::string out = atoms.front();
  std::size_t col = out.size();
  for (std::size_t k = 1; k < atoms.size(); ++k) {
    const auto& a = atoms[k];
    if (col + 1 + a.size() <= max_columns) {
      out.push_back(' ');
      out += a;
      col += 1 + a.size();
    } else {
      out += "\r\n\t";
      out += a;
      col = tab_width + a.size();
    }
  }
  out += "\r\n";
  return out;
}

}  // namespace mailfort::auth
