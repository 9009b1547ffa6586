// policy/guard.hpp: the abuse shield shared by every connection: connection rate, rate limits, greeting
// memory, fail2ban-style scores and bans (persisted in SQLite, so they survive restarts).
// SPDX-License-Identifier: MIT
//
// SECURITY: bans are per source prefix (default /32, /64), never per account: a brute force on alice
// bans the attacker's address, not alice. Trusted networks and the allowlist are never banned. A
// successful login never clears anyone's score or ban.
//
// Thread-safe. The guard lock (mu_) covers in-memory maps only and is never held across SQLite or Redis:
// calls from the event loops are O(1) map work. New bans are written to SQLite by the background thread
// (start(); without it, by refresh() and the destructor), which also reads, once a second, only the rows
// changed since its last read (a change counter, bans.seq), so bans written by `mailfort ban add/del` in
// another process take effect within a second, whatever the size of the table. Expired bans leave memory;
// their rows stay for escalation only ban.history_s after they ended, then are deleted; scores whose points
// expired are swept (every minute).
//
// Cluster mode (state.backend = "redis"): ban scores and bans live in Redis, so an attack spread over
// nodes reaches the same threshold, and a ban made anywhere is enforced everywhere within a second.
// Rate limits use shared fixed-window counters there. If Redis is unreachable the guard keeps working on local state,
// logs it (redis_unavailable), reconnects, and pushes its local bans back (redis_restored).
#pragma once
#include "common/cidr.hpp"
#include "common/clock.hpp"
#include "policy/ban_score.hpp"
#include "policy/rate_limiter.hpp"
#include "policy/redis_store.hpp"

#include <memory>

#include <boost/asio/ip/address.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
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
  // Networks exempt from the per-source connection rate and rate limits (relay.trusted_networks when
  // ratelimit.exempt_trusted is on, as Postfix exempts mynetworks from anvil).
  std::vector<std::string> exempt_networks;
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

  // Starts the background thread: SQLite writes, refresh and sweeps run there, never on an event loop.
  void start(std::chrono::milliseconds interval = std::chrono::seconds(1));
  void stop();

  // The source prefix of an address (/32 IPv4, /64 IPv6 by default): bans, scores, rate limits and the
  // per-source connection cap are all keyed on it.
  std::string source_of(const boost::asio::ip::address& a) const;
  // The coarser IPv6 prefix (ban.ipv6_wide_prefix, /48): a second score and rate limit; empty for IPv4.
  std::string wide_source_of(const boost::asio::ip::address& a) const;
  bool exempt(const boost::asio::ip::address& a) const;       // never banned (allowlist + trusted)
  bool rate_exempt(const boost::asio::ip::address& a) const;  // no per-source caps or rate limits

  // Bumped whenever a ban is added (here, by another node, or by the CLI): an open session compares it with
  // the value it saw last and, only when it changed, asks banned() (one atomic load per command).
  std::uint64_t generation() const { return gen_.load(std::memory_order_acquire); }
  bool banned(const boost::asio::ip::address& a);

  // At connect, before TLS: banned? too many connections per minute?
  struct connect_verdict {
    bool allowed = true;
    std::string rule;        // "banned", "connection_rate"
    std::int64_t until = 0;  // ban expiry
  };
  connect_verdict on_connect(const boost::asio::ip::address& a);
  bool is_banned(const std::string& source, std::int64_t* until = nullptr);
  std::size_t active_bans();

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

  // Write pending bans, read the rows changed since the last call, sweep what expired, sync with Redis.
  // The background thread calls it every second; the CLI and tests may call it directly.
  void refresh();

  struct stats {
    std::size_t bans = 0, scores = 0, history = 0, greeted = 0;
  };
  stats sizes();

 private:
  void load_all();
  void write_pending();
  void read_changes();
  void sweep(bool force);
  void sync_redis();
  void redis_down();
  void put_ban_locked(const ban_record& r);
  void erase_ban_locked(const std::string& source);
  std::chrono::seconds duration_for(unsigned count) const;
  // One unit of a rate limit: shared through Redis in cluster mode (fixed windows), else the local bucket;
  // for IPv6 also the /48's bucket, wide_factor times larger.
  bool spend(rate_limiter& local, rate_limiter& wide, const char* name, const boost::asio::ip::address& a,
             double capacity, std::chrono::seconds window);
  bool spend_one(rate_limiter& local, const char* name, const std::string& key, double capacity,
                 std::chrono::seconds window);
  bool score_shared(const std::string& src, offence o, double count, std::optional<ban_record>& out);
  std::optional<ban_record> score_local(const std::string& src, const std::string& wide, offence o, double count);
  void process_offences();
  bool banned_addr_locked(const boost::asio::ip::address& a, std::int64_t* until);
  bool is_banned_locked(const std::string& source, std::int64_t* until);
  void store(const std::vector<ban_record>& rows);  // db_mu_ held
  std::int64_t now_s() const { return common::unix_seconds(clock_.now()); }

  mutable std::mutex mu_;  // in-memory state; never held across SQLite or Redis
  std::mutex db_mu_;       // the SQLite handle and the read watermark
  std::mutex redis_mu_;    // the Redis connection
  sqlite3* db_ = nullptr;
  ban_settings ban_settings_;
  limits_settings limits_;
  std::vector<common::cidr> allow_, rate_exempt_;
  const common::clock& clock_;
  ban_score scores_;
  rate_limiter conn_rate_, msg_ip_, rcpt_ip_, msg_user_, rcpt_user_, auth_ip_;
  rate_limiter conn_rate_w_, msg_ip_w_, rcpt_ip_w_, auth_ip_w_;  // IPv6 /48 buckets
  std::unordered_map<std::string, ban_record> bans_;             // active bans only (swept every minute)
  std::array<unsigned, 33> v4_lengths_{};                        // active bans per prefix length, so a lookup
  std::array<unsigned, 129> v6_lengths_{};                       // tries only the lengths in use
  std::unordered_map<std::string, common::time_point> greeted_;
  std::vector<ban_record> pending_;  // new bans not yet in SQLite (under mu_)
  struct queued_offence {
    std::string source, wide;
    offence what;
    double count;
  };
  std::vector<queued_offence> offences_;  // for the shared score, Redis mode (under mu_)
  bool running_ = false;                  // the background thread runs (under mu_)
  std::atomic<std::uint64_t> gen_{0};
  std::int64_t watermark_ = 0;      // highest bans.seq read (under db_mu_)
  std::int64_t data_version_ = -1;  // PRAGMA data_version at the last read (under db_mu_)
  std::int64_t last_sweep_ = 0;     // unix seconds (under db_mu_)
  std::unique_ptr<redis_store> redis_;
  std::atomic<bool> redis_was_up_{false};
  bool logged_redis_down_ = false;  // under redis_mu_
  std::thread worker_;
  std::condition_variable cv_;  // with mu_: pending_ filled or stopping
  bool stop_ = false;
};

}  // namespace mailfort::policy
