// report/tlsrpt.cpp: RFC 8460 record parser and report builder (see tlsrpt.hpp).
// SPDX-License-Identifier: MIT
#include "report/tlsrpt.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <limits>
#include <map>
#include <tuple>

namespace mailfort::report {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ieq_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// RFC 8460 3 ABNF: ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool valid_field_name(std::string_view n) {
  if (n.empty() || n.size() > 32 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::int64_t sat_add(std::int64_t a, std::int64_t b) {
  if (b <= 0) return a;
  if (a > std::numeric_limits<std::int64_t>::max() - b) return std::numeric_limits<std::int64_t>::max();
  return a + b;
}

}  // namespace

std::optional<tlsrpt_record> parse_tlsrpt_record(std::string_view txt) {
  if (txt.size() > tlsrpt_max_record) return std::nullopt;
  tlsrpt_record rec;
  bool first = true, have_rua = false;
  while (true) {
    auto semi = txt.find(';');
    std::string_view field = trim(txt.substr(0, semi));
    if (first) {
      if (field != "v=TLSRPTv1") return std::nullopt;
      first = false;
    } else if (!field.empty()) {
      auto eq = field.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      std::string_view name = trim(field.substr(0, eq));
      std::string_view value = trim(field.substr(eq + 1));
      if (!valid_field_name(name)) return std::nullopt;
      if (name == "rua") {
        if (have_rua) return std::nullopt;
        have_rua = true;
        while (true) {
          auto comma = value.find(',');
          std::string_view uri = trim(value.substr(0, comma));
          if (uri.empty() || uri.size() > tlsrpt_max_uri || rec.rua.size() >= tlsrpt_max_rua) return std::nullopt;
          for (char c : uri)
            if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return std::nullopt;
          if (!ieq_prefix(uri, "mailto:") && !ieq_prefix(uri, "https:")) return std::nullopt;
          rec.rua.emplace_back(uri);
          if (comma == std::string_view::npos) break;
          value.remove_prefix(comma + 1);
        }
      }
      // Other tlsrpt-ext fields are ignored (RFC 8460 3).
    }
    if (semi == std::string_view::npos) break;
    txt.remove_prefix(semi + 1);
  }
  if (!have_rua) return std::nullopt;
  return rec;
}

std::optional<tlsrpt_record> select_tlsrpt_record(const std::vector<std::string>& txts) {
  const std::string_view prefix = "v=TLSRPTv1";
  const std::string* found = nullptr;
  for (const auto& t : txts) {
    std::string_view v = trim(t);
    if (v.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = trim(v.substr(prefix.size()));
    if (!rest.empty() && rest.front() != ';') continue;  // "v=TLSRPTv10" is another version
    if (found) return std::nullopt;                      // more than one: no reports (RFC 8460 3)
    found = &t;
  }
  if (!found) return std::nullopt;
  return parse_tlsrpt_record(*found);
}

std::string tlsrpt_txt_name(std::string_view domain) {
  std::string d(domain);
  if (!d.empty() && d.back() == '.') d.pop_back();
  return "_smtp._tls." + d;
}

std::optional<std::string> tlsrpt_mailto(std::string_view uri) {
  if (!ieq_prefix(uri, "mailto:")) return std::nullopt;
  uri.remove_prefix(7);
  uri = uri.substr(0, uri.find('?'));
  std::string addr;
  for (std::size_t i = 0; i < uri.size(); ++i) {
    char c = uri[i];
    if (c == '%') {
      if (i + 2 >= uri.size()) return std::nullopt;
      int h = hexval(uri[i + 1]), l = hexval(uri[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      c = static_cast<char>(h * 16 + l);
      i += 2;
    }
    addr.push_back(c);
  }
  if (addr.empty() || addr.size() > 254) return std::nullopt;
  for (char c : addr) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;
    if (std::string_view("<>()[],;:\"\\").find(c) != std::string_view::npos) return std::nullopt;
  }
  auto at = addr.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= addr.size() || addr.find('@') != at) return std::nullopt;
  std::string_view dom(addr);
  dom.remove_prefix(at + 1);
  if (dom.front() == '.' || dom.back() == '.' || dom.find("..") != std::string_view::npos) return std::nullopt;
  return addr;
}

bool tlsrpt_known_result(std::string_view r) {
  static constexpr std::string_view known[] = {"",  // success
                                               "starttls-not-supported",
                                               "certificate-host-mismatch",
                                               "certificate-expired",
                                               "certificate-not-trusted",
                                               "validation-failure",
                                               "tlsa-invalid",
                                               "dnssec-invalid",
                                               "dane-required",
                                               "sts-policy-fetch-error",
                                               "sts-policy-invalid",
                                               "sts-webpki-invalid"};
  return std::find(std::begin(known), std::end(known), r) != std::end(known);
}

std::string tlsrpt_datetime(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (!gmtime_r(&tt, &tm)) return "1970-01-01T00:00:00Z";
  char buf[40];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "1970-01-01T00:00:00Z";
  return buf;
}

std::string build_tlsrpt_json(const tlsrpt_report_input& in) {
  using json = nlohmann::ordered_json;
  using policy_key = std::tuple<std::string, std::vector<std::string>, std::string, std::vector<std::string>>;
  using detail_key = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  struct agg {
    std::int64_t ok = 0, failed = 0;
    std::map<detail_key, std::int64_t> details;
  };
  std::map<policy_key, agg> policies;
  for (const auto& r : in.rows) {
    const auto& s = r.s;
    auto& a = policies[policy_key{s.policy_type, s.policy_string, s.policy_domain, s.mx_host}];
    std::int64_t n = std::max<std::int64_t>(r.count, 0);
    if (s.result_type.empty()) {
      a.ok = sat_add(a.ok, n);
      continue;
    }
    a.failed = sat_add(a.failed, n);
    std::string rt = tlsrpt_known_result(s.result_type) ? s.result_type : "validation-failure";
    auto& d = a.details[detail_key{rt, s.sending_ip, s.receiving_mx, s.receiving_ip, s.additional_info}];
    d = sat_add(d, n);
  }
  json report;
  report["organization-name"] = in.organization;
  report["date-range"] = {{"start-datetime", tlsrpt_datetime(in.start)}, {"end-datetime", tlsrpt_datetime(in.end)}};
  report["contact-info"] = in.contact;
  report["report-id"] = in.report_id;
  json pol = json::array();
  for (const auto& [k, a] : policies) {
    json p;
    p["policy"]["policy-type"] = std::get<0>(k);
    if (!std::get<1>(k).empty()) p["policy"]["policy-string"] = std::get<1>(k);
    p["policy"]["policy-domain"] = std::get<2>(k);
    if (!std::get<3>(k).empty()) p["policy"]["mx-host"] = std::get<3>(k);
    p["summary"] = {{"total-successful-session-count", a.ok}, {"total-failure-session-count", a.failed}};
    if (!a.details.empty()) {
      json fd = json::array();
      for (const auto& [dk, n] : a.details) {
        json d;
        d["result-type"] = std::get<0>(dk);
        if (!std::get<1>(dk).empty()) d["sending-mta-ip"] = std::get<1>(dk);
        if (!std::get<2>(dk).empty()) d["receiving-mx-hostname"] = std::get<2>(dk);
        if (!std::get<3>(dk).empty()) d["receiving-ip"] = std::get<3>(dk);
        d["failed-session-count"] = n;
        if (!std::get<4>(dk).empty()) d["additional-information"] = std::get<4>(dk);
        fd.push_back(std::move(d));
      }
      p["failure-details"] = std::move(fd);
    }
    pol.push_back(std::move(p));
  }
  report["policies"] = std::move(pol);
  return report.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mailfort::report
