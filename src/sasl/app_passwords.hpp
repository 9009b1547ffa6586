// sasl/app_passwords.hpp: per-device passwords ("app passwords") of local users, in the state database.
// SPDX-License-Identifier: MIT
// `mailfort user app-password add USER --name DEVICE` makes a random password, shows it once and keeps only its
// argon2id hash (libsodium, the $argon2id$ string Dovecot also reads). Each works for IMAP, POP3 and submission;
// deleting one device's password leaves the others working. With user.require_app_passwords = true the account
// password no longer opens any mail protocol, so a password stuffed from another site's leak opens nothing.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct sqlite3;

namespace mailfort::sasl {

// At most this many app passwords per user (each is one argon2id verification per failed login).
constexpr std::size_t k_max_app_passwords = 8;

// The table, created by user_db and app_passwords alike (either may open state.db first).
inline constexpr const char* k_app_passwords_schema =
    "CREATE TABLE IF NOT EXISTS app_passwords(address TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, "
    "created INTEGER NOT NULL, PRIMARY KEY(address, name));";

struct app_password_info {
  std::string name;
  std::int64_t created = 0;
};

class app_passwords {
 public:
  explicit app_passwords(const std::string& db_path);
  ~app_passwords();
  app_passwords(const app_passwords&) = delete;
  app_passwords& operator=(const app_passwords&) = delete;

  // A new random password for (address, name), returned once. Throws std::runtime_error when the user does not
  // exist, the name is taken or not printable ASCII (1..64), or the user has k_max_app_passwords already.
  std::string add(std::string_view address, std::string_view name);
  std::vector<app_password_info> list(std::string_view address);
  bool remove(std::string_view address, std::string_view name);

 private:
  sqlite3* db_ = nullptr;
};

// [pure] A random password of 20 symbols from an alphabet without look-alikes, in dash-separated groups of 4 (99
// bits). `random` fills a buffer (getrandom in production).
std::string make_app_password(void (*random)(unsigned char* buf, std::size_t n));

}  // namespace mailfort::sasl
