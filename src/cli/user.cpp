// cli/user.cpp: `mailfort user add|del|list|passwd` (passwords only ever from stdin, never argv).
// SPDX-License-Identifier: MIT
// Why stdin only: argv is visible to every local user in /proc/<pid>/cmdline and `ps`, and lands in
// shell history. With a terminal on stdin the password is read with echo off.
#include "address/address_db.hpp"
#include "cli/cli.hpp"
#include "common/ascii.hpp"
#include "common/state_db.hpp"
#include "sasl/user_db.hpp"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

namespace mailfort::cli {

namespace {

// Longer than any real password; bounds what a runaway pipe can make us buffer and hash.
constexpr std::size_t k_max_password = 1024;

// Option storage lives as long as the callbacks that use it (they hold the shared_ptr), so repeated
// parses (tests) never see a previous run's values, unlike function-local statics.
struct user_args {
  std::string address;
  bool password_stdin = false;
  bool hash_stdin = false;
};

// Turns terminal echo off while alive, if stdin is a terminal.
struct no_echo {
  bool active = false;
  termios saved{};
  no_echo() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved) != 0) return;
    termios t = saved;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active = ::tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
    if (active) std::cerr << "Password: " << std::flush;
  }
  ~no_echo() {
    if (!active) return;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  no_echo(const no_echo&) = delete;
  no_echo& operator=(const no_echo&) = delete;
};

// One line from stdin without its CR/LF; nullopt when longer than k_max_password.
std::optional<std::string> read_password() {
  no_echo guard;
  std::string pw;
  char ch = 0;
  while (std::cin.get(ch) && ch != '\n') {
    if (pw.size() > k_max_password) return std::nullopt;
    pw.push_back(ch);
  }
  while (!pw.empty() && (pw.back() == '\r' || pw.back() == '\n')) pw.pop_back();
  if (pw.size() > k_max_password) return std::nullopt;
  return pw;
}

// Creates the data directory 0700 when missing (it will hold password hashes and mail); an existing
// directory keeps its mode: `--data-dir .` must not chmod the caller's working directory.
void ensure_data_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw std::runtime_error("data directory " + dir + " is not a directory");
    return;
  }
  fs::path p(dir);
  if (p.has_parent_path() && !p.parent_path().empty()) fs::create_directories(p.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create data directory " + dir + ": " + std::strerror(errno));
}

std::unique_ptr<sasl::user_db> open_db(const config::config& cfg) {
  ensure_data_dir(cfg.data_dir);
  return std::make_unique<sasl::user_db>(common::state_db_path(cfg.data_dir));
}

bool domain_is_local(const config::config& cfg, const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return false;
  for (const auto& d : cfg.domains)
    if (common::iequals(d, std::string_view(address).substr(at + 1))) return true;
  // `mailfort domain add` (issue 20): hosted domains kept in state.db.
  const std::filesystem::path db = common::state_db_path(cfg.data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(db, ec)) return false;
  return address::address_db(db.string()).snapshot()->domains.count(address.substr(at + 1)) != 0;
}

std::string domain_list(const config::config& cfg) {
  std::string s;
  for (const auto& d : cfg.domains) s += (s.empty() ? "" : ", ") + d;
  return s;
}

// `user add --hash-stdin`: an argon2id hash made elsewhere (Dovecot's ARGON2ID scheme, with or without its
// "{ARGON2ID}" prefix, or another mailfort's state.db), so users move without their passwords being known.
void add_hashed_cmd(const config::config& cfg, const std::string& address, int& exit_code) {
  auto line = read_password();
  std::string hash = line ? *line : std::string();
  if (hash.rfind("{ARGON2ID}", 0) == 0) hash.erase(0, 10);
  const auto status = sasl::password_hash_status(hash);
  if (status == sasl::hash_status::invalid) {
    std::cerr << "mailfort: not an argon2id hash ($argon2id$v=19$m=...,t=...,p=...$salt$hash); only argon2id is "
                 "accepted\n";
    exit_code = 2;
    return;
  }
  try {
    open_db(cfg)->add_hashed(address, hash);
    if (status == sasl::hash_status::other_params)
      std::cerr << "mailfort: note: the hash of " << address
                << " was made with other argon2id parameters than mailfort's own (m=65536,t=2,p=1); it is kept "
                   "as given until `mailfort user passwd` replaces it\n";
    std::cout << "added " << address << "\n";
    exit_code = 0;
  } catch (const std::exception& e) {
    std::cerr << "mailfort: " << e.what() << "\n";
    exit_code = 1;
  }
}

