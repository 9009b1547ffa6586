// common/sqlite.hpp: what every table in state.db needs from SQLite: one prepared statement with RAII (the one
// statement wrapper: report stores, holds, the MTA-STS cache, app passwords, the guard's bans table), and
// opening the database (WAL, busy timeout) with a table's schema. Header-only; users link SQLite themselves.
// SPDX-License-Identifier: MIT
#pragma once
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mailfort::common {

// The error of the last call on db, as every state.db user reports it.
inline std::runtime_error sql_error(sqlite3* db) {
  return std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db));
}

struct sql_stmt {
  sqlite3_stmt* s = nullptr;
  sqlite3* db;
  sql_stmt(sqlite3* d, const char* sql) : db(d) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) throw sql_error(db);
  }
  // Without the throw: ok() tells whether the statement was prepared (callers that carry on without it).
  sql_stmt(sqlite3* d, const char* sql, std::nothrow_t) : db(d) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
      sqlite3_finalize(s);
      s = nullptr;
    }
  }
  ~sql_stmt() { sqlite3_finalize(s); }
  sql_stmt(const sql_stmt&) = delete;
  sql_stmt& operator=(const sql_stmt&) = delete;
  bool ok() const { return s != nullptr; }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
  // The raw sqlite3_step result; row(): whether it produced a row (any error ends a loop like the last row).
  int step() { return sqlite3_step(s); }
  bool row() { return step() == SQLITE_ROW; }
  void reset() { sqlite3_reset(s); }
  std::string col(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }
  std::int64_t int64(int i) const { return sqlite3_column_int64(s, i); }
  void done() {
    if (sqlite3_step(s) != SQLITE_DONE) throw sql_error(db);
  }
};

// state.db holds password hashes: it is created 0600 before SQLite would create it 0644 & ~umask (its -wal and -shm
// files copy the mode). Only when missing (O_EXCL): closing a descriptor of a file this process already has open in
// SQLite drops SQLite's POSIX locks on it (they belong to the process), and another process would then take the WAL
// and its index from under the open connections.
inline void create_private_db_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0)
    ::close(fd);
  else if (errno != EEXIST)
    throw std::runtime_error("cannot create state database " + path + ": " + std::strerror(errno));
}

// Opens (creating) the database at `path` in WAL mode with a 5 s busy timeout and runs `schema` (CREATE TABLE IF
// NOT EXISTS ...). Throws, naming `table`, when either fails; never returns null.
inline sqlite3* open_state_db(const std::string& path, const char* schema, std::string_view table) {
  create_private_db_file(path);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string err = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open state database " + path + ": " + err);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const std::string sql = std::string("PRAGMA journal_mode=WAL;") + schema;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db);
    throw std::runtime_error("cannot initialise " + std::string(table) + " in " + path + ": " + e);
  }
  return db;
}

// Runs SQL without results (BEGIN, COMMIT, ...); throws std::runtime_error with SQLite's message.
inline void sql_exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown";
    sqlite3_free(err);
    throw std::runtime_error("state database: " + e);
  }
}

}  // namespace mailfort::common
