// cli/cli.cpp: the `mailfort` command: subcommands, shared options, exit codes.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"

#include "common/clock.hpp"
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
  register_config(app, opts, exit_code);
  register_queue(app, opts, exit_code);
  register_ban(app, opts, exit_code);
  register_spf(app, opts, exit_code);
  register_dkim(app, opts, exit_code);
  register_dmarc(app, opts, exit_code);
  register_status(app, opts, exit_code);
#ifdef MAILFORT_HAVE_AUDIT
  register_audit(app, opts, exit_code);
#endif
  register_hold(app, opts, exit_code);
  register_tlsrpt(app, opts, exit_code);
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
