// policy/redis_store.hpp: shared ban scores and bans in Redis, so several mailfort nodes act as one.
// SPDX-License-Identifier: MIT
// Keys: mf:score:<source> (float, expires `window` after the first offence: a fixed window, shared),
// mf:ban:<source> = "<until> <count> <reason>" (expires at the ban's end), mf:bancount:<source>
// (how often the source was banned, for escalation). Every call has a short timeout; when Redis is
// unreachable the caller keeps working on local state and the store reconnects on its own.
// Not thread-safe: the owner (policy::guard) locks.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct redisContext;

namespace mailfort::policy {

class redis_store {
 public:
  // url: redis://host:port. Does not connect until first use.
  explicit redis_store(std::string url);
  ~redis_store();
  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  bool up() const { return ctx_ != nullptr; }
  // Reconnect if down (rate-limited to once per 2 s). Returns true if now connected.
  bool ensure();
  const std::string& last_error() const { return error_; }

  // Adds points to a source's shared score; returns the new total, or nullopt when Redis failed.
  std::optional<double> add_score(const std::string& source, double points, std::chrono::seconds window);
  void clear_score(const std::string& source);
  // Shared fixed-window counter for rate limits: increments mf:rl:<key>:<window number> and returns the
  // count in the current window, or nullopt when Redis failed.
  std::optional<long long> count_in_window(const std::string& key, std::chrono::seconds window, std::int64_t now);
  // Counts one more ban of this source across the cluster; returns the count (1 for a first ban).
  std::optional<unsigned> next_ban_count(const std::string& source);
  bool set_ban(const std::string& source, std::int64_t until, unsigned count, const std::string& reason);
  bool unban(const std::string& source);
  struct remote_ban {
    std::string source;
    std::int64_t until = 0;
    unsigned count = 1;
    std::string reason;
  };
  // Every active ban in Redis, or nullopt on failure.
  std::optional<std::vector<remote_ban>> bans();

 private:
  void fail(const std::string& what);
  std::string host_;
  int port_ = 6379;
  redisContext* ctx_ = nullptr;
  std::string error_;
  std::chrono::steady_clock::time_point next_try_{};
};

}  // namespace mailfort::policy
