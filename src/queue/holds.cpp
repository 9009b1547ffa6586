// queue/holds.cpp: the held_users table.
// SPDX-License-Identifier: MIT
#include "queue/holds.hpp"

#include "common/ascii.hpp"
#include "common/sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>

namespace mailfort::queue {
namespace {
using stmt = common::sql_stmt;
}  // namespace

hold_list::hold_list(const std::string& db_path) {
  db_ = common::open_state_db(db_path,
                              "CREATE TABLE IF NOT EXISTS held_users(user TEXT PRIMARY KEY, since INTEGER NOT NULL, "
                              "reason TEXT NOT NULL);",
                              "held_users");
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
  const std::string u = common::to_lower(user);
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
  const std::string u = common::to_lower(user);
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
  return cache_.count(common::to_lower(user)) > 0;
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
