// queue/holds.cpp: the held_users table.
// SPDX-License-Identifier: MIT
#include "queue/holds.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>

namespace mailfort::queue {
namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct stmt {
  sqlite3_stmt* s = nullptr;
  stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db));
  }
  ~stmt() { sqlite3_finalize(s); }
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;
};
}  // namespace

hold_list::hold_list(const std::string& db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open state database " + db_path + ": " + err);
  }
  sqlite3_busy_timeout(db_, 5000);
  char* err = nullptr;
  if (sqlite3_exec(db_,
                   "PRAGMA journal_mode=WAL;"
                   "CREATE TABLE IF NOT EXISTS held_users(user TEXT PRIMARY KEY, since INTEGER NOT NULL, "
                   "reason TEXT NOT NULL);",
                   nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot initialise held_users in " + db_path + ": " + e);
  }
  std::lock_guard lk(mu_);
  cache_ = load_locked();
}

hold_list::~hold_list() {
  if (db_) sqlite3_close(db_);
}

std::set<std::string> hold_list::load_locked() {
  stmt q(db_, "SELECT user FROM held_users");
  std::set<std::string> out;
  while (sqlite3_step(q.s) == SQLITE_ROW) out.insert(reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0)));
  return out;
}

bool hold_list::hold(std::string_view user, std::string_view reason, std::int64_t now) {
  std::lock_guard lk(mu_);
  const std::string u = lower(user);
  stmt q(db_, "INSERT OR IGNORE INTO held_users(user, since, reason) VALUES(?, ?, ?)");
  sqlite3_bind_text(q.s, 1, u.data(), static_cast<int>(u.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(q.s, 2, now);
  sqlite3_bind_text(q.s, 3, reason.data(), static_cast<int>(reason.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(q.s) != SQLITE_DONE) throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db_));
  cache_.insert(u);
  return sqlite3_changes(db_) > 0;
}

bool hold_list::release(std::string_view user) {
  std::lock_guard lk(mu_);
  const std::string u = lower(user);
  stmt q(db_, "DELETE FROM held_users WHERE user = ?");
  sqlite3_bind_text(q.s, 1, u.data(), static_cast<int>(u.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(q.s) != SQLITE_DONE) throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db_));
  cache_.erase(u);
  return sqlite3_changes(db_) > 0;
}

std::vector<hold_record> hold_list::list() {
  std::lock_guard lk(mu_);
  stmt q(db_, "SELECT user, since, reason FROM held_users ORDER BY since");
  std::vector<hold_record> out;
  while (sqlite3_step(q.s) == SQLITE_ROW)
    out.push_back({reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0)), sqlite3_column_int64(q.s, 1),
                   reinterpret_cast<const char*>(sqlite3_column_text(q.s, 2))});
  return out;
}

bool hold_list::held(std::string_view user) const {
  std::lock_guard lk(mu_);
  return cache_.count(lower(user)) > 0;
}

std::vector<std::string> hold_list::refresh() {
  std::lock_guard lk(mu_);
  auto now = load_locked();
  std::vector<std::string> released;
  std::set_difference(cache_.begin(), cache_.end(), now.begin(), now.end(), std::back_inserter(released));
  cache_ = std::move(now);
  return released;
}

}  // namespace mailfort::queue
