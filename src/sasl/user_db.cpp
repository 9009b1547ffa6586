// sasl/user_db.cpp: users and argon2id hashes in SQLite (see user_db.hpp).
// SPDX-License-Identifier: MIT
// Only the hash is stored; the comparison is libsodium's (constant time). Nothing else about the user is
// compared, so a login can fail in exactly one way and always after the same work.
#include "sasl/user_db.hpp"

#include "common/ascii.hpp"
#include "common/sqlite.hpp"
#include "sasl/app_passwords.hpp"

#include <sodium.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace mailfort::sasl {

namespace {

std::string hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    throw std::runtime_error("password hashing failed (out of memory?)");
  return out;
}

}  // namespace

hash_status password_hash_status(std::string_view hash) {
  const std::string h(hash);
  if (h.size() >= crypto_pwhash_STRBYTES || h.rfind("$argon2id$", 0) != 0) return hash_status::invalid;
  for (char c : h)  // the PHC alphabet: nothing that could break a line of Dovecot's passwd-file
    if (!common::is_alnum(c) && c != '$' && c != '=' && c != ',' && c != '+' && c != '/' && c != '.' && c != '-')
      return hash_status::invalid;
  switch (crypto_pwhash_str_needs_rehash(h.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                         crypto_pwhash_MEMLIMIT_INTERACTIVE)) {
    case 0:
      return hash_status::ok;
    case 1:
      return hash_status::other_params;
    default:
      return hash_status::invalid;
  }
}

namespace {

bool safe_local(std::string_view l) {
  if (l.empty() || l.size() > 64 || l.front() == '.' || l.back() == '.' || l.find("..") != std::string_view::npos)
    return false;
  for (char c : l)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == '-'))
      return false;
  return true;
}

// Labels of [a-z0-9-] (1..63, the DNS limit) joined by single dots, 255 in all. The domain becomes a
// Maildir path component, so nothing else (no '/', no "..", no NUL) may pass.
bool safe_domain(std::string_view d) {
  if (d.empty() || d.size() > 255 || d.front() == '.' || d.back() == '.' || d.find("..") != std::string_view::npos)
    return false;
  std::size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (++label > 63) return false;
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// sodium_init() is thread-safe and idempotent, but once is all it needs.
void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium initialisation failed");
}

}  // namespace

std::optional<std::string> normalise_address(std::string_view address) {
  while (!address.empty() && is_space(address.front())) address.remove_prefix(1);
  while (!address.empty() && is_space(address.back())) address.remove_suffix(1);
  if (address.size() > 64 + 1 + 255) return std::nullopt;
  std::string a;
  for (char c : address) a.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  auto at = a.find('@');
  if (at == std::string::npos || a.find('@', at + 1) != std::string::npos) return std::nullopt;
  if (!safe_local(std::string_view(a).substr(0, at)) || !safe_domain(std::string_view(a).substr(at + 1)))
    return std::nullopt;
  return a;
}

user_db::user_db(const std::string& db_path) {
  init_sodium();
  common::create_private_db_file(db_path);  // 0600, and never a close() of a file SQLite holds
  if (sqlite3_open_v2(db_path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                      nullptr) != SQLITE_OK) {
    std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open state database " + db_path + ": " + err);
  }
  sqlite3_busy_timeout(db_, 5000);
  char* err = nullptr;
  const std::string schema =
      std::string(
          "PRAGMA journal_mode=WAL;"
          "PRAGMA synchronous=FULL;"
          "CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY, hash TEXT NOT NULL, created INTEGER NOT "
          "NULL);") +
      k_app_passwords_schema;
  if (sqlite3_exec(db_, schema.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot initialise state database " + db_path + ": " + e);
  }
  // Verified for unknown users, so a failure costs the same time whether or not the account exists.
}

// Computed on the first verification, not at open: the CLI never verifies, and the daemon pays for it on its first
// AUTH, known user or not (so even that first answer does not tell whether the user exists).
const std::string& user_db::dummy_hash() {
  std::call_once(dummy_once_, [this] { dummy_hash_ = hash_password("mailfort-dummy-password-for-timing"); });
  return dummy_hash_;
}

user_db::~user_db() {
  sqlite3_finalize(exists_stmt_);
  if (db_) sqlite3_close(db_);
}

void user_db::add(std::string_view address, std::string_view password) {
  auto a = normalise_address(address);
  if (!a)
    throw std::invalid_argument("invalid address '" + std::string(address) +
                                "' (want local@domain, local part of a-z 0-9 . _ + -)");
  insert(*a, hash_password(password));
}

void user_db::add_hashed(std::string_view address, std::string_view hash) {
  auto a = normalise_address(address);
  if (!a)
    throw std::invalid_argument("invalid address '" + std::string(address) +
                                "' (want local@domain, local part of a-z 0-9 . _ + -)");
  insert(*a, std::string(hash));
}

void user_db::insert(const std::string& a, const std::string& h) {
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "INSERT INTO users(address, hash, created) VALUES(?1, ?2, ?3)");
  s.bind(1, a);
  s.bind(2, h);
  s.bind(3, static_cast<long long>(std::time(nullptr)));
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) throw std::runtime_error("user " + a + " already exists");
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("cannot add user: ") + sqlite3_errmsg(db_));
}