// Shared by add and passwd: every check that needs no database runs before the password is read.
void set_password_cmd(const common_options& opts, const user_args& a, int& exit_code, bool adding) {
  auto cfg = load_config_or_exit(opts);
  if (a.hash_stdin && a.password_stdin) {
    std::cerr << "mailfort: give either --password-stdin or --hash-stdin, not both\n";
    exit_code = 2;
    return;
  }
  if (!a.password_stdin && !a.hash_stdin) {
    std::cerr << "mailfort: give the password on standard input with --password-stdin (passwords are never "
                 "taken as arguments: other users can read them in ps and shell history)\n";
    exit_code = 2;
    return;
  }
  auto norm = sasl::normalise_address(a.address);
  if (!norm) {
    std::cerr << "mailfort: invalid address '" << a.address
              << "' (want local@domain; local part of a-z 0-9 . _ + -, no leading, trailing or double dots)\n";
    exit_code = 2;
    return;
  }
  if (!domain_is_local(cfg, *norm)) {
    std::cerr << "mailfort: " << *norm << " is not in a local domain (domains = [" << domain_list(cfg)
              << "]); add it with `mailfort domain add` or to `domains` in the config first\n";
    exit_code = 2;
    return;
  }
  if (a.hash_stdin) {
    add_hashed_cmd(cfg, *norm, exit_code);
    return;
  }
  auto pw = read_password();
  if (!pw) {
    std::cerr << "mailfort: password longer than " << k_max_password << " bytes refused\n";
    exit_code = 2;
    return;
  }
  if (pw->empty()) {
    std::cerr << "mailfort: empty password refused\n";
    exit_code = 2;
    return;
  }
  if (pw->find('\0') != std::string::npos) {
    std::cerr << "mailfort: password contains a NUL byte, which AUTH PLAIN cannot carry; refused\n";
    exit_code = 2;
    return;
  }
  try {
    auto db = open_db(cfg);
    if (adding) {
      db->add(*norm, *pw);
      std::cout << "added " << *norm << "\n";
    } else {
      db->set_password(*norm, *pw);
      std::cout << "password changed for " << *norm << "\n";
    }
    exit_code = 0;
  } catch (const std::exception& e) {
    std::cerr << "mailfort: " << e.what() << "\n";
    exit_code = 1;
  }
}

}  // namespace

void register_user(CLI::App& app, common_options& opts, int& exit_code) {
  auto* u = app.add_subcommand("user", "manage local users (mailboxes and submission logins)");
  u->require_subcommand(1);
  auto st = std::make_shared<user_args>();

  auto* add = u->add_subcommand("add", "add a user; the password is read from stdin");
  add->add_option("ADDRESS", st->address, "user@domain (the domain must be in `domains`)")->required();
  add->add_flag("--password-stdin", st->password_stdin, "read the password from standard input");
  add->add_flag("--hash-stdin", st->hash_stdin,
                "read an argon2id hash instead (a migration: Dovecot's {ARGON2ID} scheme, another mailfort)");
  add->callback([&opts, &exit_code, st] { set_password_cmd(opts, *st, exit_code, true); });

  auto* passwd = u->add_subcommand("passwd", "change a user's password; the password is read from stdin");
  passwd->add_option("ADDRESS", st->address, "user@domain")->required();
  passwd->add_flag("--password-stdin", st->password_stdin, "read the password from standard input (required)");
  passwd->callback([&opts, &exit_code, st] { set_password_cmd(opts, *st, exit_code, false); });

  auto* del = u->add_subcommand("del", "delete a user (their Maildir is kept)");
  del->add_option("ADDRESS", st->address, "user@domain")->required();
  del->callback([&opts, &exit_code, st] {
    auto cfg = load_config_or_exit(opts);
    auto norm = sasl::normalise_address(st->address);
    if (!norm) {
      std::cerr << "mailfort: invalid address '" << st->address << "'\n";
      exit_code = 2;
      return;
    }
    try {
      auto db = open_db(cfg);
      if (db->remove(*norm)) {
        std::cout << "deleted " << *norm << " (its Maildir is kept)\n";
        exit_code = 0;
      } else {
        std::cerr << "mailfort: no such user " << *norm << "\n";
        exit_code = 1;
      }
    } catch (const std::exception& e) {
      std::cerr << "mailfort: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  auto* list = u->add_subcommand("list", "list users, one per line");
  list->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    try {
      auto db = open_db(cfg);
      for (const auto& a : db->list()) std::cout << a << "\n";
      exit_code = 0;
    } catch (const std::exception& e) {
      std::cerr << "mailfort: " << e.what() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace mailfort::cli
