// monitor/alerts.cpp: alert_manager and the condition helpers.
// SPDX-License-Identifier: MIT
#include "monitor/alerts.hpp"

#include <algorithm>
#include <cmath>

namespace mailfort::monitor {

namespace {

constexpr std::size_t max_subject_bytes = 256;

std::string bounded(std::string_view s) { return std::string(s.substr(0, max_subject_bytes)); }

std::string num(double v) {
  // Integral values print without a fraction ("12", not "12.000000").
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return std::to_string(v);
}

std::int64_t hour_of(common::time_point t) {
  auto s = common::unix_seconds(t);
  // Floor division, so times before the epoch (only in tests) land in the right hour.
  return s >= 0 ? s / 3600 : -((-s + 3599) / 3600);
}

}  // namespace

const char* to_string(severity s) {
  switch (s) {
    case severity::info:
      return "info";
    case severity::warning:
      return "warning";
    case severity::critical:
      return "critical";
  }
  return "warning";
}

nlohmann::json to_json(const std::vector<alert>& alerts) {
  auto out = nlohmann::json::array();
  for (const auto& a : alerts)
    out.push_back({{"name", a.name},
                   {"severity", to_string(a.sev)},
                   {"subject", a.subject},
                   {"message", a.message},
                   {"since", common::unix_seconds(a.since)}});
  return out;
}

// ---- alert_manager ------------------------------------------------------------------------------

transition alert_manager::update(std::string_view name, std::string_view subject, bool is_on, severity sev,
                                 std::string message, common::time_point now) {
  alert changed;
  transition t = transition::none;
  std::function<void(const alert&, transition)> cb;
  {
    std::lock_guard lk(mu_);
    auto key = std::make_pair(std::string(name), bounded(subject));
    auto it = active_.find(key);
    if (is_on && it == active_.end()) {
      if (active_.size() >= max_active_) {
        ++dropped_;
        return transition::none;
      }
      alert a{key.first, sev, key.second, std::move(message), now};
      changed = a;
      active_.emplace(std::move(key), std::move(a));
      ++raised_;
      t = transition::raised;
    } else if (is_on) {
      it->second.sev = sev;
      it->second.message = std::move(message);
      return transition::none;
    } else if (it != active_.end()) {
      changed = std::move(it->second);
      active_.erase(it);
      t = transition::cleared;
    } else {
      return transition::none;
    }
    cb = on_change_;
  }
  if (cb) cb(changed, t);
  return t;
}

bool alert_manager::is_active(std::string_view name, std::string_view subject) const {
  std::lock_guard lk(mu_);
  return active_.count(std::make_pair(std::string(name), bounded(subject))) > 0;
}

std::vector<alert> alert_manager::active() const {
  std::vector<alert> out;
  {
    std::lock_guard lk(mu_);
    out.reserve(active_.size());
    for (const auto& [k, a] : active_) out.push_back(a);
  }
  // active_ is ordered by (name, subject); a stable sort by time keeps that as the tie-break.
  std::stable_sort(out.begin(), out.end(), [](const alert& a, const alert& b) { return a.since < b.since; });
  return out;
}

std::uint64_t alert_manager::raised_total() const {
  std::lock_guard lk(mu_);
  return raised_;
}

std::uint64_t alert_manager::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

void alert_manager::on_change(std::function<void(const alert&, transition)> fn) {
  std::lock_guard lk(mu_);
  on_change_ = std::move(fn);
}

// ---- rate_alert ---------------------------------------------------------------------------------

rate_alert::rate_alert(alert_manager& mgr, rate_settings s) : mgr_(mgr), s_(std::move(s)) {
  subject_clear_ = s_.per_subject_clear ? s_.per_subject_clear : std::max<std::size_t>(s_.per_subject / 2, 1);
  total_clear_ = s_.total_clear ? s_.total_clear : std::max<std::size_t>(s_.total / 2, 1);
  // Clearing below the raise threshold is the point of hysteresis; a larger value would make a raise impossible
  // to keep.
  subject_clear_ = std::min(subject_clear_, std::max<std::size_t>(s_.per_subject, 1));
  total_clear_ = std::min(total_clear_, std::max<std::size_t>(s_.total, 1));
}

void rate_alert::prune(window& w, common::time_point now) const {
  while (!w.events.empty() && w.events.front() <= now - s_.window) w.events.pop_front();
}

void rate_alert::evaluate(const std::string& subject, window& w, std::size_t raise_at, std::size_t clear_below,
                          common::time_point now) {
  if (raise_at == 0) return;
  std::size_t n = w.events.size();
  bool want = w.active ? n >= clear_below : n >= raise_at;
  if (want == w.active) {
    return;
  }
  w.active = want;
  std::string msg = std::to_string(n) + (n >= raise_at ? "+ " : " ") + s_.what +
                    (subject == "*" ? std::string(" in total") : " from " + subject) + " within " +
                    std::to_string(s_.window.count()) + " s (threshold " + std::to_string(raise_at) + ")";
  mgr_.update(s_.name, subject, want, s_.sev, std::move(msg), now);
}

void rate_alert::record(std::string_view subject, common::time_point now) {
  std::lock_guard lk(mu_);
  // Only the newest `threshold` events are kept: that is all "at least threshold in the window" needs, and it
  // bounds memory per subject whatever the attack rate.
  auto push = [&](window& w, std::size_t cap) {
    w.events.push_back(now);
    while (w.events.size() > std::max<std::size_t>(cap, 1)) w.events.pop_front();
    prune(w, now);
  };
  if (s_.total) {
    push(total_, s_.total);
    evaluate("*", total_, s_.total, total_clear_, now);
  }
  if (!s_.per_subject) return;
  std::string key = bounded(subject);
  auto it = subjects_.find(key);
  if (it == subjects_.end()) {
    if (subjects_.size() >= s_.max_subjects) {
      // Make room from subjects with nothing left in their window; if every one is live, count this event
      // only in the total rather than evict state that may be about to raise.
      for (auto j = subjects_.begin(); j != subjects_.end();) {
        prune(j->second, now);
        if (j->second.events.empty() && !j->second.active)
          j = subjects_.erase(j);
        else
          ++j;
      }
      if (subjects_.size() >= s_.max_subjects) return;
    }
    it = subjects_.emplace(key, window{}).first;
  }
  push(it->second, s_.per_subject);
  evaluate(key, it->second, s_.per_subject, subject_clear_, now);
}

void rate_alert::tick(common::time_point now) {
  std::lock_guard lk(mu_);
  prune(total_, now);
  evaluate("*", total_, s_.total, total_clear_, now);
  for (auto it = subjects_.begin(); it != subjects_.end();) {
    prune(it->second, now);
    evaluate(it->first, it->second, s_.per_subject, subject_clear_, now);
    if (it->second.events.empty() && !it->second.active)
      it = subjects_.erase(it);
    else
      ++it;
  }
}

std::size_t rate_alert::count(std::string_view subject, common::time_point now) {
  std::lock_guard lk(mu_);
  window* w = nullptr;
  if (subject == "*") {
    w = &total_;
  } else {
    auto it = subjects_.find(bounded(subject));
    if (it == subjects_.end()) return 0;
    w = &it->second;
  }
  prune(*w, now);
  return w->events.size();
}

std::size_t rate_alert::tracked_subjects() const {
  std::lock_guard lk(mu_);
  return subjects_.size();
}

// ---- threshold_alert / growth_alert -------------------------------------------------------------

transition threshold_alert::sample(double value, common::time_point now) {
  std::lock_guard lk(mu_);
  bool was = mgr_.is_active(s_.name, s_.subject);
  double clear_below = s_.clear_below.value_or(s_.raise_at);
  bool want = was ? value >= clear_below : value >= s_.raise_at;
  std::string msg = num(value) + " " + s_.what + " (threshold " + num(s_.raise_at) + ")";
  return mgr_.update(s_.name, s_.subject, want, s_.sev, std::move(msg), now);
}

transition growth_alert::sample(double value, common::time_point now) {
  std::lock_guard lk(mu_);
  samples_.emplace_back(now, value);
  // Keep exactly one sample at least `window` old (the baseline) and everything newer.
  auto horizon = now - s_.window;
  while (samples_.size() >= 2 && samples_[1].first <= horizon) samples_.pop_front();
  while (samples_.size() > std::max<std::size_t>(s_.max_samples, 2)) samples_.pop_front();
  if (samples_.front().first > horizon) {
    return transition::none;  // not a full window of history yet
  }
  double growth = value - samples_.front().second;
  bool was = mgr_.is_active(s_.name, s_.subject);
  bool want = was ? growth >= s_.raise_growth / 2 : growth >= s_.raise_growth;
  std::string msg = s_.what + " grew by " + num(growth) + " to " + num(value) + " within " +
                    std::to_string(s_.window.count()) + " s (threshold " + num(s_.raise_growth) + ")";
  return mgr_.update(s_.name, s_.subject, want, s_.sev, std::move(msg), now);
}

// ---- outbound_alert -----------------------------------------------------------------------------

outbound_alert::outbound_alert(alert_manager& mgr, outbound_settings s) : mgr_(mgr), s_(std::move(s)) {
  s_.history_hours = std::max<std::size_t>(s_.history_hours, 1);
}

void outbound_alert::advance(history& h, std::int64_t hour) const {
  if (hour <= h.last_hour) return;  // the clock went backwards: keep counting into the newest bucket
  auto size = static_cast<std::int64_t>(h.counts.size());
  std::int64_t from = std::max(h.last_hour + 1, hour - size + 1);
  for (std::int64_t x = from; x <= hour; ++x) h.counts[static_cast<std::size_t>(((x % size) + size) % size)] = 0;
  h.last_hour = hour;
}

double outbound_alert::median_locked(const history& h, std::int64_t hour) const {
  auto size = static_cast<std::int64_t>(h.counts.size());
  std::int64_t from = std::max(h.first_hour, hour - static_cast<std::int64_t>(s_.history_hours));
  std::vector<std::uint64_t> v;
  for (std::int64_t x = from; x < hour; ++x)
    v.push_back(h.counts[static_cast<std::size_t>(((x % size) + size) % size)]);
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t m = v.size() / 2;
  if (v.size() % 2) return static_cast<double>(v[m]);
  return (static_cast<double>(v[m - 1]) + static_cast<double>(v[m])) / 2.0;
}

bool outbound_alert::record(std::string_view user, std::uint64_t n, common::time_point now) {
  std::lock_guard lk(mu_);
  std::int64_t hour = hour_of(now);
  std::string key = bounded(user);
  auto it = users_.find(key);
  if (it == users_.end()) {
    if (users_.size() >= s_.max_users) return false;
    history h;
    h.first_hour = hour;
    h.last_hour = hour;
    h.counts.assign(s_.history_hours + 1, 0);
    it = users_.emplace(key, std::move(h)).first;
  }
  history& h = it->second;
  advance(h, hour);
  auto size = static_cast<std::int64_t>(h.counts.size());
  auto& cur = h.counts[static_cast<std::size_t>(((h.last_hour % size) + size) % size)];
  cur += n;
  double med = median_locked(h, h.last_hour);
  double need = std::max(s_.multiplier * med, static_cast<double>(s_.floor));
  bool spike = static_cast<double>(cur) >= need;
  if (spike && !h.active) {
    h.active = true;
    h.held = true;
    mgr_.update(s_.name, key, true, s_.sev,
                "user " + key + " sent to " + std::to_string(cur) + " recipients this hour (baseline median " +
                    num(med) + "); outbound mail held",
                now);
  }
  return h.held;
}

void outbound_alert::tick(common::time_point now) {
  std::lock_guard lk(mu_);
  std::int64_t hour = hour_of(now);
  for (auto it = users_.begin(); it != users_.end();) {
    history& h = it->second;
    advance(h, hour);
    auto size = static_cast<std::int64_t>(h.counts.size());
    auto cur = h.counts[static_cast<std::size_t>(((h.last_hour % size) + size) % size)];
    if (h.active) {
      double need = std::max(s_.multiplier * median_locked(h, h.last_hour), static_cast<double>(s_.floor));
      if (static_cast<double>(cur) < need) {
        h.active = false;
        mgr_.update(s_.name, it->first, false, s_.sev, {}, now);
      }
    }
    // A user silent for the whole history carries no information: forget it (the hold flag is kept).
    bool silent = !h.held && !h.active && std::all_of(h.counts.begin(), h.counts.end(), [](auto c) { return c == 0; });
    if (silent)
      it = users_.erase(it);
    else
      ++it;
  }
}

bool outbound_alert::held(std::string_view user) const {
  std::lock_guard lk(mu_);
  auto it = users_.find(bounded(user));
  return it != users_.end() && it->second.held;
}

void outbound_alert::release(std::string_view user) {
  std::lock_guard lk(mu_);
  auto it = users_.find(bounded(user));
  if (it != users_.end()) it->second.held = false;
}

std::vector<std::string> outbound_alert::held_users() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [u, h] : users_)
    if (h.held) out.push_back(u);
  std::sort(out.begin(), out.end());
  return out;
}

