// outbound/sts_cache_store.cpp: the mta_sts_policies table (see sts_cache_store.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/sts_cache_store.hpp"

#include "common/sqlite.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace mailfort::outbound {

namespace {
using stmt = common::sql_stmt;
std::string col(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}
}  // namespace

sts_cache_store::sts_cache_store(const std::string& db_path) {
  db_ = common::open_state_db(
      db_path,
      "CREATE TABLE IF NOT EXISTS mta_sts_policies(domain TEXT PRIMARY KEY, id TEXT NOT NULL, "
      "mode TEXT NOT NULL, mx TEXT NOT NULL, max_age INTEGER NOT NULL, fetched_at INTEGER NOT NULL);",
      "mta_sts_policies");
}

sts_cache_store::~sts_cache_store() {
  if (db_) sqlite3_close(db_);
}

std::optional<sts_cached_policy> sts_cache_store::load(const std::string& domain) {
  std::lock_guard lk(mu_);
  stmt q(db_, "SELECT id, mode, mx, max_age, fetched_at FROM mta_sts_policies WHERE domain = ?");
  sqlite3_bind_text(q.s, 1, domain.data(), static_cast<int>(domain.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(q.s) != SQLITE_ROW) return std::nullopt;
  sts_cached_policy c;
  c.id = col(q.s, 0);
  auto mode = parse_sts_mode(col(q.s, 1));
  if (!mode) return std::nullopt;
  c.policy.mode = *mode;
  std::string mx = col(q.s, 2);
  std::size_t start = 0;
  while (!mx.empty()) {
    auto nl = mx.find('\n', start);
    c.policy.mx.push_back(mx.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  auto max_age = sqlite3_column_int64(q.s, 3);
  if (max_age < 0 || static_cast<std::uint64_t>(max_age) > sts_max_age_limit) return std::nullopt;
  c.policy.max_age = static_cast<std::uint32_t>(max_age);
  c.fetched_at = sqlite3_column_int64(q.s, 4);
  if (c.policy.mode != sts_mode::none && c.policy.mx.empty()) return std::nullopt;
  return c;
}

void sts_cache_store::save(const std::string& domain, const sts_cached_policy& p) {
  std::lock_guard lk(mu_);
  std::string mx;
  for (const auto& m : p.policy.mx) mx += (mx.empty() ? "" : "\n") + m;
  stmt q(db_, "INSERT OR REPLACE INTO mta_sts_policies(domain, id, mode, mx, max_age, fetched_at) VALUES(?,?,?,?,?,?)");
  const std::string mode = to_string(p.policy.mode);
  sqlite3_bind_text(q.s, 1, domain.data(), static_cast<int>(domain.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(q.s, 2, p.id.data(), static_cast<int>(p.id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(q.s, 3, mode.data(), static_cast<int>(mode.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(q.s, 4, mx.data(), static_cast<int>(mx.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(q.s, 5, static_cast<sqlite3_int64>(p.policy.max_age));
  sqlite3_bind_int64(q.s, 6, p.fetched_at);
  if (sqlite3_step(q.s) != SQLITE_DONE) throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db_));
}

}  // namespace mailfort::outbound
