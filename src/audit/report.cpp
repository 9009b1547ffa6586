// audit/report.cpp: [pure] report model, exit codes, area scores and the text / JSON / HTML renderers.
// SPDX-License-Identifier: MIT
#include "audit/report.hpp"

#include "common/clock.hpp"
#include "common/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

namespace mailfort::audit {

namespace {

constexpr std::array<const char*, 5> k_severity = {"info", "low", "medium", "high", "critical"};

struct area_info {
  const char* name;
  const char* description;
};
constexpr std::array<area_info, control_area_count> k_areas = {{
    {"tls", "Transport encryption (STARTTLS, TLS versions, ciphers)"},
    {"certificate", "Server certificate (chain, name, expiry)"},
    {"auth", "Authentication exposure (AUTH before TLS, port roles)"},
    {"relay", "Relay control (open relay)"},
    {"disclosure", "Information disclosure (banner, VRFY/EXPN)"},
    {"protocol", "SMTP protocol robustness (smuggling, early talkers, SIZE)"},
    {"dns", "DNS hygiene (MX, PTR/FCrDNS, blocklists)"},
    {"spf", "SPF (RFC 7208)"},
    {"dkim", "DKIM keys (RFC 6376)"},
    {"dmarc", "DMARC (RFC 7489)"},
    {"mta-sts", "MTA-STS (RFC 8461)"},
    {"tls-rpt", "SMTP TLS reporting (RFC 8460)"},
    {"dane", "DANE for SMTP (RFC 7672)"},
    {"config", "mailfort configuration"},
}};

int penalty(severity s) {
  switch (s) {
    case severity::critical:
      return 60;
    case severity::high:
      return 35;
    case severity::medium:
      return 15;
    case severity::low:
      return 5;
    case severity::info:
      return 0;
  }
  return 0;
}

// Length of a valid non-ASCII UTF-8 sequence at s[i] (no overlongs, no surrogates, no C1 controls: U+009B is
// CSI), 0 when invalid.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto u = common::utf8_decode(s, i);
  return u.cp < 0xA0 ? 0 : u.len;
}

std::string html_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

const char* ansi(severity s) {
  switch (s) {
    case severity::critical:
      return "\x1b[1;35m";
    case severity::high:
      return "\x1b[1;31m";
    case severity::medium:
      return "\x1b[33m";
    case severity::low:
      return "\x1b[36m";
    case severity::info:
      return "\x1b[2m";
  }
  return "";
}

std::string summary_line(const report& r) {
  std::string s = std::to_string(r.findings.size()) + " finding(s):";
  for (int i = 4; i >= 0; --i) {
    s += " " + std::to_string(count(r, static_cast<severity>(i))) + " " + k_severity[static_cast<std::size_t>(i)];
    if (i > 0) s += ",";
  }
  return s;
}

}  // namespace

const char* to_string(severity s) { return k_severity[static_cast<std::size_t>(s)]; }

