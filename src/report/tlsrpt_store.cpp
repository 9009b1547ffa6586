// report/tlsrpt_store.cpp: the tlsrpt_sessions table (see tlsrpt_store.hpp).
// SPDX-License-Identifier: MIT
#include "report/tlsrpt_store.hpp"

#include "common/clock.hpp"
#include "common/sqlite.hpp"

#include <sqlite3.h>

#include <ctime>
#include <stdexcept>

namespace mailfort::report {
namespace {

using stmt = common::sql_stmt;

// Lists are stored one item per line (MTA-STS policy lines and host names never contain a line break).
std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += '\n';
    for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  while (true) {
    auto nl = s.find('\n', start);
    out.push_back(s.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

tlsrpt_store::tlsrpt_store(const std::string& db_path) {
  db_ = common::open_state_db(
      db_path,
      "CREATE TABLE IF NOT EXISTS tlsrpt_sessions(day TEXT NOT NULL, policy_domain TEXT NOT NULL, "
      "policy_type TEXT NOT NULL, policy_string TEXT NOT NULL, mx_host TEXT NOT NULL, "
      "result_type TEXT NOT NULL, sending_ip TEXT NOT NULL, receiving_mx TEXT NOT NULL, "
      "receiving_ip TEXT NOT NULL, info TEXT NOT NULL, count INTEGER NOT NULL, "
      "PRIMARY KEY(day, policy_domain, policy_type, policy_string, mx_host, result_type, sending_ip, "
      "receiving_mx, receiving_ip, info));",
      "tlsrpt_sessions");
}

tlsrpt_store::~tlsrpt_store() {
  if (db_) sqlite3_close(db_);
}

void tlsrpt_store::record(const std::string& day, const tlsrpt_session& s, std::int64_t n) {
  std::lock_guard lk(mu_);
  stmt q(db_,
         "INSERT INTO tlsrpt_sessions(day, policy_domain, policy_type, policy_string, mx_host, result_type, "
         "sending_ip, receiving_mx, receiving_ip, info, count) VALUES(?,?,?,?,?,?,?,?,?,?,?) "
         "ON CONFLICT(day, policy_domain, policy_type, policy_string, mx_host, result_type, sending_ip, "
         "receiving_mx, receiving_ip, info) DO UPDATE SET count = count + excluded.count");
  q.bind(1, day);
  q.bind(2, s.policy_domain);
  q.bind(3, s.policy_type);
  q.bind(4, join(s.policy_string));
  q.bind(5, join(s.mx_host));
  q.bind(6, s.result_type);
  q.bind(7, s.sending_ip);
  q.bind(8, s.receiving_mx);
  q.bind(9, s.receiving_ip);
  q.bind(10, s.additional_info);
  sqlite3_bind_int64(q.s, 11, n);
  q.done();
}

std::vector<std::pair<std::string, std::string>> tlsrpt_store::pending() {
  std::lock_guard lk(mu_);
  stmt q(db_, "SELECT DISTINCT day, policy_domain FROM tlsrpt_sessions ORDER BY day, policy_domain");
  std::vector<std::pair<std::string, std::string>> out;
  while (sqlite3_step(q.s) == SQLITE_ROW) out.emplace_back(q.col(0), q.col(1));
  return out;
}

std::vector<tlsrpt_row> tlsrpt_store::rows(const std::string& day, const std::string& domain) {
  std::lock_guard lk(mu_);
  stmt q(db_,
         "SELECT policy_type, policy_string, mx_host, result_type, sending_ip, receiving_mx, receiving_ip, info, "
         "count FROM tlsrpt_sessions WHERE day = ? AND policy_domain = ?");
  q.bind(1, day);
  q.bind(2, domain);
  std::vector<tlsrpt_row> out;
  while (sqlite3_step(q.s) == SQLITE_ROW) {
    tlsrpt_row r;
    r.s.policy_domain = domain;
    r.s.policy_type = q.col(0);
    r.s.policy_string = split(q.col(1));
    r.s.mx_host = split(q.col(2));
    r.s.result_type = q.col(3);
    r.s.sending_ip = q.col(4);
    r.s.receiving_mx = q.col(5);
    r.s.receiving_ip = q.col(6);
    r.s.additional_info = q.col(7);
    r.count = sqlite3_column_int64(q.s, 8);
    out.push_back(std::move(r));
  }
  return out;
}

void tlsrpt_store::remove(const std::string& day, const std::string& domain) {
  std::lock_guard lk(mu_);
  stmt q(db_, "DELETE FROM tlsrpt_sessions WHERE day = ? AND policy_domain = ?");
  q.bind(1, day);
  q.bind(2, domain);
  q.done();
}

std::string tlsrpt_day(std::int64_t t) { return common::utc_day(t); }

std::int64_t tlsrpt_day_start(const std::string& day) { return common::utc_day_start(day); }

}  // namespace mailfort::report
