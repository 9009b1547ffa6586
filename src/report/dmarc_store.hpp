// report/dmarc_store.hpp: DMARC aggregate-report data (RFC 7489 7.2) kept in state.db, one row per
// (day, policy domain, header From, source IP, disposition, DKIM result, SPF result, raw results) with a message
// count,
// until report/dmarc_send has queued that (day, policy domain)'s reports (then its rows are deleted).
// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace mailfort::report {

struct dmarc_row {
  std::string day;            // "2026-11-22" (UTC)
  std::string policy_domain;  // where the DMARC record was found
  std::string header_from;    // author domain
  std::string source_ip;
  std::string disposition;  // none | quarantine | reject (what we did)
  std::string dkim;         // aligned DKIM result: pass | fail
  std::string spf;          // aligned SPF result: pass | fail
  std::int64_t count = 0;
  std::string auth;  // the raw SPF and DKIM results, dmarc::encode_raw_auth (the report's <auth_results>)
};

class dmarc_store {
 public:
  explicit dmarc_store(const std::string& db_path);  // throws std::runtime_error on a database error
  ~dmarc_store();
  dmarc_store(const dmarc_store&) = delete;
  dmarc_store& operator=(const dmarc_store&) = delete;

  // Adds one message to its row (count + 1). Thread-safe; blocking (a small SQLite write). Every method throws
  // std::runtime_error on a database error.
  void record(const dmarc_row& row);
  // Every row, oldest day first (for `mailfort dmarc report` and tests).
  std::vector<dmarc_row> rows();
  // (day, policy domain) pairs with rows, oldest day first; the rows of one pair; deleting them.
  std::vector<std::pair<std::string, std::string>> pending();
  std::vector<dmarc_row> rows(const std::string& day, const std::string& policy_domain);
  void remove(const std::string& day, const std::string& policy_domain);
  // Takes these rows (as rows(day, domain) returned them) off the store: their counts are subtracted and rows
  // that reach 0 are deleted, so messages counted after the read (today's report) are kept for the next one.
  void remove_reported(const std::vector<dmarc_row>& reported);

 private:
  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace mailfort::report