std::optional<severity> parse_severity(std::string_view s) {
  for (std::size_t i = 0; i < k_severity.size(); ++i) {
    std::string_view n = k_severity[i];
    if (n.size() == s.size() && std::equal(n.begin(), n.end(), s.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      return static_cast<severity>(i);
  }
  return std::nullopt;
}

const char* to_string(control_area a) { return k_areas[static_cast<std::size_t>(a)].name; }
const char* describe(control_area a) { return k_areas[static_cast<std::size_t>(a)].description; }
std::optional<control_area> parse_control_area(std::string_view s) {
  for (std::size_t i = 0; i < k_areas.size(); ++i)
    if (s == k_areas[i].name) return static_cast<control_area>(i);
  return std::nullopt;
}

const char* to_string(check_record::state s) {
  switch (s) {
    case check_record::state::ran:
      return "ran";
    case check_record::state::skipped:
      return "skipped";
    case check_record::state::error:
      return "error";
  }
  return "?";
}

void report::ran(std::string id, control_area a, std::string note) {
  checks.push_back({std::move(id), a, check_record::state::ran, std::move(note)});
}
void report::skipped(std::string id, control_area a, std::string note) {
  checks.push_back({std::move(id), a, check_record::state::skipped, std::move(note)});
}
void report::error(std::string id, control_area a, std::string note) {
  checks.push_back({std::move(id), a, check_record::state::error, std::move(note)});
}

void report::sort() {
  std::stable_sort(findings.begin(), findings.end(), [](const finding& a, const finding& b) { return a.sev > b.sev; });
}

std::size_t count(const report& r, severity s) {
  return static_cast<std::size_t>(
      std::count_if(r.findings.begin(), r.findings.end(), [s](const finding& f) { return f.sev == s; }));
}
std::size_t count_at_or_above(const report& r, severity s) {
  return static_cast<std::size_t>(
      std::count_if(r.findings.begin(), r.findings.end(), [s](const finding& f) { return f.sev >= s; }));
}

int exit_code(const report& r, severity fail_on) {
  if (r.could_not_run) return 2;
  return count_at_or_above(r, fail_on) ? 1 : 0;
}

std::vector<area_score> area_scores(const report& r) {
  std::array<area_score, control_area_count> all{};
  std::array<bool, control_area_count> seen{};
  for (int i = 0; i < control_area_count; ++i) all[static_cast<std::size_t>(i)].area = static_cast<control_area>(i);
  for (const auto& c : r.checks) {
    auto& a = all[static_cast<std::size_t>(c.area)];
    seen[static_cast<std::size_t>(c.area)] = true;
    if (c.st != check_record::state::skipped) ++a.checks;
    if (c.st == check_record::state::error) ++a.errors;
  }
  for (const auto& f : r.findings) {
    auto i = static_cast<std::size_t>(f.area);
    seen[i] = true;
    if (f.sev == severity::info) continue;
    auto& a = all[i];
    ++a.findings;
    a.score = std::max(0, a.score - penalty(f.sev));
    if (!a.worst || f.sev > *a.worst) a.worst = f.sev;
  }
  std::vector<area_score> out;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (seen[i]) out.push_back(all[i]);
  return out;
}

int overall_score(const report& r) {
  int s = 100;
  for (const auto& a : area_scores(r)) s = std::min(s, a.score);
  return s;
}

std::string safe_text(std::string_view s, std::size_t max_len) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    if (o.size() >= max_len) {
      o += "...";
      break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      o += static_cast<char>(c);
      ++i;
    } else if (c == '\\') {
      o += "\\\\";
      ++i;
    } else if (std::size_t n = c >= 0x80 ? utf8_len(s, i) : 0; n > 0) {
      o.append(s.substr(i, n));
      i += n;
    } else {
      o += "\\x";
      o += hex[c >> 4];
      o += hex[c & 15];
      ++i;
    }
  }
  return o;
}

std::string render_text(const report& r, bool color) {
  auto paint = [color](severity s, const std::string& t) { return color ? std::string(ansi(s)) + t + "\x1b[0m" : t; };
  std::string o = "mailfort audit " + safe_text(r.kind) + " " + safe_text(r.target) + " (" +
                  common::utc_text(r.started_at) + ", " + std::to_string(r.duration_ms) + " ms)\n";
  if (r.could_not_run) o += "the audit could not run: " + safe_text(r.failure) + "\n";
  for (int i = 4; i >= 0; --i) {
    auto sev = static_cast<severity>(i);
    bool header = false;
    for (const auto& f : r.findings) {
      if (f.sev != sev) continue;
      if (!header) {
        std::string h = std::string(to_string(sev));
        for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        o += "\n" + paint(sev, "== " + h + " ==") + "\n";
        header = true;
      }
      o += paint(sev, "[" + std::string(to_string(sev)) + "]") + " " + to_string(f.area) + ": " + safe_text(f.title) +
           "  (" + safe_text(f.id) + ")\n";
      if (!f.subject.empty()) o += "    on:       " + safe_text(f.subject) + "\n";
      if (!f.evidence.empty()) o += "    evidence: " + safe_text(f.evidence) + "\n";
      if (!f.fix.mailfort.empty()) o += "    mailfort: " + safe_text(f.fix.mailfort) + "\n";
      if (!f.fix.postfix.empty()) o += "    Postfix:  " + safe_text(f.fix.postfix) + "\n";
      if (!f.fix.exim.empty()) o += "    Exim:     " + safe_text(f.fix.exim) + "\n";
    }
  }
  // `audit smtp|domain`: whether the host also serves IMAP/POP3 (audit/mailbox_audit.hpp), offered or not.
  std::string offered;
  for (const auto& c : r.checks)
    if (c.id.rfind("imap.offered", 0) == 0 || c.id.rfind("pop3.offered", 0) == 0)
      offered += "    " + safe_text(c.id) + ": " + safe_text(c.note) + "\n";
  if (!offered.empty()) o += "\nmailbox access (IMAP/POP3) on the same host:\n" + offered;
  bool any_problem = false;
  for (const auto& c : r.checks) {
    if (c.st != check_record::state::error) continue;
    if (!any_problem) o += "\nchecks that could not complete:\n";
    any_problem = true;
    o += "    " + safe_text(c.id) + ": " + safe_text(c.note) + "\n";
  }
  o += "\nscore by control area:\n";
  for (const auto& a : area_scores(r)) {
    std::string line = "    " + std::string(to_string(a.area));
    line.resize(18, ' ');
    line += std::to_string(a.score) + "/100";
    if (a.worst) line += "  worst: " + std::string(to_string(*a.worst));
    o += line + "\n";
  }
  o += "\n" + summary_line(r) + "\n";
  return o;
}

