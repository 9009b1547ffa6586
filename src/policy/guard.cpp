// policy/guard.cpp: rate limits, bans and their SQLite persistence (see guard.hpp).
// SPDX-License-Identifier: MIT
#include "policy/guard.hpp"

#include "log/logger.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace mailfort::policy {

namespace asio = boost::asio;
using std::chrono::seconds;

namespace {
bool parse_cidr(const std::string& text, asio::ip::address& net, unsigned& prefix) {
  auto slash = text.find('/');
  boost::system::error_code ec;
  net = asio::ip::make_address(text.substr(0, slash), ec);
  if (ec) return false;
  prefix = net.is_v4() ? 32 : 128;
  if (slash != std::string::npos) {
    try {
      prefix = static_cast<unsigned>(std::stoul(text.substr(slash + 1)));
    } catch (...) {
      return false;
    }
  }
  return prefix <= (net.is_v4() ? 32u : 128u);
}

bool in_net(const asio::ip::address& a0, const asio::ip::address& net, unsigned prefix) {
  asio::ip::address a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4() != net.is_v4()) return false;
  return source_key(a, prefix, prefix) == source_key(net, prefix, prefix);
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown";
    sqlite3_free(err);
    throw std::runtime_error("state database: " + e);
  }
}
}  // namespace

guard::guard(const std::string& db_path, ban_settings bans, limits_settings limits, std::vector<std::string> allow,
             const common::clock& clk, const std::string& redis_url)
    : ban_settings_(bans),
      limits_(limits),
      clock_(clk),
      scores_(bans),
      conn_rate_(limits.connections_per_minute_per_ip, seconds(60)),
      msg_ip_(limits.messages_per_hour_per_ip, seconds(3600)),
      rcpt_ip_(limits.recipients_per_hour_per_ip, seconds(3600)),
      msg_user_(limits.messages_per_hour_per_user, seconds(3600)),
      rcpt_user_(limits.recipients_per_hour_per_user, seconds(3600)),
      auth_ip_(limits.auth_per_minute_per_ip, seconds(60)) {
  for (const auto& a : allow) {
    asio::ip::address net;
    unsigned p = 0;
    if (!parse_cidr(a, net, p)) throw std::invalid_argument("bad network '" + a + "' in ban allowlist");
    allow_.emplace_back(net, p);
  }
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string e = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open state database " + db_path + ": " + e);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec(db_,
       "PRAGMA journal_mode=WAL;"
       "CREATE TABLE IF NOT EXISTS bans(source TEXT PRIMARY KEY, until INTEGER NOT NULL, created INTEGER NOT NULL,"
       " count INTEGER NOT NULL, reason TEXT NOT NULL);");
  std::lock_guard lk(mu_);
  load_locked();
  if (!redis_url.empty()) {
    redis_ = std::make_unique<redis_store>(redis_url);
    sync_redis_locked();
  }
}

std::chrono::seconds guard::duration_for(unsigned count) const {
  auto d = ban_settings_.base_duration;
  for (unsigned i = 1; i < count && d < ban_settings_.max_duration; ++i) d *= 2;
  return std::min(d, ban_settings_.max_duration);
}

void guard::redis_down_locked() {
  if (redis_was_up_ || !redis_->last_error().empty()) {
    if (redis_was_up_)
      log::error("redis_unavailable",
                 {{"error", redis_->last_error()}, {"note", "bans and scores continue on this node's local state"}});
    redis_was_up_ = false;
  }
}

// Pull every shared ban into the local table; after an outage, push local bans back first.
void guard::sync_redis_locked() {
  if (!redis_) return;
  bool was_up = redis_was_up_;
  if (!redis_->ensure()) {
    if (was_up)
      redis_down_locked();
    else if (!logged_redis_down_) {
      log::error("redis_unavailable",
                 {{"error", redis_->last_error()}, {"note", "bans and scores continue on this node's local state"}});
      logged_redis_down_ = true;
    }
    return;
  }
  auto now = now_s();
  if (!was_up) {
    for (const auto& [src, r] : bans_)
      if (r.until > now) redis_->set_ban(src, r.until, r.count, r.reason);
  }
  auto remote = redis_->bans();
  if (!remote) {
    redis_down_locked();
    return;
  }
  if (!was_up) {
    log::info(logged_redis_down_ ? "redis_restored" : "redis_connected", {{"bans", remote->size()}});
    logged_redis_down_ = false;
  }
  redis_was_up_ = true;
  for (const auto& b : *remote) {
    auto& r = bans_[b.source];
    if (r.until < b.until) {
      r.source = b.source;
      r.until = b.until;
      r.count = b.count;
      r.reason = b.reason;
      if (r.created == 0) r.created = now;
      scores_.set_previous_bans(b.source, b.count);
    }
  }
}

