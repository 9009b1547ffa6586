// cli/cli.hpp: the `mailfort` command line: one register_* function per subcommand file.
// SPDX-License-Identifier: MIT
#pragma once
#include "config/config.hpp"
#include "dns/resolver.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>

#include <string>
#include <vector>

namespace mailfort::cli {

// Options every subcommand shares: --config FILE and --data-dir DIR.
struct common_options {
  std::string config_file;               // empty: embedded defaults
  std::string data_dir;                  // empty: from config (default ./var)
  std::vector<std::string> dns_servers;  // --dns-server ADDR[:PORT] (repeatable); overrides dns.servers
};

// The resolver settings for CLI verbs that look things up: config [dns] plus --dns-server. cli/cli.cpp.
dns::resolver_options resolver_options_for(const config::config& cfg, const common_options& opts);
// The same for SPF, DKIM and DMARC checks: when a trust anchor is configured but the DNS server cannot deliver
// DNSSEC, the anchors are dropped (with a note on stderr) rather than every signed zone's answer being bogus,
// as `mailfort serve` does (issue 15 item 0).
dns::resolver_options sender_auth_resolver_options(const config::config& cfg, const common_options& opts);

// Each adds its subcommand(s) to `app`; the callback sets `exit_code` (0 ok, 1 findings/failure, 2 usage).
void register_serve(CLI::App& app, common_options& opts, int& exit_code);
void register_user(CLI::App& app, common_options& opts, int& exit_code);
void register_config(CLI::App& app, common_options& opts, int& exit_code);
void register_queue(CLI::App& app, common_options& opts, int& exit_code);
void register_ban(CLI::App& app, common_options& opts, int& exit_code);
void register_spf(CLI::App& app, common_options& opts, int& exit_code);          // cli/spf.cpp
void register_dkim(CLI::App& app, common_options& opts, int& exit_code);         // cli/dkim.cpp
void register_dmarc(CLI::App& app, common_options& opts, int& exit_code);        // cli/dmarc.cpp
void register_status(CLI::App& app, common_options& opts, int& exit_code);       // cli/status.cpp
void register_audit(CLI::App& app, common_options& opts, int& exit_code);        // cli/audit.cpp (MAILFORT_HAVE_AUDIT)
void register_hold(CLI::App& app, common_options& opts, int& exit_code);         // cli/hold.cpp (after register_queue)
void register_tlsrpt(CLI::App& app, common_options& opts, int& exit_code);       // cli/tlsrpt.cpp
void register_dns_records(CLI::App& app, common_options& opts, int& exit_code);  // cli/dns_records.cpp

// `dovecot config` ([imap]): cli/dovecot.cpp. `user app-password`: cli/app_password.cpp, after register_user.
void register_dovecot(CLI::App& app, common_options& opts, int& exit_code);
void register_app_password(CLI::App& app, common_options& opts, int& exit_code);
// `domain` and `alias` (issue 20): cli/address.cpp.
void register_addresses(CLI::App& app, common_options& opts, int& exit_code);
// `config check` findings from state.db: postmaster@/abuse@ of a hosted domain that go nowhere, catch-alls.
std::vector<config::diagnostic> address_findings(const config::config& cfg);

// Loads opts.config_file (or the embedded defaults), applies --data-dir, prints diagnostics to stderr
// and exits with status 2 when the file has errors. Implemented in cli/config.cpp.
config::config load_config_or_exit(const common_options& opts);
// The same, keeping where the file set each key (for findings with file:line).
config::load_result load_or_exit(const common_options& opts);
// "FILE:LINE: error: key: message" or "FILE:LINE: finding[critical]: key: message", as `config check` prints.
std::string render_diagnostic(const config::diagnostic& d);

// The control channel (daemon/control.hpp): asks the running server to do `request`. Returns true when a server
// answered (or was there but failed: the error is on stderr, exit_code 2): with {"ok": true} `print` shows the
// reply and exit_code is 0, else the server's error goes to stderr and exit_code is 1. Returns false when no
// server runs, after "mailfort: no running server: <offline_what>" on stderr: the caller then works offline.
bool via_server(const config::config& cfg, const nlohmann::json& request, int& exit_code,
                const std::function<void(const nlohmann::json&)>& print, const std::string& offline_what);
void register_reload(CLI::App& app, common_options& opts, int& exit_code);  // `mailfort reload`, cli/cli.cpp

// "2026-11-22T17:00:00Z" for a unix time (queue and ban listings).
std::string utc_time(long long unix_seconds);

// Runs the CLI; returns the process exit code.
int run(int argc, char** argv);

}  // namespace mailfort::cli
