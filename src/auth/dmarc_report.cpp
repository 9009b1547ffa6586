// auth/dmarc_report.cpp: [pure] DMARC aggregate report XML (see dmarc_report.hpp).
// SPDX-License-Identifier: MIT
#include "auth/dmarc_report.hpp"

#include "common/utf8.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <limits>
#include <map>
#include <tuple>

namespace mailfort::dmarc {

namespace {

constexpr std::string_view xml_replacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence of an XML 1.0 character at s[i], 0 when there is none.
std::size_t xml_char_len(std::string_view s, std::size_t i) {
  const auto u = common::utf8_decode(s, i);
  if (u.cp < 0x20 && u.cp != '\t' && u.cp != '\n' && u.cp != '\r') return 0;  // C0 controls (and invalid: len 0)
  if (u.cp == 0xFFFE || u.cp == 0xFFFF) return 0;                             // not XML characters
  return u.len;
}

std::int64_t xml_saturating_add(std::int64_t a, std::int64_t b) {
  if (b <= 0) return a;
  return a > std::numeric_limits<std::int64_t>::max() - b ? std::numeric_limits<std::int64_t>::max() : a + b;
}

void xml_element(std::string& out, int indent, std::string_view name, std::string_view text) {
  out.append(static_cast<std::size_t>(indent) * 2, ' ');
  out += '<';
  out += name;
  out += '>';
  out += xml_text(text);
  out += "</";
  out += name;
  out += ">\n";
}

void xml_open(std::string& out, int indent, std::string_view name) {
  out.append(static_cast<std::size_t>(indent) * 2, ' ');
  out += '<';
  out += name;
  out += ">\n";
}

void xml_close(std::string& out, int indent, std::string_view name) {
  out.append(static_cast<std::size_t>(indent) * 2, ' ');
  out += "</";
  out += name;
  out += ">\n";
}

std::string_view xml_disposition(std::string_view d) {
  if (d == "quarantine" || d == "reject") return d;
  return "none";
}

std::string_view xml_result(std::string_view r) { return r == "pass" ? "pass" : "fail"; }

// Enumerated raw results: a value outside the schema's set is written as the closest safe one.
std::string_view xml_spf_result(std::string_view r) {
  for (std::string_view v : {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"})
    if (r == v) return v;
  return "none";
}
std::string_view xml_dkim_result(std::string_view r) {
  for (std::string_view v : {"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"})
    if (r == v) return v;
  return "permerror";
}
std::string_view xml_scope(std::string_view s) { return s == "helo" ? "helo" : "mfrom"; }

// An IPv6 address in its full form (eight groups), the form RFC 7489's IPAddress pattern accepts; anything else
// (IPv4, or text that is no address) is returned as it is and escaped by the caller.
std::string xml_source_ip(const std::string& ip) {
  if (ip.find(':') == std::string::npos || ip.size() > 64) return ip;
  unsigned char b[16];
  if (::inet_pton(AF_INET6, ip.c_str(), b) != 1) return ip;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    char g[8];
    std::snprintf(g, sizeof g, "%x", static_cast<unsigned>((b[2 * i] << 8) | b[2 * i + 1]));
    if (i) out += ':';
    out += g;
  }
  return out;
}

// Storage escaping: '%', TAB and LF become %25, %09, %0a, so fields and lines can be split again.
void raw_put_field(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '%')
      out += "%25";
    else if (c == '\t')
      out += "%09";
    else if (c == '\n')
      out += "%0a";
    else
      out += c;
  }
}

std::string raw_get_field(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size()) {
      const auto code = v.substr(i + 1, 2);
      if (code == "25" || code == "09" || code == "0a") {
        out += code == "25" ? '%' : code == "09" ? '\t' : '\n';
        i += 2;
        continue;
      }
    }
    out += v[i];
  }
  return out;
}

std::vector<std::string_view> raw_split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    const auto p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

}  // namespace

std::string encode_raw_auth(const raw_auth& a) {
  std::string out = "spf\t";
  raw_put_field(out, a.spf.domain);
  out += '\t';
  raw_put_field(out, a.spf.scope);
  out += '\t';
  raw_put_field(out, a.spf.result);
  std::size_t n = 0;
  for (const auto& d : a.dkim) {
    if (++n > max_raw_dkim) break;
    out += "\ndkim\t";
    raw_put_field(out, d.domain);
    out += '\t';
    raw_put_field(out, d.selector);
    out += '\t';
    raw_put_field(out, d.result);
  }
  return out;
}

