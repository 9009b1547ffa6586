// mailbox/dovecot_config.hpp: the Dovecot 2.3 configuration mailfort generates, and where its files live.
// SPDX-License-Identifier: MIT
// mailfort owns the users, the certificate and the TLS rules; Dovecot only serves the Maildirs mailfort delivers
// to. The generated file follows what was verified on Debian 12's Dovecot 2.3.19 (shared research, section 1):
// one unprivileged user runs every Dovecot process (the one mailfort runs as), TLS 1.2 minimum with mailfort's
// certificate and AEAD suites, no plaintext login outside TLS (`disable_plaintext_auth`, `ssl = required`),
// passwords from a passwd-file of mailfort's argon2id hashes, `.Junk` with the \Junk special use.
// NOT handled: Dovecot 2.4's syntax (the template is 2.3's; 2.4 renames passdb settings), running as root
// (Dovecot refuses mail access as uid 0, and mailfort has no privilege drop yet).
#pragma once
#include "config/config.hpp"

#include <filesystem>
#include <string>

namespace mailfort::mailbox {

// Every path the generated configuration names (absolute).
struct dovecot_paths {
  std::filesystem::path dir;          // <data_dir>/dovecot: the configuration, the passwd-file, state and log
  std::filesystem::path config;       // dir/dovecot.conf
  std::filesystem::path users;        // dir/users (passwd-file, rewritten atomically on every user change)
  std::filesystem::path base_dir;     // run directory (UNIX sockets; kept short: sun_path holds 107 bytes)
  std::filesystem::path state_dir;    // dir/state
  std::filesystem::path log;          // dir/dovecot.log
  std::filesystem::path mail_root;    // <data_dir>/mail: <domain>/<local part>/ Maildirs
  std::filesystem::path certificate;  // the certificate and key mailfort serves (self-signed in data_dir/tls/)
  std::filesystem::path key;
};

// The paths for a config; data_dir is made absolute against the current directory.
dovecot_paths paths_for(const config::config& cfg);

// The account Dovecot's processes run as (and mail is accessed as): mailfort's own.
struct dovecot_account {
  std::string user;
  std::string group;
  unsigned uid = 0;
  unsigned gid = 0;
};
dovecot_account current_account();

// Extra settings filled in by the auth-policy/access server when it runs (empty: not configured).
struct dovecot_hooks {
  std::string policy_url;     // auth_policy_server_url
  std::string policy_nonce;   // auth_policy_hash_nonce
  std::string policy_header;  // auth_policy_server_api_header ("Authorization: Bearer ...")
  std::string access_socket;  // login_access_sockets (absolute UNIX socket path)
};

// [pure] The dovecot.conf text.
std::string render_dovecot_config(const config::config& cfg, const dovecot_paths& p, const dovecot_account& a,
                                  const dovecot_hooks& hooks);

// Whether Dovecot runs for this config: imap.enabled "true" or "auto", the binary installed, mailfort not running
// as root. `why` says why not (with imap.enabled = true, `mailfort serve` refuses to start then).
bool imap_enabled(const config::config& cfg, std::string& why);

}  // namespace mailfort::mailbox
