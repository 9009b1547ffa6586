// cli/ban.cpp: `mailfort ban list|add IP[/LEN] [--for DURATION] [--reason TEXT]|del IP[/LEN]`.
// SPDX-License-Identifier: MIT
// add and del go through the running server's control channel (immediate); with no server they work on the
// state database directly (the server reads it at start). list reads the state database.
#include "cli/cli.hpp"
#include "daemon/daemon.hpp"
#include "policy/guard.hpp"

#include <ctime>
#include <iostream>

namespace mailfort::cli {

namespace {
// "3600", "90s", "30m", "2h", "7d" -> seconds; 0 on error.
long long parse_duration(const std::string& s) {
  if (s.empty() || s.size() > 12) return 0;
  long long n = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) n = n * 10 + (s[i] - '0');
  if (i == 0) return 0;
  std::string unit = s.substr(i);
  if (unit.empty() || unit == "s") return n;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  return 0;
}

}  // namespace

void register_ban(CLI::App& app, common_options& opts, int& exit_code) {
  auto* b = app.add_subcommand("ban", "list, add and remove bans (the built-in fail2ban)");
  b->require_subcommand(1);
  static std::string target, duration = "1h", reason = "manual";
  static common::system_clock clock;

  b->add_subcommand("list", "list active bans")->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    auto g = daemon::make_guard(cfg, clock);
    auto bans = g->list();
    for (const auto& r : bans)
      std::cout << r.source << "  until " << utc_time(r.until) << "  reason=" << r.reason << "  count=" << r.count
                << "\n";
    std::cout << bans.size() << " active ban(s)\n";
    exit_code = 0;
  });

  auto* add = b->add_subcommand("add", "ban an address or network");
  add->add_option("SOURCE", target, "IP or IP/LEN")->required();
  add->add_option("--for", duration, "duration: 3600, 30m, 2h, 7d (default 1h)");
  add->add_option("--reason", reason, "recorded with the ban");
  add->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    auto key = policy::parse_source(target, cfg.ban.ipv4_prefix, cfg.ban.ipv6_prefix);
    long long secs = parse_duration(duration);
    if (!key || secs <= 0) {
      std::cerr << "mailfort: "
                << (!key ? "'" + target + "' is not an IP address or network"
                         : "'" + duration + "' is not a duration (3600, 30m, 2h, 7d)")
                << "\n";
      exit_code = 2;
      return;
    }
    auto print = [](const nlohmann::json& r) {
      std::cout << "banned " << r.value("source", std::string()) << " until " << utc_time(r.value("until", 0LL))
                << "\n";
    };
    if (via_server(cfg, {{"verb", "ban"}, {"source", target}, {"duration_s", secs}, {"reason", reason}}, exit_code,
                   print, "ban added offline"))
      return;
    auto g = daemon::make_guard(cfg, clock);
    auto r = g->ban(*key, std::chrono::seconds(secs), reason);
    std::cout << "banned " << r.source << " until " << utc_time(r.until) << "\n";
    exit_code = 0;
  });

  auto* del = b->add_subcommand("del", "lift a ban");
  del->add_option("SOURCE", target, "IP or IP/LEN")->required();
  del->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    auto key = policy::parse_source(target, cfg.ban.ipv4_prefix, cfg.ban.ipv6_prefix);
    if (!key) {
      std::cerr << "mailfort: '" << target << "' is not an IP address or network\n";
      exit_code = 2;
      return;
    }
    auto print = [](const nlohmann::json& r) { std::cout << "unbanned " << r.value("source", std::string()) << "\n"; };
    if (via_server(cfg, {{"verb", "unban"}, {"source", target}}, exit_code, print, "ban lifted offline")) return;
    auto g = daemon::make_guard(cfg, clock);
    if (g->unban(*key)) {
      std::cout << "unbanned " << *key << "\n";
      exit_code = 0;
    } else {
      std::cerr << "mailfort: " << *key << " is not banned\n";
      exit_code = 1;
    }
  });
}

}  // namespace mailfort::cli
