// cli/serve.cpp: `mailfort serve [--config FILE] [--data-dir DIR] [--allow-insecure]`.
// SPDX-License-Identifier: MIT
// Before anything is bound, the configuration goes through the checks of `mailfort config check`: a critical
// finding (open relay, queue.discard, public submission with only the self-signed certificate, ...) is printed
// with its fix and the server does not start (exit code 2), unless --allow-insecure says it is a lab, which is
// logged loudly (insecure_override) at start and on every reload. SIGHUP rechecks the file the same way.
#include "cli/cli.hpp"
#include "daemon/config_gate.hpp"
#include "daemon/daemon.hpp"
#include "log/logger.hpp"

#include <iostream>

namespace mailfort::cli {

void register_serve(CLI::App& app, common_options& opts, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "run the mail server in the foreground (logs: JSON lines on stdout)");
  static std::string log_format;
  static bool allow_insecure = false;
  cmd->add_option("--log-format", log_format, "json (default) or syslog (RFC 5424 lines carrying the JSON)")
      ->check(CLI::IsMember({"json", "syslog"}));
  cmd->add_flag("--allow-insecure", allow_insecure,
                "start even with critical configuration findings (open relay, ...): labs only, logged loudly");
  cmd->callback([&opts, &exit_code] {
    auto loaded = load_or_exit(opts);
    auto& cfg = loaded.cfg;
    if (!log_format.empty()) cfg.monitor.log_format = log_format;
    log::set_format(cfg.monitor.log_format == "syslog" ? log::format::syslog : log::format::json, cfg.hostname);
    auto findings = config::check_security(loaded);
    if (!daemon::admit_config(findings, allow_insecure, "start")) {
      std::size_t n = 0;
      for (const auto& d : findings)
        if (config::blocks_serve(d)) {
          std::cerr << render_diagnostic(d) << "\n";
          ++n;
        }
      std::cerr << "mailfort: refusing to start: " << n
                << " critical finding(s) above (each says how to fix it; `mailfort config check` lists every "
                   "finding). For a lab only, `mailfort serve --allow-insecure` starts anyway.\n";
      exit_code = 2;
      return;
    }
    exit_code = daemon::run(cfg, allow_insecure);
  });
}

}  // namespace mailfort::cli