std::string render_json(const report& r) {
  using nlohmann::json;
  json findings = json::array();
  for (const auto& f : r.findings)
    findings.push_back({{"id", f.id},
                        {"severity", to_string(f.sev)},
                        {"area", to_string(f.area)},
                        {"title", f.title},
                        {"subject", f.subject},
                        {"evidence", f.evidence},
                        {"fix", {{"mailfort", f.fix.mailfort}, {"postfix", f.fix.postfix}, {"exim", f.fix.exim}}}});
  json checks = json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"id", c.id}, {"area", to_string(c.area)}, {"status", to_string(c.st)}, {"note", c.note}});
  json by_sev = json::object();
  for (int i = 0; i < 5; ++i) by_sev[k_severity[static_cast<std::size_t>(i)]] = count(r, static_cast<severity>(i));
  json areas = json::array();
  for (const auto& a : area_scores(r))
    areas.push_back({{"area", to_string(a.area)},
                     {"description", describe(a.area)},
                     {"score", a.score},
                     {"findings", a.findings},
                     {"worst", a.worst ? json(to_string(*a.worst)) : json(nullptr)},
                     {"checks", a.checks},
                     {"errors", a.errors}});
  std::optional<severity> highest;
  for (const auto& f : r.findings)
    if (!highest || f.sev > *highest) highest = f.sev;
  json j = {{"schema", "mailfort-audit/1"},
            {"kind", r.kind},
            {"target", r.target},
            {"version", r.version},
            {"started_at", common::utc_text(r.started_at)},
            {"duration_ms", r.duration_ms},
            {"completed", !r.could_not_run},
            {"failure", r.failure},
            {"summary",
             {{"total", r.findings.size()},
              {"by_severity", by_sev},
              {"highest", highest ? json(to_string(*highest)) : json(nullptr)},
              {"score", overall_score(r)},
              {"areas", areas}}},
            {"findings", findings},
            {"checks", checks}};
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_html(const report& r) {
  auto esc = [](std::string_view s) { return html_escape(safe_text(s)); };
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  o += "<title>mailfort audit " + esc(r.kind) + " " + esc(r.target) + "</title>\n";
  o += "<style>\n"
       "body{font-family:system-ui,sans-serif;margin:2em;color:#222;background:#fafafa}\n"
       "h1{font-size:1.5em}table{border-collapse:collapse;margin:1em 0}\n"
       "td,th{border:1px solid #ccc;padding:.35em .7em;text-align:left}th{background:#eee}\n"
       ".score{font-weight:bold}.s100{color:#17702a}.smid{color:#a86500}.slow{color:#b00020}\n"
       ".finding{border-left:6px solid #999;background:#fff;margin:.8em 0;padding:.5em 1em}\n"
       ".critical{border-color:#6a1b9a}.high{border-color:#c62828}.medium{border-color:#ef8f00}\n"
       ".low{border-color:#0277bd}.info{border-color:#9e9e9e}\n"
       ".sev{display:inline-block;min-width:5em;font-weight:bold;text-transform:uppercase}\n"
       "code,pre{background:#f0f0f0;padding:.1em .3em;white-space:pre-wrap;word-break:break-all}\n"
       "#overall{font-size:2.5em;font-weight:bold}\n"
       "#summary{background:#eef3ff;border:3px solid #3a5bd9;padding:.2em 1em;margin-bottom:1.5em}\n"
       "</style></head><body>\n";
  o += "<h1>mailfort audit: " + esc(r.kind) + " <code>" + esc(r.target) + "</code></h1>\n";
  o += "<p>" + common::utc_text(r.started_at) + " &middot; " + std::to_string(r.duration_ms) +
       " ms &middot; mailfort " + esc(r.version) + "</p>\n";
  if (r.could_not_run) o += "<p class=\"slow\"><strong>The audit could not run:</strong> " + esc(r.failure) + "</p>\n";
  int overall = overall_score(r);
  auto cls = [](int s) { return s == 100 ? "s100" : s >= 50 ? "smid" : "slow"; };
  o += "<section id=\"summary\"><h2>Summary</h2>\n";
  o += "<div>Overall score <span id=\"overall\" class=\"score " + std::string(cls(overall)) + "\">" +
       std::to_string(overall) + "/100</span></div>\n";
  o += "<p>" + esc(summary_line(r)) + "</p>\n";
  o += "<table><tr><th>Control area</th><th>Score</th><th>Findings</th><th>Worst</th><th>Checks</th></tr>\n";
  for (const auto& a : area_scores(r)) {
    o += "<tr><td>" + esc(describe(a.area)) + "</td><td class=\"score " + cls(a.score) + "\">" +
         std::to_string(a.score) + "</td><td>" + std::to_string(a.findings) + "</td><td>" +
         (a.worst ? std::string(to_string(*a.worst)) : std::string("-")) + "</td><td>" + std::to_string(a.checks) +
         (a.errors ? " (" + std::to_string(a.errors) + " incomplete)" : std::string()) + "</td></tr>\n";
  }
  o += "</table></section>\n<section id=\"findings\"><h2>Findings</h2>\n";
  if (r.findings.empty()) o += "<p>No findings.</p>\n";
  for (const auto& f : r.findings) {
    o += "<div class=\"finding " + std::string(to_string(f.sev)) + "\"><span class=\"sev\">" + to_string(f.sev) +
         "</span> <strong>" + esc(f.title) + "</strong> <small>" + esc(to_string(f.area)) + " &middot; " + esc(f.id) +
         "</small>\n<dl>";
    if (!f.subject.empty()) o += "<dt>On</dt><dd><code>" + esc(f.subject) + "</code></dd>";
    if (!f.evidence.empty()) o += "<dt>Evidence</dt><dd><pre>" + esc(f.evidence) + "</pre></dd>";
    if (!f.fix.mailfort.empty()) o += "<dt>Fix in mailfort</dt><dd>" + esc(f.fix.mailfort) + "</dd>";
    if (!f.fix.postfix.empty()) o += "<dt>Fix in Postfix</dt><dd>" + esc(f.fix.postfix) + "</dd>";
    if (!f.fix.exim.empty()) o += "<dt>Fix in Exim</dt><dd>" + esc(f.fix.exim) + "</dd>";
    o += "</dl></div>\n";
  }
  o += "</section>\n<section id=\"checks\"><h2>Checks</h2><table><tr><th>Check</th><th>Area</th><th>Status</th>"
       "<th>Note</th></tr>\n";
  for (const auto& c : r.checks)
    o += "<tr><td>" + esc(c.id) + "</td><td>" + esc(to_string(c.area)) + "</td><td>" + to_string(c.st) + "</td><td>" +
         esc(c.note) + "</td></tr>\n";
  o += "</table></section>\n</body></html>\n";
  return o;
}

}  // namespace mailfort::audit