void user_db::set_password(std::string_view address, std::string_view password) {
  auto a = normalise_address(address);
  if (!a) throw std::invalid_argument("invalid address '" + std::string(address) + "'");
  std::string h = hash_password(password);
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "UPDATE users SET hash=?2 WHERE address=?1");
  s.bind(1, *a);
  s.bind(2, h);
  if (s.step() != SQLITE_DONE) throw std::runtime_error(std::string("cannot update user: ") + sqlite3_errmsg(db_));
  if (sqlite3_changes(db_) == 0) throw std::runtime_error("no such user " + *a);
}

bool user_db::remove(std::string_view address) {
  auto a = normalise_address(address);
  if (!a) return false;
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "DELETE FROM users WHERE address=?1");
  s.bind(1, *a);
  if (s.step() != SQLITE_DONE) throw std::runtime_error(std::string("cannot delete user: ") + sqlite3_errmsg(db_));
  const bool removed = sqlite3_changes(db_) > 0;
  common::sql_stmt ap(db_,
                      "DELETE FROM app_passwords WHERE address=?1");  // a user added again later starts without them
  ap.bind(1, *a);
  ap.step();
  return removed;
}

std::vector<std::string> user_db::list() {
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "SELECT address FROM users ORDER BY address");
  std::vector<std::string> out;
  while (s.step() == SQLITE_ROW) out.push_back(s.col(0));
  return out;
}

bool user_db::exists(std::string_view address) {
  auto a = normalise_address(address);
  if (!a) return false;
  std::lock_guard lk(mu_);
  if (!exists_stmt_ &&
      sqlite3_prepare_v2(db_, "SELECT 1 FROM users WHERE address=?1", -1, &exists_stmt_, nullptr) != SQLITE_OK) {
    sqlite3_finalize(exists_stmt_);
    exists_stmt_ = nullptr;
    throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
  }
  sqlite3_bind_text(exists_stmt_, 1, a->data(), static_cast<int>(a->size()), SQLITE_TRANSIENT);
  const bool found = sqlite3_step(exists_stmt_) == SQLITE_ROW;
  // Ends the statement's read transaction now (a user added by `mailfort user add` is seen at the next RCPT).
  sqlite3_reset(exists_stmt_);
  sqlite3_clear_bindings(exists_stmt_);
  return found;
}

bool user_db::verify(std::string_view address, std::string_view password) {
  return authenticate(address, password).has_value();
}

std::optional<std::string> user_db::authenticate(std::string_view address, std::string_view password) {
  const std::string& dummy = dummy_hash();
  std::string hash;
  std::string canonical;
  bool known = false;
  std::vector<std::string> app_hashes;
  if (auto a = normalise_address(address)) {
    std::lock_guard lk(mu_);
    common::sql_stmt s(db_, "SELECT hash, address FROM users WHERE address=?1");
    s.bind(1, *a);
    if (s.step() == SQLITE_ROW) {
      hash = s.col(0);
      canonical = s.col(1);
      known = true;
    }
    if (known) {
      common::sql_stmt ap(db_, "SELECT hash FROM app_passwords WHERE address=?1");
      ap.bind(1, *a);
      while (ap.step() == SQLITE_ROW) app_hashes.push_back(ap.col(0));
    }
  }
  if (!known) hash = dummy;
  bool ok =
      crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0 && known && !require_app_passwords_;
  // App passwords (sasl/app_passwords.hpp): tried only when the account password did not open the account, one
  // argon2id verification each (at most k_max_app_passwords).
  for (const auto& h : app_hashes)
    if (!ok) ok = crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
  if (!ok || !known || canonical.empty()) return std::nullopt;
  return canonical;
}

}  // namespace mailfort::sasl
