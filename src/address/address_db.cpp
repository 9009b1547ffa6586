// address/address_db.cpp: the address tables in state.db (address_db.hpp).
// SPDX-License-Identifier: MIT
#include "address/address_db.hpp"

#include "common/sqlite.hpp"
#include "sasl/user_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace mailfort::address {

namespace {

constexpr const char* k_schema =
    "CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY, catch_all TEXT NOT NULL DEFAULT '', "
    "created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS aliases(address TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY(address, target));"
    "CREATE TABLE IF NOT EXISTS alias_senders(address TEXT NOT NULL, user TEXT NOT NULL, "
    "PRIMARY KEY(address, user));";

std::string checked_domain(std::string_view name) {
  auto a = sasl::normalise_address("postmaster@" + std::string(name));
  if (!a) throw std::invalid_argument("invalid domain '" + std::string(name) + "' (want labels of a-z 0-9 -)");
  return a->substr(a->find('@') + 1);
}

}  // namespace

std::string checked_address(std::string_view address, std::string_view what) {
  auto a = sasl::normalise_address(address);
  if (!a)
    throw std::invalid_argument("invalid " + std::string(what) + " '" + std::string(address) +
                                "' (want local@domain, local part of a-z 0-9 . _ + -)");
  return *a;
}

address_db::address_db(const std::string& db_path) {
  db_ = common::open_state_db(db_path, k_schema, "the address tables");
}

address_db::~address_db() { sqlite3_close(db_); }

bool address_db::add_domain(std::string_view name) {
  const std::string d = checked_domain(name);
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "INSERT OR IGNORE INTO domains(name, catch_all, created) VALUES(?1, '', ?2)");
  s.bind(1, d);
  sqlite3_bind_int64(s.s, 2, static_cast<long long>(std::time(nullptr)));
  s.done();
  snap_.reset();
  return sqlite3_changes(db_) > 0;
}

bool address_db::remove_domain(std::string_view name) {
  const std::string d = checked_domain(name);
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "DELETE FROM domains WHERE name=?1");
  s.bind(1, d);
  s.done();
  snap_.reset();
  return sqlite3_changes(db_) > 0;
}

void address_db::set_catch_all(std::string_view domain, std::string_view target) {
  const std::string d = checked_domain(domain);
  const std::string t = target.empty() ? std::string() : checked_address(target, "catch-all target");
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "UPDATE domains SET catch_all=?2 WHERE name=?1");
  s.bind(1, d);
  s.bind(2, t);
  s.done();
  snap_.reset();
  if (sqlite3_changes(db_) == 0)
    throw std::runtime_error("no hosted domain " + d + " in the state database (`mailfort domain add " + d + "`)");
}

std::vector<domain_row> address_db::list_domains() {
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "SELECT name, catch_all FROM domains ORDER BY name");
  std::vector<domain_row> out;
  while (sqlite3_step(s.s) == SQLITE_ROW) out.push_back({s.col(0), s.col(1)});
  return out;
}

void address_db::add_alias(std::string_view address, const std::vector<std::string>& targets,
                           const std::vector<std::string>& senders) {
  const std::string a = checked_address(address, "alias");
  std::vector<std::string> ts, ss;
  for (const auto& t : targets) ts.push_back(checked_address(t, "target"));
  for (const auto& u : senders) ss.push_back(checked_address(u, "sender"));
  if (ts.empty()) throw std::invalid_argument("an alias needs at least one target");
  std::lock_guard lk(mu_);
  common::sql_exec(db_, "BEGIN IMMEDIATE");
  try {
    for (const auto& t : ts) {
      if (t == a) throw std::invalid_argument("alias " + a + " cannot be its own target");
      common::sql_stmt s(db_, "INSERT OR IGNORE INTO aliases(address, target) VALUES(?1, ?2)");
      s.bind(1, a);
      s.bind(2, t);
      s.done();
    }
    for (const auto& u : ss) {
      common::sql_stmt s(db_, "INSERT OR IGNORE INTO alias_senders(address, user) VALUES(?1, ?2)");
      s.bind(1, a);
      s.bind(2, u);
      s.done();
    }
    common::sql_exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  snap_.reset();
}

bool address_db::remove_alias(std::string_view address) {
  const std::string a = checked_address(address, "alias");
  std::lock_guard lk(mu_);
  common::sql_stmt s(db_, "DELETE FROM aliases WHERE address=?1");
  s.bind(1, a);
  s.done();
  const bool removed = sqlite3_changes(db_) > 0;
  common::sql_stmt u(db_, "DELETE FROM alias_senders WHERE address=?1");
  u.bind(1, a);
  u.done();
  snap_.reset();
  return removed;
}

std::vector<alias_row> address_db::list_aliases() {
  auto b = snapshot();
  std::vector<alias_row> out;
  for (const auto& [a, ts] : b->aliases) {
    alias_row r{a, ts, {}};
    if (auto it = b->senders.find(a); it != b->senders.end()) r.senders.assign(it->second.begin(), it->second.end());
    out.push_back(std::move(r));
  }
  return out;
}

std::shared_ptr<const book> address_db::load() {
  auto b = std::make_shared<book>();
  {
    sqlite3_stmt* raw = nullptr;
    // The users table belongs to sasl/user_db; before the first `user add` it may not exist yet.
    if (sqlite3_prepare_v2(db_, "SELECT address FROM users ORDER BY created, rowid", -1, &raw, nullptr) == SQLITE_OK) {
      while (sqlite3_step(raw) == SQLITE_ROW) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
        if (!p) continue;
        b->users.insert(p);
        b->users_in_order.emplace_back(p);
      }
    }
    sqlite3_finalize(raw);
  }
  {
    common::sql_stmt s(db_, "SELECT name, catch_all FROM domains");
    while (sqlite3_step(s.s) == SQLITE_ROW) {
      b->domains.insert(s.col(0));
      if (!s.col(1).empty()) b->catch_all[s.col(0)] = s.col(1);
    }
  }
  {
    common::sql_stmt s(db_, "SELECT address, target FROM aliases ORDER BY address, rowid");
    while (sqlite3_step(s.s) == SQLITE_ROW) b->aliases[s.col(0)].push_back(s.col(1));
  }
  {
    common::sql_stmt s(db_, "SELECT address, user FROM alias_senders");
    while (sqlite3_step(s.s) == SQLITE_ROW) b->senders[s.col(0)].insert(s.col(1));
  }
  return b;
}

std::shared_ptr<const book> address_db::snapshot() {
  std::lock_guard lk(mu_);
  long long v = -1;
  {
    common::sql_stmt s(db_, "PRAGMA data_version");
    if (sqlite3_step(s.s) == SQLITE_ROW) v = sqlite3_column_int64(s.s, 0);
  }
  if (!snap_ || v != version_) {
    snap_ = load();
    version_ = v;
  }
  return snap_;
}

}  // namespace mailfort::address
