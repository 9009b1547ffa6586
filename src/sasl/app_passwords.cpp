// sasl/app_passwords.cpp: per-device passwords in state.db (see app_passwords.hpp).
// SPDX-License-Identifier: MIT
#include "sasl/app_passwords.hpp"

#include "common/sqlite.hpp"
#include "sasl/user_db.hpp"

#include <sodium.h>
#include <sys/random.h>

#include <cerrno>
#include <ctime>
#include <stdexcept>

namespace mailfort::sasl {

namespace {

void fill_random(unsigned char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(buf + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw std::runtime_error("getrandom failed");
    got += static_cast<std::size_t>(r);
  }
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (unsigned char c : n)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::string normalised(std::string_view address) {
  auto a = normalise_address(address);
  if (!a) throw std::invalid_argument("not a valid local address: " + std::string(address));
  return *a;
}

}  // namespace

std::string make_app_password(void (*random)(unsigned char* buf, std::size_t n)) {
  // 32 symbols (5 bits each): no 0/o, 1/l/i.
  static constexpr char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  static_assert(sizeof alphabet - 1 == 31);
  std::string out;
  unsigned char buf[64];
  std::size_t used = sizeof buf;
  while (out.size() < 24) {
    if (used == sizeof buf) {
      random(buf, sizeof buf);
      used = 0;
    }
    unsigned char c = buf[used++];
    if (c >= 248) continue;  // 248 = 8 * 31: rejection keeps every symbol equally likely
    if (out.size() % 5 == 4) out += '-';
    out += alphabet[c % 31];
  }
  return out;
}

app_passwords::app_passwords(const std::string& db_path) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  db_ = common::open_state_db(db_path, k_app_passwords_schema, "app_passwords");
}

app_passwords::~app_passwords() {
  if (db_) sqlite3_close(db_);
}

std::string app_passwords::add(std::string_view address, std::string_view name) {
  const std::string a = normalised(address);
  if (!valid_name(name)) throw std::runtime_error("--name must be 1 to 64 printable ASCII characters");
  {
    common::sql_stmt s(db_, "SELECT 1 FROM users WHERE address=?1");
    s.bind(1, a);
    if (sqlite3_step(s.s) != SQLITE_ROW) throw std::runtime_error("no such user: " + a);
  }
  {
    common::sql_stmt s(db_, "SELECT count(*) FROM app_passwords WHERE address=?1");
    s.bind(1, a);
    if (sqlite3_step(s.s) == SQLITE_ROW &&
        static_cast<std::size_t>(sqlite3_column_int64(s.s, 0)) >= k_max_app_passwords)
      throw std::runtime_error(a + " has " + std::to_string(k_max_app_passwords) +
                               " app passwords already; delete one first");
  }
  std::string password = make_app_password(fill_random);
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    throw std::runtime_error("password hashing failed (out of memory?)");
  common::sql_stmt s(db_, "INSERT INTO app_passwords(address, name, hash, created) VALUES(?1, ?2, ?3, ?4)");
  s.bind(1, a);
  s.bind(2, name);
  s.bind(3, hash);
  sqlite3_bind_int64(s.s, 4, static_cast<sqlite3_int64>(std::time(nullptr)));
  if (sqlite3_step(s.s) != SQLITE_DONE)
    throw std::runtime_error(a + " already has an app password named '" + std::string(name) + "'");
  return password;
}

std::vector<app_password_info> app_passwords::list(std::string_view address) {
  const std::string a = normalised(address);
  common::sql_stmt s(db_, "SELECT name, created FROM app_passwords WHERE address=?1 ORDER BY created, name");
  s.bind(1, a);
  std::vector<app_password_info> out;
  while (sqlite3_step(s.s) == SQLITE_ROW) out.push_back({s.col(0), sqlite3_column_int64(s.s, 1)});
  return out;
}

bool app_passwords::remove(std::string_view address, std::string_view name) {
  const std::string a = normalised(address);
  common::sql_stmt s(db_, "DELETE FROM app_passwords WHERE address=?1 AND name=?2");
  s.bind(1, a);
  s.bind(2, name);
  s.done();
  return sqlite3_changes(db_) > 0;
}

}  // namespace mailfort::sasl