double outbound_alert::baseline(std::string_view user, common::time_point now) const {
  std::lock_guard lk(mu_);
  auto it = users_.find(bounded(user));
  if (it == users_.end()) return 0;
  history h = it->second;
  advance(h, hour_of(now));
  return median_locked(h, h.last_hour);
}

std::uint64_t outbound_alert::current(std::string_view user, common::time_point now) const {
  std::lock_guard lk(mu_);
  auto it = users_.find(bounded(user));
  if (it == users_.end()) return 0;
  const history& h = it->second;
  if (hour_of(now) > h.last_hour) return 0;
  auto size = static_cast<std::int64_t>(h.counts.size());
  return h.counts[static_cast<std::size_t>(((h.last_hour % size) + size) % size)];
}

// ---- cert_expiry_alert / flag_alert -------------------------------------------------------------

std::string cert_expiry_alert::sample(std::string_view path, common::time_point not_after, common::time_point now) {
  std::lock_guard lk(mu_);
  auto left = not_after - now;
  const char* stage = "";
  severity sev = severity::warning;
  if (left <= std::chrono::seconds(0)) {
    stage = "cert_expired";
    sev = severity::critical;
  } else if (left <= s_.second) {
    stage = "cert_expiry_30d";
  } else if (left <= s_.first) {
    stage = "cert_expiry_60d";
  }
  auto days = std::chrono::duration_cast<std::chrono::hours>(left).count() / 24;
  std::string msg = std::string(stage) == "cert_expired"
                        ? "certificate " + bounded(path) + " has expired"
                        : "certificate " + bounded(path) + " expires in " + std::to_string(days) + " days";
  // Clear the stages that no longer apply before raising the new one, so /api/alerts never shows two.
  for (const char* s : {"cert_expiry_60d", "cert_expiry_30d", "cert_expired"})
    if (std::string_view(s) != stage) mgr_.update(s, path, false, sev, {}, now);
  if (*stage) mgr_.update(stage, path, true, sev, std::move(msg), now);
  return stage;
}

void cert_expiry_alert::remove(std::string_view path, common::time_point now) {
  std::lock_guard lk(mu_);
  for (const char* s : {"cert_expiry_60d", "cert_expiry_30d", "cert_expired"})
    mgr_.update(s, path, false, severity::warning, {}, now);
}

transition flag_alert::set(std::string_view subject, bool on, common::time_point now) {
  return mgr_.update(s_.name, subject, on, s_.sev, s_.message + ": " + bounded(subject), now);
}

}  // namespace mailfort::monitor
