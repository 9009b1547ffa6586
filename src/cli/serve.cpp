// cli/serve.cpp: `mailfort serve [--config FILE] [--data-dir DIR]`.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "daemon/daemon.hpp"

namespace mailfort::cli {

void register_serve(CLI::App& app, common_options& opts, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "run the mail server in the foreground (logs: JSON lines on stdout)");
  cmd->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    exit_code = daemon::run(cfg);
  });
}

}  // namespace mailfort::cli
