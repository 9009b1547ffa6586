// report/tlsrpt_store.hpp: TLS-RPT session counts (RFC 8460) kept in state.db, table tlsrpt_sessions: one row
// per (UTC day, session outcome, see tlsrpt_session) with a count, until a report for that day and policy
// domain has been queued (then the rows are deleted).
// SPDX-License-Identifier: MIT
// Thread-safe; blocking (small SQLite writes in WAL mode, shared with the other state.db tables). The CLI
// (`mailfort tlsrpt send`) opens the same file from another process.
#pragma once
#include "report/tlsrpt.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace mailfort::report {

class tlsrpt_store {
 public:
  explicit tlsrpt_store(const std::string& db_path);  // throws std::runtime_error
  ~tlsrpt_store();
  tlsrpt_store(const tlsrpt_store&) = delete;
  tlsrpt_store& operator=(const tlsrpt_store&) = delete;

  // Count one session on day "YYYY-MM-DD" (UTC). Throws std::runtime_error on a database error.
  void record(const std::string& day, const tlsrpt_session& s, std::int64_t n = 1);
  // (day, policy domain) pairs with rows, oldest day first.
  std::vector<std::pair<std::string, std::string>> pending();
  std::vector<tlsrpt_row> rows(const std::string& day, const std::string& domain);
  void remove(const std::string& day, const std::string& domain);

 private:
  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

// "YYYY-MM-DD" of a unix time (UTC), and back to the day's first second.
std::string tlsrpt_day(std::int64_t unix_seconds);
std::int64_t tlsrpt_day_start(const std::string& day);  // -1 when not a valid day

}  // namespace mailfort::report
