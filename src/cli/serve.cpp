// cli/serve.cpp: `mailfort serve [--config FILE] [--data-dir DIR]`.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "daemon/daemon.hpp"

namespace mailfort::cli {

void register_serve(CLI::App& app, common_options& opts, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "run the mail server in the foreground (logs: JSON lines on stdout)");
  static std::string log_format;
  cmd->add_option("--log-format", log_format, "json (default) or syslog (RFC 5424 lines carrying the JSON)")
      ->check(CLI::IsMember({"json", "syslog"}));
  cmd->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    if (!log_format.empty()) cfg.monitor.log_format = log_format;
    exit_code = daemon::run(cfg);
  });
}

}  // namespace mailfort::cli
