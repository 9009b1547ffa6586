// sasl/user_db.hpp: local users and their argon2id password hashes, in the SQLite state database.
// SPDX-License-Identifier: MIT
// Thread-safe. verify() takes the same time whether or not the user exists (a dummy hash is checked
// for unknown users), so AUTH failures do not reveal which accounts exist. Hashes use libsodium's
// crypto_pwhash_str (argon2id, $argon2id$ encoding Dovecot also reads).
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace mailfort::sasl {

class user_db {
 public:
  // Opens (and creates the schema of) <data_dir>/state.db. Throws std::runtime_error on failure.
  explicit user_db(const std::string& db_path);
  ~user_db();
  user_db(const user_db&) = delete;
  user_db& operator=(const user_db&) = delete;

  // address is normalised to lower case; throws std::invalid_argument for an address whose local part
  // or domain is not a safe mailbox name, std::runtime_error if it exists (add) or not (passwd/del).
  void add(std::string_view address, std::string_view password);
  // The same with a hash made elsewhere (`user add --hash-stdin`: a migration from Dovecot or another mailfort);
  // the caller has checked it with password_hash_status().
  void add_hashed(std::string_view address, std::string_view hash);
  void set_password(std::string_view address, std::string_view password);
  bool remove(std::string_view address);
  std::vector<std::string> list();
  bool exists(std::string_view address);

  // Constant-time-ish verification: argon2id verify always runs (against a dummy hash when absent).
  // CPU heavy (tens of ms): call it off the event loop.
  // Account password or one of the user's app passwords (sasl/app_passwords.hpp).
  bool verify(std::string_view address, std::string_view password);
  // The same check, returning the canonical user name the database matched (its stored address) on
  // success. A session records this name, never the login as typed: " Alice@LOCALHOST" and
  // "alice@localhost" are one account, with one set of per-user limits and holds (issue 15 item 3).
  std::optional<std::string> authenticate(std::string_view address, std::string_view password);
  // user.require_app_passwords: the account password no longer verifies. Set before any verify().
  void set_require_app_passwords(bool on) { require_app_passwords_ = on; }

 private:
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  // exists() runs for every RCPT to a local domain: its statement is prepared once (guarded by mu_, reset after
  // every use so no read transaction stays open) instead of parsed again per recipient.
  sqlite3_stmt* exists_stmt_ = nullptr;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
  const std::string& dummy_hash();
  void insert(const std::string& address, const std::string& hash);
  bool require_app_passwords_ = false;
};

// What `user add --hash-stdin` thinks of a hash: an argon2id string crypto_pwhash_str_verify can check, made with
// mailfort's own parameters (ok) or others (other_params: accepted, but reported), or anything else (invalid).
enum class hash_status { ok, other_params, invalid };
hash_status password_hash_status(std::string_view hash);

// Normalise a login/address: lower-case, trimmed. Returns nullopt if not local@domain with safe parts.
std::optional<std::string> normalise_address(std::string_view address);

}  // namespace mailfort::sasl
