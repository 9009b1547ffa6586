// daemon/config_gate.cpp: the security gate of `mailfort serve` (see config_gate.hpp).
// SPDX-License-Identifier: MIT
#include "daemon/config_gate.hpp"

#include "log/logger.hpp"

namespace mailfort::daemon {

namespace {
nlohmann::json finding_json(const config::diagnostic& d) {
  nlohmann::json j = {{"severity", d.severity}, {"key", d.key}, {"message", d.message}};
  if (!d.file.empty()) j["file"] = d.file;
  if (d.line > 0) j["line"] = d.line;
  return j;
}
}  // namespace

bool admit_config(const std::vector<config::diagnostic>& findings, bool allow_insecure, std::string_view when) {
  nlohmann::json blocking = nlohmann::json::array();
  for (const auto& d : findings) {
    if (config::blocks_serve(d))
      blocking.push_back(finding_json(d));
    else if (d.kind == config::diagnostic::kind::finding && d.severity == "high")
      log::warning("config_finding", {{"when", std::string(when)}, {"finding", finding_json(d)}});
  }
  if (blocking.empty()) return true;
  if (allow_insecure) {
    // Loud on purpose: error level, every finding spelled out, at start and on every reload.
    log::error("insecure_override",
               {{"when", std::string(when)},
                {"findings", blocking},
                {"note",
                 "--allow-insecure: running with critical configuration findings that would otherwise stop the "
                 "server. For a lab only, never in production"}});
    return true;
  }
  log::error("config_refused",
             {{"when", std::string(when)},
              {"findings", blocking},
              {"note", when == "start" ? "not starting: fix the findings (`mailfort config check`), or run "
                                         "`mailfort serve --allow-insecure` in a lab"
                                       : "reload refused: the running configuration and certificate stay"}});
  return false;
}

bool admit_reload(const config::config& running, bool allow_insecure) {
  if (running.source_file.empty()) return true;  // the embedded defaults cannot have changed
  auto loaded = config::load_file(running.source_file);
  if (!loaded.ok()) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : loaded.diagnostics)
      if (d.kind == config::diagnostic::kind::error)
        errors.push_back((d.line > 0 ? std::to_string(d.line) + ": " : std::string()) +
                         (d.key.empty() ? "" : d.key + ": ") + d.message);
    log::error("config_refused", {{"when", "reload"},
                                  {"file", running.source_file},
                                  {"errors", errors},
                                  {"note", "reload refused: the running configuration and certificate stay"}});
    return false;
  }
  return admit_config(config::check_security(loaded), allow_insecure, "reload");
}

}  // namespace mailfort::daemon
