// inbound/report_store.cpp: DMARC aggregate-report rows in SQLite (see report_store.hpp).
// SPDX-License-Identifier: MIT
#include "inbound/report_store.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace mailfort::inbound {

namespace {

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("state database: " + msg);
  }
}

struct statement {
  sqlite3_stmt* st = nullptr;
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(st); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  void bind(int i, const std::string& s) {
    sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  std::string text(int i) {
    const auto* p = sqlite3_column_text(st, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st, i)))
             : std::string();
  }
};

}  // namespace

report_store::report_store(const std::string& db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("state database " + db_path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec(db_,
       "PRAGMA journal_mode=WAL;"
       "CREATE TABLE IF NOT EXISTS dmarc_report ("
       " day TEXT NOT NULL, policy_domain TEXT NOT NULL, header_from TEXT NOT NULL, source_ip TEXT NOT NULL,"
       " disposition TEXT NOT NULL, dkim TEXT NOT NULL, spf TEXT NOT NULL, count INTEGER NOT NULL,"
       " PRIMARY KEY (day, policy_domain, header_from, source_ip, disposition, dkim, spf));");
}

report_store::~report_store() { sqlite3_close(db_); }

void report_store::record(const report_row& r) {
  std::lock_guard lock(mu_);
  statement s(db_,
              "INSERT INTO dmarc_report VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1) "
              "ON CONFLICT (day, policy_domain, header_from, source_ip, disposition, dkim, spf) "
              "DO UPDATE SET count = count + 1");
  s.bind(1, r.day);
  s.bind(2, r.policy_domain);
  s.bind(3, r.header_from);
  s.bind(4, r.source_ip);
  s.bind(5, r.disposition);
  s.bind(6, r.dkim);
  s.bind(7, r.spf);
  if (sqlite3_step(s.st) != SQLITE_DONE)
    throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db_));
}

std::vector<report_row> report_store::rows() {
  std::lock_guard lock(mu_);
  statement s(db_,
              "SELECT day, policy_domain, header_from, source_ip, disposition, dkim, spf, count FROM dmarc_report "
              "ORDER BY day, policy_domain, header_from, source_ip");
  std::vector<report_row> out;
  while (sqlite3_step(s.st) == SQLITE_ROW) {
    report_row r{s.text(0), s.text(1), s.text(2), s.text(3),
                 s.text(4), s.text(5), s.text(6), sqlite3_column_int64(s.st, 7)};
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mailfort::inbound
