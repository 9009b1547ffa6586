// auth/dmarc_report.cpp: [pure] DMARC aggregate report XML (see dmarc_report.hpp).
// SPDX-License-Identifier: MIT
#include "auth/dmarc_report.hpp"

#include "common/utf8.hpp"

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

}  // namespace

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
  // (header_from, source_ip, disposition, dkim, spf) -> count
  using key = std::tuple<std::string, std::string, std::string_view, std::string_view, std::string_view>;
  std::map<key, std::int64_t> merged;
  for (const auto& r : in.rows) {
    auto& c =
        merged[key{r.header_from, r.source_ip, xml_disposition(r.disposition), xml_result(r.dkim), xml_result(r.spf)}];
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
  xml_close(out, 1, "policy_published");

  for (const auto& [k, count] : merged) {
    if (count <= 0) continue;
    const auto& [header_from, source_ip, disposition, dkim, spf] = k;
    xml_open(out, 1, "record");
    xml_open(out, 2, "row");
    xml_element(out, 3, "source_ip", source_ip);
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
    xml_open(out, 2, "auth_results");
    out +=
        "      <!-- not stored: the raw SPF result and domain, each DKIM signature's d=, s= and result; only the "
        "aligned outcomes above are kept -->\n";
    xml_close(out, 2, "auth_results");
    xml_close(out, 1, "record");
  }
  out += "</feedback>\n";
  return out;
}

}  // namespace mailfort::dmarc
