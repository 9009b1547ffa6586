// audit/report.hpp: [pure] an audit report (findings + the checks that ran) and its text, JSON and HTML renderers.
// SPDX-License-Identifier: MIT
// Renderers treat every string as untrusted (evidence quotes banners, certificates and DNS records): text
// output escapes control bytes (a hostile banner cannot drive the terminal), JSON is valid UTF-8 (invalid
// bytes replaced), HTML escapes <>&"' everywhere and loads nothing from outside (one self-contained file).
// The JSON schema is "mailfort-audit/1", documented in docs/audit.md; fields are only ever added.
#pragma once
#include "audit/finding.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace mailfort::audit {

// One check that was attempted: ran (findings or not), skipped (not asked for / not applicable) or error
// (could not complete: connection refused, timeout, DNS failure).
struct check_record {
  enum class state : std::uint8_t { ran, skipped, error };
  std::string id;  // "smtp.tls_versions", "domain.spf"
  control_area area = control_area::tls;
  state st = state::ran;
  std::string note;  // why skipped / what failed
};
const char* to_string(check_record::state s);

struct report {
  std::string kind;             // "smtp", "domain", "config"
  std::string target;           // what was audited, as given
  std::int64_t started_at = 0;  // unix seconds
  std::int64_t duration_ms = 0;
  std::string version;         // mailfort version
  bool could_not_run = false;  // the audit as a whole failed (exit code 2)
  std::string failure;         // why, when could_not_run
  std::vector<finding> findings;
  std::vector<check_record> checks;

  void add(finding f) { findings.push_back(std::move(f)); }
  void ran(std::string id, control_area a, std::string note = {});
  void skipped(std::string id, control_area a, std::string note);
  void error(std::string id, control_area a, std::string note);
  // Findings most severe first; stable within a severity (order found).
  void sort();
};

// Exit code for cron/CI: 2 could not run, 1 a finding at or above fail_on, 0 otherwise.
int exit_code(const report& r, severity fail_on);
std::size_t count(const report& r, severity s);
std::size_t count_at_or_above(const report& r, severity s);

// Per control area: a 0..100 score (100 = nothing found; critical -60, high -35, medium -15, low -5, info 0,
// floored at 0) and the worst severity. Areas that had a check or a finding, in enum order.
struct area_score {
  control_area area = control_area::tls;
  int score = 100;
  std::size_t findings = 0;       // excluding info
  std::optional<severity> worst;  // excluding info
  std::size_t checks = 0;
  std::size_t errors = 0;  // checks that could not complete
};
std::vector<area_score> area_scores(const report& r);
int overall_score(const report& r);  // minimum over the areas (100 when none)

std::string render_text(const report& r, bool color);
std::string render_json(const report& r);
std::string render_html(const report& r);

// Control bytes, DEL and invalid UTF-8 shown as \xHH, backslash as \\; cut at max_len bytes with "...".
std::string safe_text(std::string_view s, std::size_t max_len = 4096);

}  // namespace mailfort::audit
