// cli/dovecot.cpp: `mailfort dovecot config`: the Dovecot configuration `mailfort serve` writes and runs.
// SPDX-License-Identifier: MIT
// For an admin who runs Dovecot as a system service instead: the same text, for the account this command runs
// as. The passwd-file it names is written by `mailfort serve` (data_dir/dovecot/users).
#include "cli/cli.hpp"
#include "mailbox/dovecot_config.hpp"

#include <iostream>

namespace mailfort::cli {

void register_dovecot(CLI::App& app, common_options& opts, int& exit_code) {
  auto* cmd = app.add_subcommand("dovecot", "mailbox access through Dovecot ([imap])");
  cmd->require_subcommand(1);
  auto* conf = cmd->add_subcommand("config", "print the Dovecot 2.3 configuration `mailfort serve` generates");
  conf->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    auto paths = mailbox::paths_for(cfg);
    std::cout << mailbox::render_dovecot_config(cfg, paths, mailbox::current_account(), {});
    std::cout
        << "# `mailfort serve` adds auth_policy_server_url, auth_policy_hash_nonce, auth_policy_server_api_header,\n"
           "# auth_policy_reject_on_fail and login_access_sockets: its ban server's address, nonce and token,\n"
           "# new at every start.\n";
    exit_code = 0;
  });
}

}  // namespace mailfort::cli
