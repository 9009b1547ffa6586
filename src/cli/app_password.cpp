// cli/app_password.cpp: `mailfort user app-password add|list|del USER --name DEVICE` (per-device passwords).
// SPDX-License-Identifier: MIT
// The password is generated here and printed once, on stdout; only its argon2id hash is kept. It works for
// IMAP, POP3 and submission; `del` revokes one device and leaves the others working.
#include "cli/cli.hpp"
#include "common/state_db.hpp"
#include "sasl/app_passwords.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

namespace mailfort::cli {

namespace {

struct app_password_args {
  std::string address;
  std::string name;
};

template <class F>
void with_store(const common_options& opts, int& exit_code, F&& f) {
  auto cfg = load_config_or_exit(opts);
  try {
    if (!std::filesystem::exists(common::state_db_path(cfg.data_dir)))
      throw std::runtime_error("no users yet (state database " + common::state_db_path(cfg.data_dir) +
                               " does not exist)");
    sasl::app_passwords store(common::state_db_path(cfg.data_dir));
    exit_code = f(store);
  } catch (const std::exception& e) {
    std::cerr << "mailfort: " << e.what() << "\n";
    exit_code = 1;
  }
}

}  // namespace

void register_app_password(CLI::App& app, common_options& opts, int& exit_code) {
  auto* user = app.get_subcommand("user");
  auto* ap = user->add_subcommand("app-password", "per-device passwords for IMAP, POP3 and submission");
  ap->require_subcommand(1);
  auto st = std::make_shared<app_password_args>();

  auto* add = ap->add_subcommand("add", "make a new password for one device and print it once");
  add->add_option("USER", st->address, "user@domain")->required();
  add->add_option("--name", st->name, "the device (e.g. \"phone\")")->required();
  add->callback([&opts, &exit_code, st] {
    with_store(opts, exit_code, [&](sasl::app_passwords& s) {
      std::string pw = s.add(st->address, st->name);
      std::cout << pw << "\n";
      std::cerr << "app password '" << st->name << "' for " << st->address
                << " (shown once; use it as the password in that device's mail client)\n";
      return 0;
    });
  });

  auto* list = ap->add_subcommand("list", "list a user's app passwords (names and creation times)");
  list->add_option("USER", st->address, "user@domain")->required();
  list->callback([&opts, &exit_code, st] {
    with_store(opts, exit_code, [&](sasl::app_passwords& s) {
      for (const auto& i : s.list(st->address)) std::cout << i.name << "\t" << utc_time(i.created) << "\n";
      return 0;
    });
  });

  auto* del = ap->add_subcommand("del", "revoke one device's password");
  del->add_option("USER", st->address, "user@domain")->required();
  del->add_option("--name", st->name, "the device")->required();
  del->callback([&opts, &exit_code, st] {
    with_store(opts, exit_code, [&](sasl::app_passwords& s) {
      if (s.remove(st->address, st->name)) {
        std::cout << "deleted app password '" << st->name << "' of " << st->address << "\n";
        return 0;
      }
      std::cerr << "mailfort: " << st->address << " has no app password named '" << st->name << "'\n";
      return 1;
    });
  });
}

}  // namespace mailfort::cli
