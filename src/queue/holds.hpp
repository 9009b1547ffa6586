// queue/holds.hpp: users whose outbound mail is held in the queue (table held_users in state.db).
// SPDX-License-Identifier: MIT
// An outbound_spike alert (an authenticated user sending far above their own habit: the compromised-account
// case) holds the user: their mail is still accepted and queued, but not relayed to other domains until an
// admin runs `mailfort queue release USER`. The list lives in the state database so a hold survives restarts
// and the CLI (another process) can release it; the server re-reads it every second (refresh()).
// Thread-safe; held() answers from memory.
#pragma once
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace mailfort::queue {

struct hold_record {
  std::string user;
  std::int64_t since = 0;  // unix seconds
  std::string reason;
};

class hold_list {
 public:
  explicit hold_list(const std::string& db_path);  // throws std::runtime_error
  ~hold_list();
  hold_list(const hold_list&) = delete;
  hold_list& operator=(const hold_list&) = delete;

  // Returns false when the user was already held.
  bool hold(std::string_view user, std::string_view reason, std::int64_t now);
  // Returns false when the user was not held.
  bool release(std::string_view user);
  std::vector<hold_record> list();
  // From memory (the last refresh or change made through this object).
  bool held(std::string_view user) const;
  // Re-read the table; returns the users released since the last read (by another process).
  std::vector<std::string> refresh();

 private:
  std::set<std::string> load_locked();
  mutable std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::set<std::string> cache_;
};

}  // namespace mailfort::queue
