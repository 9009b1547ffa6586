// cli/config.cpp: `mailfort config check [FILE]` and `mailfort config defaults`; config loading for every verb.
// SPDX-License-Identifier: MIT
// Exit codes of `config check`: 2 the file cannot be used (errors), 1 high or critical findings, 0 otherwise,
// so scripts and CI can gate a deployment on it.
#include "cli/cli.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>

namespace mailfort::cli {

// FILE:LINE: error: key: message   (":LINE" left out when the diagnostic is not tied to a line, e.g. a
// finding about a default the file did not set).
std::string render_diagnostic(const config::diagnostic& d) {
  std::string where = d.file.empty() ? "(defaults)" : d.file;
  if (d.line > 0) where += ":" + std::to_string(d.line);
  std::string kind = d.kind == config::diagnostic::kind::error ? "error" : "finding[" + d.severity + "]";
  return where + ": " + kind + ": " + (d.key.empty() ? "" : d.key + ": ") + d.message;
}

namespace {

config::load_result load(const std::string& file) {
  if (file.empty()) return config::load_result{};  // embedded defaults
  return config::load_file(file);
}

bool serious(const config::diagnostic& d) {
  return d.kind == config::diagnostic::kind::finding && (d.severity == "high" || d.severity == "critical");
}

struct check_args {
  std::string file;
  std::string format = "text";
};

}  // namespace

config::config load_config_or_exit(const common_options& opts) { return load_or_exit(opts).cfg; }

config::load_result load_or_exit(const common_options& opts) {
  auto r = load(opts.config_file);
  bool bad = false;
  for (const auto& d : r.diagnostics) {
    if (d.kind == config::diagnostic::kind::error) {
      std::cerr << render_diagnostic(d) << "\n";
      bad = true;
    }
  }
  if (bad) {
    std::cerr << "mailfort: the configuration has errors; nothing was done (see `mailfort config check`)\n";
    std::exit(2);
  }
  if (!opts.data_dir.empty()) r.cfg.data_dir = opts.data_dir;
  return r;
}

void register_config(CLI::App& app, common_options& opts, int& exit_code) {
  auto* c = app.add_subcommand("config", "check a configuration or print the defaults");
  c->require_subcommand(1);

  auto* defaults = c->add_subcommand("defaults", "print the annotated embedded defaults (valid TOML)");
  defaults->callback([&exit_code] {
    std::cout << config::annotated_defaults();
    exit_code = 0;
  });

  auto st = std::make_shared<check_args>();
  auto* check = c->add_subcommand("check", "report errors (file:line) and insecure choices as findings");
  check->add_option("FILE", st->file, "config file (default: --config, else the embedded defaults)");
  check->add_option("--format", st->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  check->callback([&opts, &exit_code, st] {
    std::string f = st->file.empty() ? opts.config_file : st->file;
    auto r = load(f);
    std::vector<config::diagnostic> all = r.diagnostics;
    // Findings only for a usable file: judging a half-loaded config would mix defaults into the verdict.
    if (r.ok()) {
      auto findings = config::check_security(r);
      all.insert(all.end(), findings.begin(), findings.end());
      auto cfg = r.cfg;
      if (!opts.data_dir.empty()) cfg.data_dir = opts.data_dir;
      auto addr = address_findings(cfg);
      all.insert(all.end(), addr.begin(), addr.end());
    }
    std::size_t errors = 0, findings = 0, high = 0;
    for (const auto& d : all) {
      if (d.kind == config::diagnostic::kind::error)
        ++errors;
      else
        ++findings;
      if (serious(d)) ++high;
    }
    if (st->format == "json") {
      auto arr = nlohmann::json::array();
      for (const auto& d : all)
        arr.push_back({{"kind", d.kind == config::diagnostic::kind::error ? "error" : "finding"},
                       {"severity", d.kind == config::diagnostic::kind::error ? "error" : d.severity},
                       {"file", d.file.empty() ? "(defaults)" : d.file},
                       {"line", d.line},
                       {"key", d.key},
                       {"message", d.message}});
      std::cout << arr.dump(2) << "\n";
    } else {
      for (const auto& d : all) std::cout << render_diagnostic(d) << "\n";
      std::cout << (f.empty() ? "(defaults)" : f) << ": " << errors << " error(s), " << findings << " finding(s)"
                << (high ? " (" + std::to_string(high) + " high or critical)" : std::string())
                << (errors ? ": the file cannot be used" : "") << "\n";
    }
    exit_code = errors ? 2 : (high ? 1 : 0);
  });
}

}  // namespace mailfort::cli
