// cli/cli.cpp: the `mailfort` command: subcommands, shared options, exit codes.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"

#include "common/clock.hpp"
#include "daemon/control.hpp"
#include "daemon/daemon.hpp"

#include <ctime>
#include <iostream>

namespace mailfort::cli {

dns::resolver_options resolver_options_for(const config::config& cfg, const common_options& opts) {
  dns::resolver_options o = daemon::resolver_options(cfg);
  if (!opts.dns_servers.empty()) o.servers = opts.dns_servers;
  return o;
}

dns::resolver_options sender_auth_resolver_options(const config::config& cfg, const common_options& opts) {
  auto probe = dns::probe_dnssec(resolver_options_for(cfg, opts));
  if (probe.unvalidated())
    std::cerr << "mailfort: note: the DNS server returns no validatable DNSSEC data; answers are used "
                 "unvalidated (SPF, DKIM and DMARC do not require DNSSEC; DANE would be off)\n";
  return probe.opts;
}

bool via_server(const config::config& cfg, const nlohmann::json& request, int& exit_code,
                const std::function<void(const nlohmann::json&)>& print, const std::string& offline_what) {
  std::optional<nlohmann::json> reply;
  try {
    reply = daemon::control_ask(daemon::control_socket_path(cfg.data_dir), request);
  } catch (const std::exception& e) {
    std::cerr << "mailfort: the running server's control channel failed: " << e.what() << "\n";
    exit_code = 2;
    return true;
  }
  if (!reply) {
    std::cerr << "mailfort: no running server: " << offline_what << "\n";
    return false;
  }
  if (reply->value("ok", false)) {
    print(*reply);
    exit_code = 0;
  } else {
    std::cerr << "mailfort: the server answered: " << reply->value("error", std::string("failed")) << "\n";
    exit_code = 1;
  }
  return true;
}

void register_reload(CLI::App& app, common_options& opts, int& exit_code) {
  auto* cmd = app.add_subcommand("reload",
                                 "ask the running server to recheck its config file and reload the TLS "
                                 "certificate (as SIGHUP does)");
  cmd->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    auto print = [](const nlohmann::json& r) {
      std::cout << "reloaded: config admitted" << (r.value("tls_reloaded", false) ? ", TLS certificate reloaded" : "")
                << "\n";
      if (r.contains("tls_error")) std::cout << "TLS certificate kept: " << r.value("tls_error", std::string()) << "\n";
    };
    if (!via_server(cfg, {{"verb", "reload"}}, exit_code, print, "nothing to reload (not done offline)")) exit_code = 1;
  });
}

std::string utc_time(long long unix_seconds) { return common::utc_text(unix_seconds); }

int run(int argc, char** argv) {
  CLI::App app{"mailfort: a secure-by-default mail server that audits itself and others", "mailfort"};
  app.require_subcommand(1);
  app.fallthrough();
  common_options opts;
  int exit_code = 0;
  app.add_option("--config", opts.config_file, "TOML config file (default: embedded secure defaults)");
  app.add_option("--data-dir", opts.data_dir, "data directory (queue, state, Maildirs); overrides data_dir");
  app.add_option("--dns-server", opts.dns_servers,
                 "DNS server ADDR[:PORT] to query (repeatable); overrides dns.servers")
      ->allow_extra_args(false);
  register_serve(app, opts, exit_code);
  register_user(app, opts, exit_code);
  register_app_password(app, opts, exit_code);
  register_addresses(app, opts, exit_code);
  register_config(app, opts, exit_code);
  register_queue(app, opts, exit_code);
  register_ban(app, opts, exit_code);
  register_spf(app, opts, exit_code);
  register_dkim(app, opts, exit_code);
  register_dmarc(app, opts, exit_code);
  register_status(app, opts, exit_code);
  register_reload(app, opts, exit_code);
#ifdef MAILFORT_HAVE_AUDIT
  register_audit(app, opts, exit_code);
#endif
  register_hold(app, opts, exit_code);
  register_tlsrpt(app, opts, exit_code);
  register_dns_records(app, opts, exit_code);
  register_dovecot(app, opts, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace mailfort::cli
