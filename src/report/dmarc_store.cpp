// report/dmarc_store.cpp: DMARC aggregate-report rows in SQLite (see dmarc_store.hpp).
// SPDX-License-Identifier: MIT
#include "report/dmarc_store.hpp"

#include "common/sqlite.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace mailfort::report {

namespace {

using report_stmt = common::sql_stmt;

// `auth` (the raw results for <auth_results>, issue 15 item 8) is part of the key. A table from before it existed
// is rebuilt with auth = "" (those rows are reported with an SPF result of none) when the store opens.
constexpr const char* report_schema =
    "CREATE TABLE IF NOT EXISTS dmarc_report ("
    " day TEXT NOT NULL, policy_domain TEXT NOT NULL, header_from TEXT NOT NULL, source_ip TEXT NOT NULL,"
    " disposition TEXT NOT NULL, dkim TEXT NOT NULL, spf TEXT NOT NULL, count INTEGER NOT NULL,"
    " auth TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (day, policy_domain, header_from, source_ip, disposition, dkim, spf, auth));";

constexpr const char* report_columns =
    "day, policy_domain, header_from, source_ip, disposition, dkim, spf, count, auth";

dmarc_row row_of(const report_stmt& s) {
  return dmarc_row{s.col(0), s.col(1), s.col(2), s.col(3), s.col(4), s.col(5), s.col(6), sqlite3_column_int64(s.s, 7),
                   s.col(8)};
}

// The row's key (?1..?8: day, policy domain, header From, source IP, disposition, DKIM, SPF, raw results).
void bind_report_key(report_stmt& s, const dmarc_row& r) {
  s.bind(1, r.day);
  s.bind(2, r.policy_domain);
  s.bind(3, r.header_from);
  s.bind(4, r.source_ip);
  s.bind(5, r.disposition);
  s.bind(6, r.dkim);
  s.bind(7, r.spf);
  s.bind(8, r.auth);
}

void report_exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("state database (dmarc_report): " + msg);
  }
}

// Rebuilds a dmarc_report table created before the auth column (its primary key must include it).
void report_upgrade(sqlite3* db) {
  bool has_auth = false;
  {
    report_stmt s(db, "PRAGMA table_info(dmarc_report)");
    while (sqlite3_step(s.s) == SQLITE_ROW)
      if (s.col(1) == "auth") has_auth = true;
  }
  if (has_auth) return;
  report_exec(db, "BEGIN IMMEDIATE");
  try {
    report_exec(db, "ALTER TABLE dmarc_report RENAME TO dmarc_report_old");
    report_exec(db, report_schema);
    report_exec(
        db,
        "INSERT INTO dmarc_report SELECT day, policy_domain, header_from, source_ip, disposition, dkim, spf, count, '' "
        "FROM dmarc_report_old");
    report_exec(db, "DROP TABLE dmarc_report_old");
    report_exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace

dmarc_store::dmarc_store(const std::string& db_path)
    : db_(common::open_state_db(db_path, report_schema, "dmarc_report")) {
  try {
    report_upgrade(db_);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

dmarc_store::~dmarc_store() { sqlite3_close(db_); }

void dmarc_store::record(const dmarc_row& r) {
  std::lock_guard lock(mu_);
  report_stmt s(db_,
                "INSERT INTO dmarc_report (day, policy_domain, header_from, source_ip, disposition, dkim, spf, auth, "
                "count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1) "
                "ON CONFLICT (day, policy_domain, header_from, source_ip, disposition, dkim, spf, auth) "
                "DO UPDATE SET count = count + 1");
  bind_report_key(s, r);
  s.done();
}

std::vector<dmarc_row> dmarc_store::rows() {
  std::lock_guard lock(mu_);
  report_stmt s(db_, (std::string("SELECT ") + report_columns +
                      " FROM dmarc_report ORDER BY day, policy_domain, header_from, source_ip, auth")
                         .c_str());
  std::vector<dmarc_row> out;
  while (sqlite3_step(s.s) == SQLITE_ROW) out.push_back(row_of(s));
  return out;
}

std::vector<std::pair<std::string, std::string>> dmarc_store::pending() {
  std::lock_guard lock(mu_);
  report_stmt s(db_, "SELECT DISTINCT day, policy_domain FROM dmarc_report ORDER BY day, policy_domain");
  std::vector<std::pair<std::string, std::string>> out;
  while (sqlite3_step(s.s) == SQLITE_ROW) out.emplace_back(s.col(0), s.col(1));
  return out;
}

std::vector<dmarc_row> dmarc_store::rows(const std::string& day, const std::string& policy_domain) {
  std::lock_guard lock(mu_);
  report_stmt s(db_, (std::string("SELECT ") + report_columns +
                      " FROM dmarc_report WHERE day = ?1 AND policy_domain = ?2 ORDER BY header_from, source_ip, "
                      "disposition, dkim, spf, auth")
                         .c_str());
  s.bind(1, day);
  s.bind(2, policy_domain);
  std::vector<dmarc_row> out;
  while (sqlite3_step(s.s) == SQLITE_ROW) out.push_back(row_of(s));
  return out;
}

void dmarc_store::remove(const std::string& day, const std::string& policy_domain) {
  std::lock_guard lock(mu_);
  report_stmt s(db_, "DELETE FROM dmarc_report WHERE day = ?1 AND policy_domain = ?2");
  s.bind(1, day);
  s.bind(2, policy_domain);
  s.done();
}

void dmarc_store::remove_reported(const std::vector<dmarc_row>& reported) {
  std::lock_guard lock(mu_);
  char* err = nullptr;
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("state database: " + msg);
  }
  try {
    for (const auto& r : reported) {
      report_stmt s(db_,
                    "UPDATE dmarc_report SET count = count - ?9 WHERE day = ?1 AND policy_domain = ?2 AND "
                    "header_from = ?3 AND source_ip = ?4 AND disposition = ?5 AND dkim = ?6 AND spf = ?7 AND "
                    "auth = ?8");
      bind_report_key(s, r);
      sqlite3_bind_int64(s.s, 9, r.count);
      s.done();
    }
    report_stmt del(db_, "DELETE FROM dmarc_report WHERE count <= 0");
    del.done();
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw std::runtime_error("state database: " + msg);
  }
}

}  // namespace mailfort::report
