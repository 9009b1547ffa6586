// policy/guard.hpp: the abuse shield shared by every connection: connection rate, rate limits, greeting
// memory, fail2ban-style scores and bans (persisted in SQLite, so they survive restarts).
// SPDX-License-Identifier: MIT
//
// SECURITY: bans are per source prefix (default /32, /64), never per account: a brute force on alice
// bans the attacker's address, not alice. Trusted networks and the allowlist are never banned. A
// successful login never clears anyone's score or ban.
//
// Thread-safe (one mutex; every call is O(1) map work). Bans written by `mailfort ban add/del` in
// another process are picked up within a second (refresh()).
//
// Cluster mode (state.backend = "redis"): ban scores and bans live in Redis, so an attack spread over
// nodes reaches the same threshold, and a ban made anywhere is enforced everywhere within a second.
// Rate limits use shared fixed-window counters there. If Redis is unreachable the guard keeps working on local state,
// logs it (redis_unavailable), reconnects, and pushes its local bans back (redis_restored).
#pragma once
#include "common/clock.hpp"
#include "policy/ban_score.hpp"
#include "policy/rate_limiter.hpp"
#include "policy/redis_store.hpp"

#include <memory>

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

struct sqlite3;

namespace mailfort::policy {

struct limits_settings {
  double connections_per_minute_per_ip = 60;
  double messages_per_hour_per_ip = 1000;
  double recipients_per_hour_per_ip = 5000;
  double messages_per_hour_per_user = 500;
  double recipients_per_hour_per_user = 2000;
  double auth_per_minute_per_ip = 10;
  std::chrono::seconds greeting_memory{86400};
};

struct ban_record {
  std::string source;
  std::int64_t until = 0;  // unix seconds
  std::int64_t created = 0;
  unsigned count = 1;  // how many times this source has been banned
  std::string reason;
};

class guard {
 public:
  // db_path: the SQLite state database (bans table). allow: CIDRs never banned (trusted + allowlist).
  // redis_url non-empty: ban scores and bans are shared through Redis (state.backend = "redis").
  guard(const std::string& db_path, ban_settings bans, limits_settings limits, std::vector<std::string> allow,
        const common::clock& clk, const std::string& redis_url = "");
  ~guard();
  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;

  std::string source_of(const boost::asio::ip::address& a) const;
  bool exempt(const boost::asio::ip::address& a) const;

  // At connect, before TLS: banned? too many connections per minute?
  struct connect_verdict {
    bool allowed = true;
    std::string rule;        // "banned", "connection_rate"
    std::int64_t until = 0;  // ban expiry
  };
  connect_verdict on_connect(const boost::asio::ip::address& a);
  bool is_banned(const std::string& source, std::int64_t* until = nullptr);

  // Rate limits. user may be empty (then only the per-IP limit applies).
  bool allow_message(const boost::asio::ip::address& a, const std::string& user, std::string& rule);
  bool allow_recipient(const boost::asio::ip::address& a, const std::string& user, std::string& rule);
  bool allow_auth(const boost::asio::ip::address& a);

  // Greeting delay memory: clients that waited for the banner once are not delayed again.
  bool greeting_passed(const boost::asio::ip::address& a);
  void mark_greeting_passed(const boost::asio::ip::address& a);

  // An offence; returns the new ban if this one crossed the threshold.
  std::optional<ban_record> record(const boost::asio::ip::address& a, offence o, double count = 1.0);

  // Admin operations (also used by the CLI through its own guard on the same database).
  ban_record ban(const std::string& source, std::chrono::seconds duration, const std::string& reason);
  bool unban(const std::string& source);
  std::vector<ban_record> list();

  // Re-read bans from the database (cheap; called every second by the daemon).
  void refresh();

 private:
  void load_locked();
  void sync_redis_locked();
  void redis_down_locked();
  std::chrono::seconds duration_for(unsigned count) const;
  // One unit of a rate limit: shared through Redis in cluster mode (fixed windows), else the local bucket.
  bool spend_locked(rate_limiter& local, const char* name, const std::string& key, double capacity,
                    std::chrono::seconds window);
  bool banned_addr_locked(const boost::asio::ip::address& a, std::int64_t* until);
  void store_locked(const ban_record& r);
  std::int64_t now_s() const { return common::unix_seconds(clock_.now()); }

  mutable std::mutex mu_;
  sqlite3* db_ = nullptr;
  ban_settings ban_settings_;
  limits_settings limits_;
  std::vector<std::pair<boost::asio::ip::address, unsigned>> allow_;
  const common::clock& clock_;
  ban_score scores_;
  rate_limiter conn_rate_, msg_ip_, rcpt_ip_, msg_user_, rcpt_user_, auth_ip_;
  std::unordered_map<std::string, ban_record> bans_;
  std::unordered_map<std::string, common::time_point> greeted_;
  std::unique_ptr<redis_store> redis_;
  bool redis_was_up_ = false;
  bool logged_redis_down_ = false;
};

}  // namespace mailfort::policy
