// policy/guard.cpp: rate limits, bans and their SQLite persistence (see guard.hpp).
// SPDX-License-Identifier: MIT
#include "policy/guard.hpp"

#include "common/sqlite.hpp"
#include "log/logger.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>

namespace mailfort::policy {

namespace asio = boost::asio;
using std::chrono::seconds;

namespace {
using common::sql_stmt;

// The rows of a SELECT source, until, created, count, reason, seq FROM bans; mark: the highest seq seen.
std::vector<ban_record> read_ban_rows(sql_stmt& st, std::int64_t& mark) {
  std::vector<ban_record> rows;
  while (st.row()) {
    ban_record r;
    r.source = st.col(0);
    r.until = st.int64(1);
    r.created = st.int64(2);
    r.count = static_cast<unsigned>(st.int64(3));
    r.reason = st.col(4);
    mark = std::max<std::int64_t>(mark, st.int64(5));
    rows.push_back(std::move(r));
  }
  return rows;
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
      auth_ip_(limits.auth_per_minute_per_ip, seconds(60)),
      conn_rate_w_(limits.connections_per_minute_per_ip * bans.wide_factor, seconds(60)),
      msg_ip_w_(limits.messages_per_hour_per_ip * bans.wide_factor, seconds(3600)),
      rcpt_ip_w_(limits.recipients_per_hour_per_ip * bans.wide_factor, seconds(3600)),
      auth_ip_w_(limits.auth_per_minute_per_ip * bans.wide_factor, seconds(60)) {
  auto parse_all = [](const std::vector<std::string>& in, auto& out, const char* what) {
    for (const auto& a : in) {
      auto net = common::cidr::parse(a);
      if (!net) throw std::invalid_argument("bad network '" + a + "' in " + what);
      out.push_back(*net);
    }
  };
  parse_all(allow, allow_, "ban allowlist");
  parse_all(limits.exempt_networks, rate_exempt_, "rate limit exemptions");
  // synchronous=NORMAL: in WAL mode a commit is not fsynced (a crash may lose the last bans, never corrupt the
  // file); bans are re-earned, and the writes leave the event loops anyway.
  db_ = common::open_state_db(
      db_path,
      "PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS bans(source TEXT PRIMARY KEY, until INTEGER NOT NULL, created INTEGER NOT NULL,"
      " count INTEGER NOT NULL, reason TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0);",
      "bans");
  // Databases from before the change counter: add it (every old row has seq 0 and is read by load_all()).
  {
    sql_stmt st(db_, "PRAGMA table_info(bans)", std::nothrow);
    bool has_seq = false;
    while (st.ok() && st.row())
      if (st.col(1) == "seq") has_seq = true;
    if (!has_seq) exec(db_, "ALTER TABLE bans ADD COLUMN seq INTEGER NOT NULL DEFAULT 0");
  }
  exec(db_,
       "CREATE INDEX IF NOT EXISTS bans_seq ON bans(seq);"
       "CREATE INDEX IF NOT EXISTS bans_until ON bans(until);");
  {
    std::lock_guard dl(db_mu_);
    sweep(true);
    load_all();
  }
  if (!redis_url.empty()) {
    redis_ = std::make_unique<redis_store>(redis_url);
    sync_redis();
  }
}

guard::~guard() {
  stop();
  try {
    std::lock_guard dl(db_mu_);
    write_pending();
  } catch (const std::exception& e) {
    log::error("state_error", {{"error", e.what()}});
  }
  if (db_) sqlite3_close(db_);
}

void guard::start(std::chrono::milliseconds interval) {
  if (worker_.joinable()) return;
  {
    std::lock_guard lk(mu_);
    running_ = true;
  }
  worker_ = std::thread([this, interval] {
    std::unique_lock lk(mu_);
    auto next = std::chrono::steady_clock::now() + interval;
    bool failed = false;  // after an error, wait for the next round instead of retrying at once
    while (!stop_) {
      cv_.wait_until(lk, next,
                     [this, failed] { return stop_ || !offences_.empty() || (!failed && !pending_.empty()); });
      if (stop_) break;
      bool due = std::chrono::steady_clock::now() >= next;
      lk.unlock();
      failed = false;
      try {
        process_offences();
        if (due) {
          refresh();
        } else {
          std::lock_guard dl(db_mu_);
          write_pending();
        }
      } catch (const std::exception& e) {
        failed = true;
        log::error("state_error", {{"error", e.what()}});
      }
      lk.lock();
      if (due) next = std::chrono::steady_clock::now() + interval;
    }
  });
}

void guard::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  {
    std::lock_guard lk(mu_);
    running_ = false;
  }
  process_offences();  // none is lost
}

std::chrono::seconds guard::duration_for(unsigned count) const {
  auto d = ban_settings_.base_duration;
  for (unsigned i = 1; i < count && d < ban_settings_.max_duration; ++i) d *= 2;
  return std::min(d, ban_settings_.max_duration);
}

namespace {
bool is_v6_key(const std::string& source) { return source.find(':') != std::string::npos; }
unsigned prefix_of(const std::string& source) {
  auto slash = source.rfind('/');
  if (slash == std::string::npos) return is_v6_key(source) ? 128 : 32;
  unsigned p = 0;
  for (char c : source.substr(slash + 1)) {
    if (c < '0' || c > '9') return 0;
    p = p * 10 + static_cast<unsigned>(c - '0');
  }
  return std::min(p, is_v6_key(source) ? 128u : 32u);
}
}  // namespace

void guard::put_ban_locked(const ban_record& r) {
  auto [it, inserted] = bans_.try_emplace(r.source, r);
  if (inserted) {
    if (is_v6_key(r.source))
      ++v6_lengths_[prefix_of(r.source)];
    else
      ++v4_lengths_[prefix_of(r.source)];
  } else {
    if (it->second.until >= r.until && it->second.count >= r.count) return;  // nothing new
    it->second = r;
  }
  gen_.fetch_add(1, std::memory_order_acq_rel);
}

void guard::erase_ban_locked(const std::string& source) {
  auto it = bans_.find(source);
  if (it == bans_.end()) return;
  auto& n = is_v6_key(source) ? v6_lengths_[prefix_of(source)] : v4_lengths_[prefix_of(source)];
  if (n > 0) --n;
  bans_.erase(it);
}

void guard::redis_down() {
  if (redis_was_up_ || !redis_->last_error().empty()) {
    if (redis_was_up_)
      log::error("redis_unavailable",
                 {{"error", redis_->last_error()}, {"note", "bans and scores continue on this node's local state"}});
    redis_was_up_ = false;
  }
}

// Pull every shared ban into the local table; after an outage, push local bans back first. Redis is called
// with redis_mu_ held, never the guard lock.
void guard::sync_redis() {
  if (!redis_) return;
  std::lock_guard rl(redis_mu_);
  bool was_up = redis_was_up_;
  if (!redis_->ensure()) {
    if (was_up)
      redis_down();
    else if (!logged_redis_down_) {
      log::error("redis_unavailable",
                 {{"error", redis_->last_error()}, {"note", "bans and scores continue on this node's local state"}});
      logged_redis_down_ = true;
    }
    return;
  }
  auto now = now_s();
  if (!was_up) {
    std::vector<ban_record> local;
    {
      std::lock_guard lk(mu_);
      for (const auto& [src, r] : bans_)
        if (r.until > now) local.push_back(r);
    }
    for (const auto& r : local) redis_->set_ban(r.source, r.until, r.count, r.reason);
  }
  auto remote = redis_->bans();
  if (!remote) {
    redis_down();
    return;
  }
  if (!was_up) {
    log::info(logged_redis_down_ ? "redis_restored" : "redis_connected", {{"bans", remote->size()}});
    logged_redis_down_ = false;
  }
  redis_was_up_ = true;
  std::lock_guard lk(mu_);
  for (const auto& b : *remote) {
    auto it = bans_.find(b.source);
    if (it != bans_.end() && it->second.until >= b.until) continue;
    ban_record r;
    r.source = b.source;
    r.until = b.until;
    r.count = b.count;
    r.reason = b.reason;
    r.created = it != bans_.end() && it->second.created ? it->second.created : now;
    put_ban_locked(r);
    scores_.set_previous_bans(b.source, b.count, common::time_point{seconds(b.until)});
  }
}

std::string guard::source_of(const asio::ip::address& a) const {
  return source_key(a, ban_settings_.ipv4_prefix, ban_settings_.ipv6_prefix);
}

std::string guard::wide_source_of(const asio::ip::address& a0) const {
  asio::ip::address a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return {};
  if (!a.is_v6() || ban_settings_.ipv6_wide_prefix == 0 || ban_settings_.ipv6_wide_prefix >= ban_settings_.ipv6_prefix)
    return {};
  return source_key(a, 32, ban_settings_.ipv6_wide_prefix);
}

bool guard::exempt(const asio::ip::address& a) const {
  for (const auto& net : allow_)
    if (net.contains(a)) return true;
  return false;
}

bool guard::rate_exempt(const asio::ip::address& a) const {
  for (const auto& net : rate_exempt_)
    if (net.contains(a)) return true;
  return false;
}

// Every row still relevant: active bans into memory, and the escalation history of the rest.
void guard::load_all() {
  sql_stmt st(db_, "SELECT source, until, created, count, reason, seq FROM bans");
  std::int64_t mark = 0;
  const auto rows = read_ban_rows(st, mark);
  data_version_ = -1;
  watermark_ = mark;
  auto now = now_s();
  std::lock_guard lk(mu_);
  for (const auto& r : rows) {
    scores_.set_previous_bans(r.source, r.count, common::time_point{seconds(r.until)});  // escalation
    if (r.until > now) put_ban_locked(r);
  }
}

// Only what changed since the last read: nothing at all when no other connection committed (data_version),
// else the rows whose change counter is above the watermark (an index range).
void guard::read_changes() {
  std::int64_t version = -1;
  {
    sql_stmt v(db_, "PRAGMA data_version", std::nothrow);
    if (v.ok() && v.row()) version = v.int64(0);
  }
  if (version != -1 && version == data_version_) return;
  sql_stmt st(db_, "SELECT source, until, created, count, reason, seq FROM bans WHERE seq > ?1 ORDER BY seq");
  st.bind(1, watermark_);
  std::int64_t mark = watermark_;
  const auto rows = read_ban_rows(st, mark);
  data_version_ = version;
  watermark_ = mark;
  if (rows.empty()) return;
  auto now = now_s();
  std::lock_guard lk(mu_);
  for (const auto& r : rows) {
    scores_.set_previous_bans(r.source, r.count, common::time_point{seconds(r.until)});
    if (r.until > now) {
      put_ban_locked(r);
    } else {
      erase_ban_locked(r.source);  // unbanned by `mailfort ban del`
    }
  }
}

void guard::store(const std::vector<ban_record>& rows) {
  if (rows.empty()) return;
  exec(db_, "BEGIN IMMEDIATE");
  try {
    sql_stmt st(db_,
                "INSERT INTO bans(source, until, created, count, reason, seq) VALUES(?1, ?2, ?3, ?4, ?5, "
                "(SELECT coalesce(max(seq), 0) + 1 FROM bans)) "
                "ON CONFLICT(source) DO UPDATE SET until=?2, created=?3, count=?4, reason=?5, "
                "seq=(SELECT coalesce(max(seq), 0) + 1 FROM bans)");
    for (const auto& r : rows) {
      st.reset();
      st.bind(1, r.source);
      st.bind(2, r.until);
      st.bind(3, r.created);
      st.bind(4, static_cast<std::int64_t>(r.count));
      st.bind(5, r.reason);
      st.done();
    }
    exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void guard::write_pending() {
  std::vector<ban_record> batch;
  {
    std::lock_guard lk(mu_);
    batch.swap(pending_);
  }
  try {
    store(batch);
  } catch (...) {
    std::lock_guard lk(mu_);  // keep them for the next attempt
    pending_.insert(pending_.begin(), batch.begin(), batch.end());
    throw;
  }
}

// Every minute: delete rows whose ban ended more than ban.history_s ago, and drop expired bans, scores and
// greeting memory from the maps.
void guard::sweep(bool force) {
  auto now = now_s();
  if (!force && now - last_sweep_ < 60 && now >= last_sweep_) return;
  last_sweep_ = now;
  if (sql_stmt st(db_, "DELETE FROM bans WHERE until < ?1", std::nothrow); st.ok()) {
    st.bind(1, now - static_cast<std::int64_t>(ban_settings_.history.count()));
    st.done();
  }
  auto tp = clock_.now();
  std::lock_guard lk(mu_);
  std::vector<std::string> ended;
  for (const auto& [src, r] : bans_)
    if (r.until <= now) ended.push_back(src);
  for (const auto& src : ended) erase_ban_locked(src);
  scores_.sweep(tp);
  for (auto it = greeted_.begin(); it != greeted_.end();) {
    if (tp - it->second > limits_.greeting_memory)
      it = greeted_.erase(it);
    else
      ++it;
  }
}

void guard::refresh() {
  {
    std::lock_guard dl(db_mu_);
    write_pending();
    read_changes();
    sweep(false);
  }
  sync_redis();
}

guard::stats guard::sizes() {
  std::lock_guard lk(mu_);
  return {bans_.size(), scores_.tracked_sources(), scores_.history_size(), greeted_.size()};
}

bool guard::is_banned_locked(const std::string& source, std::int64_t* until) {
  auto it = bans_.find(source);
  if (it == bans_.end() || it->second.until <= now_s()) return false;
  if (until) *until = it->second.until;
  return true;
}

bool guard::is_banned(const std::string& source, std::int64_t* until) {
  std::lock_guard lk(mu_);
  return is_banned_locked(source, until);
}

std::size_t guard::active_bans() {
  std::lock_guard lk(mu_);
  auto now = now_s();
  std::size_t n = 0;
  for (const auto& [k, r] : bans_)
    if (r.until > now) ++n;
  return n;
}

// A ban may cover a wider network than the default source prefix (`mailfort ban add 198.51.100.0/24`, the
// IPv6 /48 score): look the address up under every prefix length in use, most specific first.
bool guard::banned_addr_locked(const asio::ip::address& a0, std::int64_t* until) {
  if (bans_.empty()) return false;
  asio::ip::address a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    for (int p = 32; p >= 0; --p)
      if (v4_lengths_[static_cast<unsigned>(p)] &&
          is_banned_locked(source_key(a, static_cast<unsigned>(p), 128), until))
        return true;
    return false;
  }
  for (int p = 128; p >= 0; --p)
    if (v6_lengths_[static_cast<unsigned>(p)] && is_banned_locked(source_key(a, 32, static_cast<unsigned>(p)), until))
      return true;
  return false;
}

bool guard::banned(const asio::ip::address& a) {
  if (exempt(a)) return false;
  std::lock_guard lk(mu_);
  return banned_addr_locked(a, nullptr);
}

bool guard::spend_one(rate_limiter& local, const char* name, const std::string& key, double capacity,
                      std::chrono::seconds window) {
  if (capacity <= 0) return true;
  if (redis_ && redis_was_up_) {
    std::lock_guard rl(redis_mu_);
    if (auto n = redis_->count_in_window(std::string(name) + ":" + key, window, now_s()))
      return static_cast<double>(*n) <= capacity;
    redis_down();
  }
  std::lock_guard lk(mu_);
  return local.allow(key, clock_.now());
}

bool guard::spend(rate_limiter& local, rate_limiter& wide, const char* name, const asio::ip::address& a,
                  double capacity, std::chrono::seconds window) {
  if (!spend_one(local, name, source_of(a), capacity, window)) return false;
  auto w = wide_source_of(a);
  if (w.empty()) return true;
  return spend_one(wide, name, w, capacity * ban_settings_.wide_factor, window);
}

guard::connect_verdict guard::on_connect(const asio::ip::address& a) {
  connect_verdict v;
  if (!exempt(a)) {
    std::lock_guard lk(mu_);
    if (banned_addr_locked(a, &v.until)) {
      v.allowed = false;
      v.rule = "banned";
      return v;
    }
  }
  if (rate_exempt(a)) return v;
  if (!spend(conn_rate_, conn_rate_w_, "conn", a, limits_.connections_per_minute_per_ip, seconds(60))) {
    v.allowed = false;
    v.rule = "connection_rate";
  }
  return v;
}

bool guard::allow_message(const asio::ip::address& a, const std::string& user, std::string& rule) {
  if (!user.empty()) {
    if (!spend_one(msg_user_, "msg_user", user, limits_.messages_per_hour_per_user, seconds(3600))) {
      rule = "messages_per_hour_per_user";
      return false;
    }
    return true;  // authenticated mail is limited per user, not per shared office IP
  }
  if (rate_exempt(a)) return true;
  if (!spend(msg_ip_, msg_ip_w_, "msg_ip", a, limits_.messages_per_hour_per_ip, seconds(3600))) {
    rule = "messages_per_hour_per_ip";
    return false;
  }
  return true;
}

bool guard::allow_recipient(const asio::ip::address& a, const std::string& user, std::string& rule) {
  if (!user.empty()) {
    if (!spend_one(rcpt_user_, "rcpt_user", user, limits_.recipients_per_hour_per_user, seconds(3600))) {
      rule = "recipients_per_hour_per_user";
      return false;
    }
    return true;
  }
  if (rate_exempt(a)) return true;
  if (!spend(rcpt_ip_, rcpt_ip_w_, "rcpt_ip", a, limits_.recipients_per_hour_per_ip, seconds(3600))) {
    rule = "recipients_per_hour_per_ip";
    return false;
  }
  return true;
}

bool guard::allow_auth(const asio::ip::address& a) {
  if (rate_exempt(a)) return true;
  return spend(auth_ip_, auth_ip_w_, "auth_ip", a, limits_.auth_per_minute_per_ip, seconds(60));
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

// The shared (Redis) score; false when Redis failed (the caller falls back to the local score).
bool guard::score_shared(const std::string& src, offence o, double count, std::optional<ban_record>& out) {
  std::unique_lock rl(redis_mu_);
  if (!redis_was_up_) return false;
  double pts = ban_settings_.weight[static_cast<int>(o)] * count;
  auto total = redis_->add_score(src, pts, ban_settings_.window);
  if (!total) {
    redis_down();
    return false;
  }
  if (*total + 1e-9 < ban_settings_.threshold) return true;
  ban_record r;
  r.source = src;
  r.created = now_s();
  r.reason = offence_name(o);
  auto n = redis_->next_ban_count(src);
  unsigned prev = 0;
  {
    std::lock_guard lk(mu_);
    prev = scores_.previous_bans(src);
  }
  r.count = n ? *n : prev + 1;
  r.until = r.created + duration_for(r.count).count();
  redis_->set_ban(src, r.until, r.count, r.reason);
  rl.unlock();
  {
    std::lock_guard lk(mu_);
    scores_.set_previous_bans(src, r.count, common::time_point{seconds(r.until)});
    put_ban_locked(r);
    pending_.push_back(r);
  }
  cv_.notify_all();
  out = r;
  return true;
}

std::optional<ban_record> guard::score_local(const std::string& src, const std::string& wide, offence o, double count) {
  ban_record r;
  r.source = src;
  r.created = now_s();
  r.reason = offence_name(o);
  {
    std::lock_guard lk(mu_);
    auto v = scores_.add(src, o, clock_.now(), count);
    if (!v.ban && !wide.empty()) {
      // The /48 score: one holder of a /48 cannot start afresh in each of its 65,536 /64s.
      auto w = scores_.add(wide, o, clock_.now(), count, ban_settings_.threshold * ban_settings_.wide_factor);
      if (w.ban) {
        v = w;
        r.source = wide;
      }
    }
    if (!v.ban) return std::nullopt;
    r.until = r.created + v.duration.count();
    r.count = v.previous_bans + 1;
    put_ban_locked(r);
    pending_.push_back(r);
  }
  cv_.notify_all();
  return r;
}

// Offences queued for the shared score while the background thread runs (Redis off the event loops).
void guard::process_offences() {
  std::vector<queued_offence> batch;
  {
    std::lock_guard lk(mu_);
    batch.swap(offences_);
  }
  for (const auto& x : batch) {
    std::optional<ban_record> out;
    if (!score_shared(x.source, x.what, x.count, out)) out = score_local(x.source, x.wide, x.what, x.count);
    if (out)
      log::warning("ban", {{"source", out->source},
                           {"reason", out->reason},
                           {"until", out->until},
                           {"duration_s", out->until - out->created},
                           {"count", out->count}});
  }
}

std::optional<ban_record> guard::record(const asio::ip::address& a, offence o, double count) {
  if (exempt(a)) return std::nullopt;
  auto src = source_of(a);
  auto wide = wide_source_of(a);
  {
    std::lock_guard lk(mu_);
    if (banned_addr_locked(a, nullptr)) return std::nullopt;
    if (redis_ && redis_was_up_ && running_) {
      // Cluster mode: the shared score is Redis work, done by the background thread; a ban it makes reaches
      // this session (and every other from the source) through generation() at its next command.
      offences_.push_back({src, wide, o, count});
      cv_.notify_all();
      return std::nullopt;
    }
  }
  if (redis_ && redis_was_up_) {
    std::optional<ban_record> out;
    if (score_shared(src, o, count, out)) return out;
  }
  return score_local(src, wide, o, count);
}

ban_record guard::ban(const std::string& source, std::chrono::seconds duration, const std::string& reason) {
  ban_record r;
  {
    std::lock_guard lk(mu_);
    r.source = source;
    r.created = now_s();
    r.until = r.created + duration.count();
    r.count = scores_.previous_bans(source) + 1;
    r.reason = reason;
    scores_.set_previous_bans(source, r.count, common::time_point{seconds(r.until)});
    put_ban_locked(r);
  }
  {
    std::lock_guard dl(db_mu_);
    store({r});
  }
  if (redis_) {
    std::lock_guard rl(redis_mu_);
    if (redis_->ensure()) redis_->set_ban(source, r.until, r.count, r.reason);
  }
  return r;
}

bool guard::unban(const std::string& source) {
  bool changed = false;
  {
    std::lock_guard dl(db_mu_);
    write_pending();
    // The row is kept, ending now, so the escalation history survives an unban (for ban.history_s).
    sql_stmt st(db_,
                "UPDATE bans SET until = ?2, seq = (SELECT coalesce(max(seq), 0) + 1 FROM bans) "
                "WHERE source = ?1 AND until > ?2",
                std::nothrow);
    if (!st.ok()) return false;
    st.bind(1, source);
    st.bind(2, now_s());
    st.step();
    changed = sqlite3_changes(db_) > 0;
  }
  if (redis_) {
    std::lock_guard rl(redis_mu_);
    if (redis_->ensure()) changed = redis_->unban(source) || changed;
  }
  std::lock_guard lk(mu_);
  scores_.forget(source);
  erase_ban_locked(source);
  return changed;
}

std::vector<ban_record> guard::list() {
  std::lock_guard lk(mu_);
  std::vector<ban_record> out;
  auto now = now_s();
  for (const auto& [k, r] : bans_)
    if (r.until > now) out.push_back(r);
  return out;
}

}  // namespace mailfort::policy
