// mailbox/dovecot_service.hpp: runs Dovecot for `mailfort serve`: writes its configuration and the passwd-file
// of mailfort's users, starts it, restarts it with backoff when it dies, reloads it, stops it on exit.
// SPDX-License-Identifier: MIT
// One thread supervises (common::child_supervisor, events dovecot_*): it polls the child (waitpid WNOHANG) and
// state.db's users every 200 ms, so a user added, removed or given a new password with `mailfort user` (another
// process) is effective on IMAP/POP3 within a second. The child gets PR_SET_PDEATHSIG, so Dovecot does not
// outlive a mailfort killed with SIGKILL.
// Passwords: Dovecot reads a passwd-file (user:{ARGON2ID}<libsodium string>) that mailfort rewrites atomically
// (temp file, fsync, rename) whenever the users table changes; Dovecot re-stat()s it on every lookup. Dovecot
// never gets write access to mailfort's state.db, and the file holds only what Dovecot needs (no schema).
#pragma once
#include "common/child_supervisor.hpp"
#include "config/config.hpp"
#include "mailbox/dovecot_config.hpp"

#include <sys/types.h>

#include <memory>

#include <string>
#include <vector>

namespace mailfort::policy {
class guard;
}

namespace mailfort::mailbox {

class login_guard;

// [pure] The passwd-file text for (address, argon2id hash) rows: "address:{ARGON2ID}hash" lines; rows whose
// address or hash could break the format (':' or control bytes) are left out.
std::string render_passwd_file(const std::vector<std::pair<std::string, std::string>>& users);

class dovecot_service {
 public:
  // guard non-null: IMAP/POP3 logins go through mailfort's bans (auth policy server and access socket).
  dovecot_service(const config::config& cfg, std::string state_db, policy::guard* guard = nullptr);
  ~dovecot_service();
  dovecot_service(const dovecot_service&) = delete;
  dovecot_service& operator=(const dovecot_service&) = delete;

  // Writes the configuration and the passwd-file, checks the configuration with `dovecot -n` (throws with
  // Dovecot's message when it is refused), then starts the supervisor thread.
  void start();
  // SIGHUP to Dovecot: it reads the certificate and key again (after mailfort's own TLS reload).
  void reload();
  // SIGTERM to Dovecot and wait for it (up to 10 s, then SIGKILL); joins the thread.
  void stop();

  pid_t pid() const;

 private:
  bool sync_users();  // true when the passwd-file was rewritten

  const config::config& cfg_;
  std::string state_db_;
  policy::guard* guard_ = nullptr;
  std::unique_ptr<login_guard> login_guard_;
  dovecot_hooks hooks_;
  dovecot_paths paths_;
  std::unique_ptr<common::child_supervisor> child_;
  // The passwd-files: users (account passwords), then app-1 .. app-N; their last text and mtime.
  std::vector<std::string> files_text_;
  std::vector<long long> files_mtime_;
  bool files_written_ = false;
};

}  // namespace mailfort::mailbox
