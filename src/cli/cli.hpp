// cli/cli.hpp: the `mailfort` command line: one register_* function per subcommand file.
// SPDX-License-Identifier: MIT
#pragma once
#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace mailfort::cli {

// Options every subcommand shares: --config FILE and --data-dir DIR.
struct common_options {
  std::string config_file;  // empty: embedded defaults
  std::string data_dir;     // empty: from config (default ./var)
};

// Each adds its subcommand(s) to `app`; the callback sets `exit_code` (0 ok, 1 findings/failure, 2 usage).
void register_serve(CLI::App& app, common_options& opts, int& exit_code);
void register_user(CLI::App& app, common_options& opts, int& exit_code);
void register_config(CLI::App& app, common_options& opts, int& exit_code);
void register_queue(CLI::App& app, common_options& opts, int& exit_code);
void register_ban(CLI::App& app, common_options& opts, int& exit_code);

// Loads opts.config_file (or the embedded defaults), applies --data-dir, prints diagnostics to stderr
// and exits with status 2 when the file has errors. Implemented in cli/config.cpp.
config::config load_config_or_exit(const common_options& opts);

// "2026-11-22T17:00:00Z" for a unix time (queue and ban listings).
std::string utc_time(long long unix_seconds);

// Runs the CLI; returns the process exit code.
int run(int argc, char** argv);

}  // namespace mailfort::cli