raw_auth decode_raw_auth(std::string_view text) {
  raw_auth a;
  for (auto line : raw_split(text, '\n')) {
    const auto f = raw_split(line, '\t');
    if (f.size() != 4) continue;
    if (f[0] == "spf") {
      a.spf = spf_auth{raw_get_field(f[1]), raw_get_field(f[2]), raw_get_field(f[3])};
    } else if (f[0] == "dkim" && a.dkim.size() < max_raw_dkim) {
      a.dkim.push_back(dkim_auth{raw_get_field(f[1]), raw_get_field(f[2]), raw_get_field(f[3])});
    }
  }
  return a;
}

std::string xml_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = xml_char_len(s, i);
    if (n == 0) {
      out += xml_replacement;
      ++i;
      continue;
    }
    if (n == 1) {
      switch (s[i]) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        default:
          out += s[i];
      }
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string build_aggregate_report_xml(const aggregate_report& in) {
  // (header_from, source_ip, disposition, dkim, spf, raw results) -> count
  using key = std::tuple<std::string, std::string, std::string_view, std::string_view, std::string_view, std::string>;
  std::map<key, std::int64_t> merged;
  for (const auto& r : in.rows) {
    auto& c = merged[key{r.header_from, r.source_ip, xml_disposition(r.disposition), xml_result(r.dkim),
                         xml_result(r.spf), r.auth}];
    c = xml_saturating_add(c, r.count);
  }

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n";
  xml_element(out, 1, "version", "1.0");
  xml_open(out, 1, "report_metadata");
  xml_element(out, 2, "org_name", in.org_name);
  xml_element(out, 2, "email", in.email);
  xml_element(out, 2, "report_id", in.report_id);
  xml_open(out, 2, "date_range");
  xml_element(out, 3, "begin", std::to_string(in.begin));
  xml_element(out, 3, "end", std::to_string(in.end));
  xml_close(out, 2, "date_range");
  xml_close(out, 1, "report_metadata");

  xml_open(out, 1, "policy_published");
  xml_element(out, 2, "domain", in.policy_domain);
  xml_element(out, 2, "adkim", to_string(in.policy.adkim));
  xml_element(out, 2, "aspf", to_string(in.policy.aspf));
  xml_element(out, 2, "p", to_string(in.policy.p));
  xml_element(out, 2, "sp", to_string(in.policy.sp));
  xml_element(out, 2, "pct", std::to_string(in.policy.pct < 0 ? 0 : in.policy.pct > 100 ? 100 : in.policy.pct));
  std::string fo;
  for (const auto& f : in.policy.fo) fo += (fo.empty() ? "" : ":") + f;
  xml_element(out, 2, "fo", fo.empty() ? "0" : fo);
  xml_close(out, 1, "policy_published");

  for (const auto& [k, count] : merged) {
    if (count <= 0) continue;
    const auto& [header_from, source_ip, disposition, dkim, spf, auth] = k;
    xml_open(out, 1, "record");
    xml_open(out, 2, "row");
    xml_element(out, 3, "source_ip", xml_source_ip(source_ip));
    xml_element(out, 3, "count", std::to_string(count));
    xml_open(out, 3, "policy_evaluated");
    xml_element(out, 4, "disposition", disposition);
    xml_element(out, 4, "dkim", dkim);
    xml_element(out, 4, "spf", spf);
    xml_close(out, 3, "policy_evaluated");
    xml_close(out, 2, "row");
    xml_open(out, 2, "identifiers");
    xml_element(out, 3, "header_from", header_from);
    xml_close(out, 2, "identifiers");
    // Appendix C: any number of <dkim> (one per signature), then at least one <spf>.
    const raw_auth raw = decode_raw_auth(auth);
    xml_open(out, 2, "auth_results");
    for (const auto& d : raw.dkim) {
      xml_open(out, 3, "dkim");
      xml_element(out, 4, "domain", d.domain);
      if (!d.selector.empty()) xml_element(out, 4, "selector", d.selector);
      xml_element(out, 4, "result", xml_dkim_result(d.result));
      xml_close(out, 3, "dkim");
    }
    xml_open(out, 3, "spf");
    xml_element(out, 4, "domain", raw.spf.domain);
    xml_element(out, 4, "scope", xml_scope(raw.spf.scope));
    xml_element(out, 4, "result", xml_spf_result(raw.spf.result));
    xml_close(out, 3, "spf");
    xml_close(out, 2, "auth_results");
    xml_close(out, 1, "record");
  }
  out += "</feedback>\n";
  return out;
}

}  // namespace mailfort::dmarc
