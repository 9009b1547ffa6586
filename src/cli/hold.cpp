// cli/hold.cpp: `mailfort queue held` and `mailfort queue release USER`: the users whose outbound mail is held
// after an outbound_spike alert (see queue/holds.hpp). A release goes through the running server's control channel
// (its runner delivers at once); with no server it is written to the state database.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "common/state_db.hpp"
#include "queue/holds.hpp"

#include <filesystem>
#include <iostream>

namespace mailfort::cli {

void register_hold(CLI::App& app, common_options& opts, int& exit_code) {
  auto* queue = app.get_subcommand("queue");  // registered by register_queue
  auto db = [&opts] {
    auto cfg = load_config_or_exit(opts);
    std::filesystem::create_directories(cfg.data_dir);
    return common::state_db_path(cfg.data_dir);
  };
  auto* held = queue->add_subcommand("held", "list users whose outbound mail is held (outbound_spike alert)");
  held->callback([db, &exit_code] {
    queue::hold_list holds(db());
    auto list = holds.list();
    if (list.empty()) std::cout << "no user is held\n";
    for (const auto& h : list) std::cout << h.user << "  since " << utc_time(h.since) << "  " << h.reason << "\n";
    exit_code = 0;
  });
  static std::string user;
  auto* rel = queue->add_subcommand("release", "release a held user: their queued outbound mail is delivered");
  rel->add_option("USER", user,
                  "the authenticated user (login address), or the queue id of a message a milter quarantined")
      ->required();
  rel->callback([db, &opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    auto print = [](const nlohmann::json& r) { std::cout << "released " << r.value("user", std::string()) << "\n"; };
    if (via_server(cfg, {{"verb", "release"}, {"user", user}}, exit_code, print, "release done offline")) return;
    queue::hold_list holds(db());
    if (!holds.release(user) && !holds.release("queue:" + user)) {
      std::cerr << "mailfort queue release: " << user << " is not held\n";
      exit_code = 1;
      return;
    }
    std::cout << "released " << user << "\n";
    exit_code = 0;
  });
}

}  // namespace mailfort::cli
