// cli/config.cpp: `mailfort config check [FILE]` and `mailfort config defaults`; config loading for every verb.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>

namespace mailfort::cli {

namespace {

std::string render(const config::diagnostic& d) {
  std::string where = d.file.empty() ? "(defaults)" : d.file;
  if (d.line > 0) where += ":" + std::to_string(d.line);
  std::string kind = d.kind == config::diagnostic::kind::error ? "error" : "finding[" + d.severity + "]";
  return where + ": " + kind + ": " + (d.key.empty() ? "" : d.key + ": ") + d.message;
}

config::load_result load(const std::string& file) {
  if (file.empty()) {
    config::load_result r;
    return r;
  }
  return config::load_file(file);
}

}  // namespace

config::config load_config_or_exit(const common_options& opts) {
  auto r = load(opts.config_file);
  bool bad = false;
  for (const auto& d : r.diagnostics) {
    if (d.kind == config::diagnostic::kind::error) {
      std::cerr << render(d) << "\n";
      bad = true;
    }
  }
  if (bad) {
    std::cerr << "mailfort: the configuration has errors; nothing was started\n";
    std::exit(2);
  }
  if (!opts.data_dir.empty()) r.cfg.data_dir = opts.data_dir;
  return r.cfg;
}

void register_config(CLI::App& app, common_options& opts, int& exit_code) {
  auto* c = app.add_subcommand("config", "check a configuration or print the defaults");
  c->require_subcommand(1);

  auto* defaults = c->add_subcommand("defaults", "print the annotated embedded defaults (valid TOML)");
  defaults->callback([&exit_code] {
    std::cout << config::annotated_defaults();
    exit_code = 0;
  });

  static std::string file;
  static std::string format = "text";
  auto* check = c->add_subcommand("check", "report errors (file:line) and insecure choices as findings");
  check->add_option("FILE", file, "config file (default: --config, else the embedded defaults)");
  check->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  check->callback([&opts, &exit_code] {
    std::string f = file.empty() ? opts.config_file : file;
    auto r = load(f);
    std::vector<config::diagnostic> all = r.diagnostics;
    if (r.ok()) {
      auto findings = config::check_security(r.cfg);
      all.insert(all.end(), findings.begin(), findings.end());
    }
    std::size_t errors = 0, serious = 0, findings = 0;
    for (const auto& d : all) {
      if (d.kind == config::diagnostic::kind::error) {
        ++errors;
      } else {
        ++findings;
        if (d.severity == "high" || d.severity == "critical") ++serious;
      }
    }
    if (format == "json") {
      auto arr = nlohmann::json::array();
      for (const auto& d : all)
        arr.push_back({{"kind", d.kind == config::diagnostic::kind::error ? "error" : "finding"},
                       {"severity", d.severity}, {"file", d.file.empty() ? "(defaults)" : d.file}, {"line", d.line},
                       {"key", d.key}, {"message", d.message}});
      std::cout << arr.dump(2) << "\n";
    } else {
      for (const auto& d : all) std::cout << render(d) << "\n";
      std::cout << (f.empty() ? "(defaults)" : f) << ": " << errors << " error(s), " << findings << " finding(s)"
                << (serious ? " (" + std::to_string(serious) + " high or critical)" : std::string()) << "\n";
    }
    exit_code = errors ? 2 : (serious ? 1 : 0);
  });
}

}  // namespace mailfort::cli
