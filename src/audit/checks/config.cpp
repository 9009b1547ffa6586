// audit/checks/config.cpp: mailfort configuration findings (config::check_security) as audit findings.
// SPDX-License-Identifier: MIT
#include "audit/config_audit.hpp"

#include <chrono>

namespace mailfort::audit {

report config_report(const config::load_result& loaded, const std::string& target) {
  report rep;
  rep.kind = "config";
  rep.version = MAILFORT_AUDIT_VERSION;
  rep.target = target.empty() ? "(defaults)" : target;
  rep.started_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string errors;
  for (const auto& d : loaded.diagnostics) {
    if (d.kind != config::diagnostic::kind::error) continue;
    errors += (errors.empty() ? "" : "; ") + (d.file.empty() ? std::string("(defaults)") : d.file) +
              (d.line > 0 ? ":" + std::to_string(d.line) : "") + ": " + (d.key.empty() ? "" : d.key + ": ") + d.message;
  }
  if (!errors.empty()) {
    rep.could_not_run = true;
    rep.failure = "the configuration has errors: " + errors;
    rep.error("config.load", control_area::config, errors);
    return rep;
  }
  rep.ran("config.security", control_area::config);
  for (const auto& d : config::check_security(loaded)) {
    finding f;
    f.id = "config." + (d.key.empty() ? std::string("general") : d.key);
    f.sev = parse_severity(d.severity).value_or(severity::medium);
    f.area = control_area::config;
    f.title = d.message;
    f.subject =
        (d.file.empty() ? std::string("(defaults)") : d.file) + (d.line > 0 ? ":" + std::to_string(d.line) : "");
    f.evidence = d.key.empty() ? "" : "key " + d.key;
    f.fix.mailfort =
        d.key.empty() ? "see `mailfort config defaults`" : "set " + d.key + " as `mailfort config defaults` shows";
    rep.add(std::move(f));
  }
  rep.sort();
  return rep;
}

report run_config_audit(const std::string& file) {
  auto t0 = std::chrono::steady_clock::now();
  config::load_result loaded = file.empty() ? config::load_result{} : config::load_file(file);
  auto rep = config_report(loaded, file);
  rep.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace mailfort::audit