guard::~guard() {
  if (db_) sqlite3_close(db_);
}

std::string guard::source_of(const asio::ip::address& a) const {
  return source_key(a, ban_settings_.ipv4_prefix, ban_settings_.ipv6_prefix);
}

bool guard::exempt(const asio::ip::address& a) const {
  for (const auto& [net, p] : allow_)
    if (in_net(a, net, p)) return true;
  return false;
}

void guard::load_locked() {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT source, until, created, count, reason FROM bans", -1, &st, nullptr) != SQLITE_OK)
    return;
  std::unordered_map<std::string, ban_record> fresh;
  while (sqlite3_step(st) == SQLITE_ROW) {
    ban_record r;
    r.source = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    r.until = sqlite3_column_int64(st, 1);
    r.created = sqlite3_column_int64(st, 2);
    r.count = static_cast<unsigned>(sqlite3_column_int64(st, 3));
    auto* reason = sqlite3_column_text(st, 4);
    r.reason = reason ? reinterpret_cast<const char*>(reason) : "";
    scores_.set_previous_bans(r.source, r.count);  // escalation survives restarts
    fresh[r.source] = r;
  }
  sqlite3_finalize(st);
  bans_.swap(fresh);
}

void guard::refresh() {
  std::lock_guard lk(mu_);
  load_locked();
  sync_redis_locked();
}

void guard::store_locked(const ban_record& r) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO bans(source, until, created, count, reason) VALUES(?1, ?2, ?3, ?4, ?5) "
                         "ON CONFLICT(source) DO UPDATE SET until=?2, created=?3, count=?4, reason=?5",
                         -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db_));
  sqlite3_bind_text(st, 1, r.source.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, r.until);
  sqlite3_bind_int64(st, 3, r.created);
  sqlite3_bind_int64(st, 4, r.count);
  sqlite3_bind_text(st, 5, r.reason.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("state database: ") + sqlite3_errmsg(db_));
}

bool guard::is_banned(const std::string& source, std::int64_t* until) {
  auto it = bans_.find(source);
  if (it == bans_.end() || it->second.until <= now_s()) return false;
  if (until) *until = it->second.until;
  return true;
}

// A ban may cover a wider network than the default source prefix (`mailfort ban add 198.51.100.0/24`):
// look the address up under every prefix length, most specific first.
bool guard::banned_addr_locked(const asio::ip::address& a0, std::int64_t* until) {
  if (bans_.empty()) return false;
  asio::ip::address a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  unsigned max = a.is_v4() ? 32 : 128;
  for (unsigned p = max; p >= 8; --p)
    if (is_banned(source_key(a, p, p), until)) return true;
  return false;
}

bool guard::spend_locked(rate_limiter& local, const char* name, const std::string& key, double capacity,
                         std::chrono::seconds window) {
  if (capacity <= 0) return true;
  if (redis_ && redis_was_up_) {
    if (auto n = redis_->count_in_window(std::string(name) + ":" + key, window, now_s()))
      return static_cast<double>(*n) <= capacity;
    redis_down_locked();
  }
  return local.allow(key, clock_.now());
}

guard::connect_verdict guard::on_connect(const asio::ip::address& a) {
  std::lock_guard lk(mu_);
  connect_verdict v;
  if (exempt(a)) return v;
  auto src = source_of(a);
  if (banned_addr_locked(a, &v.until)) {
    v.allowed = false;
    v.rule = "banned";
    return v;
  }
  if (!spend_locked(conn_rate_, "conn", src, limits_.connections_per_minute_per_ip, seconds(60))) {
    v.allowed = false;
    v.rule = "connection_rate";
  }
  return v;
}

bool guard::allow_message(const asio::ip::address& a, const std::string& user, std::string& rule) {
  std::lock_guard lk(mu_);
  if (!user.empty()) {
    if (!spend_locked(msg_user_, "msg_user", user, limits_.messages_per_hour_per_user, seconds(3600))) {
      rule = "messages_per_hour_per_user";
      return false;
    }
    return true;  // authenticated mail is limited per user, not per shared office IP
  }
  if (!spend_locked(msg_ip_, "msg_ip", source_of(a), limits_.messages_per_hour_per_ip, seconds(3600))) {
    rule = "messages_per_hour_per_ip";
    return false;
  }
  return true;
}

