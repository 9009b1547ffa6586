// cli/user.cpp: `mailfort user add|del|list|passwd` (passwords only ever from stdin, never argv).
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "common/ascii.hpp"
#include "sasl/user_db.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>

namespace mailfort::cli {

namespace {

std::string read_password() {
  std::string pw;
  std::getline(std::cin, pw);
  while (!pw.empty() && (pw.back() == '\r' || pw.back() == '\n')) pw.pop_back();
  return pw;
}

std::unique_ptr<sasl::user_db> open_db(const config::config& cfg) {
  std::filesystem::create_directories(cfg.data_dir);
  ::chmod(cfg.data_dir.c_str(), 0700);
  return std::make_unique<sasl::user_db>((std::filesystem::path(cfg.data_dir) / "state.db").string());
}

bool domain_is_local(const config::config& cfg, const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return false;
  for (const auto& d : cfg.domains)
    if (common::iequals(d, std::string_view(address).substr(at + 1))) return true;
  return false;
}

}  // namespace

void register_user(CLI::App& app, common_options& opts, int& exit_code) {
  auto* u = app.add_subcommand("user", "manage local users (mailboxes and submission logins)");
  u->require_subcommand(1);
  static std::string address;
  static bool from_stdin = false;

  auto with_password = [&opts, &exit_code](bool adding) {
    return [&opts, &exit_code, adding] {
      auto cfg = load_config_or_exit(opts);
      if (!from_stdin) {
        std::cerr << "mailfort: pass the password on standard input with --password-stdin (never on the command line)\n";
        exit_code = 2;
        return;
      }
      auto norm = sasl::normalise_address(address);
      if (!norm) {
        std::cerr << "mailfort: invalid address '" << address << "' (want local@domain; local part of a-z 0-9 . _ + -)\n";
        exit_code = 2;
        return;
      }
      if (!domain_is_local(cfg, *norm)) {
        std::cerr << "mailfort: " << *norm << " is not in a local domain (domains = [";
        for (size_t i = 0; i < cfg.domains.size(); ++i) std::cerr << (i ? ", " : "") << cfg.domains[i];
        std::cerr << "])\n";
        exit_code = 2;
        return;
      }
      std::string pw = read_password();
      if (pw.empty()) {
        std::cerr << "mailfort: empty password refused\n";
        exit_code = 2;
        return;
      }
      try {
        auto db = open_db(cfg);
        if (adding) {
          db->add(*norm, pw);
          std::cout << "added " << *norm << "\n";
        } else {
          db->set_password(*norm, pw);
          std::cout << "password changed for " << *norm << "\n";
        }
        exit_code = 0;
      } catch (const std::exception& e) {
        std::cerr << "mailfort: " << e.what() << "\n";
        exit_code = 1;
      }
    };
  };

  auto* add = u->add_subcommand("add", "add a user; the password is read from stdin");
  add->add_option("ADDRESS", address, "user@domain")->required();
  add->add_flag("--password-stdin", from_stdin, "read the password from standard input");
  add->callback(with_password(true));

  auto* passwd = u->add_subcommand("passwd", "change a user's password; the password is read from stdin");
  passwd->add_option("ADDRESS", address, "user@domain")->required();
  passwd->add_flag("--password-stdin", from_stdin, "read the password from standard input");
  passwd->callback(with_password(false));

  auto* del = u->add_subcommand("del", "delete a user (their Maildir is kept)");
  del->add_option("ADDRESS", address, "user@domain")->required();
  del->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    try {
      auto db = open_db(cfg);
      if (db->remove(address)) {
        std::cout << "deleted " << *sasl::normalise_address(address) << "\n";
        exit_code = 0;
      } else {
        std::cerr << "mailfort: no such user " << address << "\n";
        exit_code = 1;
      }
    } catch (const std::exception& e) {
      std::cerr << "mailfort: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  auto* list = u->add_subcommand("list", "list users");
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