bool guard::allow_recipient(const asio::ip::address& a, const std::string& user, std::string& rule) {
  std::lock_guard lk(mu_);
  if (!user.empty()) {
    if (!spend_locked(rcpt_user_, "rcpt_user", user, limits_.recipients_per_hour_per_user, seconds(3600))) {
      rule = "recipients_per_hour_per_user";
      return false;
    }
    return true;
  }
  if (!spend_locked(rcpt_ip_, "rcpt_ip", source_of(a), limits_.recipients_per_hour_per_ip, seconds(3600))) {
    rule = "recipients_per_hour_per_ip";
    return false;
  }
  return true;
}

bool guard::allow_auth(const asio::ip::address& a) {
  std::lock_guard lk(mu_);
  return spend_locked(auth_ip_, "auth_ip", source_of(a), limits_.auth_per_minute_per_ip, seconds(60));
}

bool guard::greeting_passed(const asio::ip::address& a) {
  std::lock_guard lk(mu_);
  auto it = greeted_.find(source_of(a));
  if (it == greeted_.end()) return false;
  if (clock_.now() - it->second > limits_.greeting_memory) {
    greeted_.erase(it);
    return false;
  }
  return true;
}

void guard::mark_greeting_passed(const asio::ip::address& a) {
  std::lock_guard lk(mu_);
  if (greeted_.size() > 200000) greeted_.clear();  // bounded; forgetting only costs one more delay
  greeted_[source_of(a)] = clock_.now();
}

std::optional<ban_record> guard::record(const asio::ip::address& a, offence o, double count) {
  std::lock_guard lk(mu_);
  if (exempt(a)) return std::nullopt;
  auto src = source_of(a);
  if (banned_addr_locked(a, nullptr)) return std::nullopt;
  ban_record r;
  r.source = src;
  r.created = now_s();
  r.reason = offence_name(o);
  if (redis_ && redis_was_up_) {
    // Shared score: the threshold counts offences seen by every node.
    double pts = ban_settings_.weight[static_cast<int>(o)] * count;
    auto total = redis_->add_score(src, pts, ban_settings_.window);
    if (total) {
      if (*total + 1e-9 < ban_settings_.threshold) return std::nullopt;
      auto n = redis_->next_ban_count(src);
      r.count = n ? *n : scores_.previous_bans(src) + 1;
      r.until = r.created + duration_for(r.count).count();
      redis_->set_ban(src, r.until, r.count, r.reason);
      scores_.set_previous_bans(src, r.count);
      store_locked(r);
      bans_[src] = r;
      return r;
    }
    redis_down_locked();
  }
  auto v = scores_.add(src, o, clock_.now(), count);
  if (!v.ban) return std::nullopt;
  r.until = r.created + v.duration.count();
  r.count = v.previous_bans + 1;
  store_locked(r);
  bans_[src] = r;
  return r;
}

ban_record guard::ban(const std::string& source, std::chrono::seconds duration, const std::string& reason) {
  std::lock_guard lk(mu_);
  ban_record r;
  r.source = source;
  r.created = now_s();
  r.until = r.created + duration.count();
  r.count = scores_.previous_bans(source) + 1;
  r.reason = reason;
  store_locked(r);
  scores_.set_previous_bans(source, r.count);
  bans_[source] = r;
  if (redis_ && redis_->ensure()) redis_->set_ban(source, r.until, r.count, r.reason);
  return r;
}

bool guard::unban(const std::string& source) {
  std::lock_guard lk(mu_);
  sqlite3_stmt* st = nullptr;
  // The row is kept with until = 0, so the escalation history survives an unban.
  if (sqlite3_prepare_v2(db_, "UPDATE bans SET until = 0 WHERE source = ?1 AND until > ?2", -1, &st, nullptr) !=
      SQLITE_OK)
    return false;
  sqlite3_bind_text(st, 1, source.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, now_s());
  sqlite3_step(st);
  sqlite3_finalize(st);
  bool changed = sqlite3_changes(db_) > 0;
  scores_.forget(source);
  if (redis_ && redis_->ensure()) changed = redis_->unban(source) || changed;
  load_locked();
  bans_.erase(source);
  return changed;
}

std::vector<ban_record> guard::list() {
  std::lock_guard lk(mu_);
  load_locked();
  std::vector<ban_record> out;
  auto now = now_s();
  for (const auto& [k, r] : bans_)
    if (r.until > now) out.push_back(r);
  return out;
}

}  // namespace mailfort::policy
