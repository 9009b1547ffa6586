// monitor/alerts.hpp: [pure] alert state machines: raise once when a condition starts, clear when it ends.
// SPDX-License-Identifier: MIT
// The daemon feeds these from every step (auth failures, queue samples, outbound mail per user, certificate
// expiry, blocklist and DNSSEC probes); they decide, with an injected `now`, when an episode begins and ends.
// alert_manager keeps the active set, keyed by (name, subject), and reports each transition exactly once, so a
// burst of 10,000 auth failures is one alert, and a second burst after the first cleared is a second one.
//
// Memory is bounded everywhere: the manager holds at most max_active alerts (more raises are counted in
// dropped() and not stored), the per-subject helpers track at most max_subjects keys. Subjects (IPs, user
// names, certificate paths) may be attacker-chosen; they are stored as given, truncated to 256 bytes, and only
// ever emitted as JSON or log fields (escaped there).
//
// Thread-safety: every class here locks internally, so the event loops may feed the helpers concurrently and
// the admin listener may read active() meanwhile. Lock order is helper -> manager; the on_change callback runs
// after the manager's lock is released, so it may call active().
// Not implemented: notification (mail, webhooks) and persistence: active alerts are rebuilt after a restart by
// the conditions still holding.
#pragma once
#include "common/clock.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailfort::monitor {

enum class severity { info, warning, critical };
const char* to_string(severity s);

struct alert {
  std::string name;  // condition, e.g. "auth_failure_burst"
  severity sev = severity::warning;
  std::string subject;  // what it is about: an IP, a user, a certificate path, a DNSBL zone; "*" for global
  std::string message;  // one line for people
  common::time_point since{};
};

enum class transition { none, raised, cleared };

// Alerts as a JSON array for /api/alerts: {name, severity, subject, message, since (Unix seconds)}.
nlohmann::json to_json(const std::vector<alert>& alerts);

class alert_manager {
 public:
  explicit alert_manager(std::size_t max_active = 10000) : max_active_(max_active) {}

  // Report the current truth of condition (name, subject). Returns raised when it was false and is now true
  // (the alert is stored with since = now), cleared when it was true and is now false, none otherwise (the
  // stored message and severity are then updated, since is kept).
  transition update(std::string_view name, std::string_view subject, bool active, severity sev, std::string message,
                    common::time_point now);
  bool is_active(std::string_view name, std::string_view subject) const;
  // Active alerts, oldest first (ties by name, subject). For /api/alerts.
  std::vector<alert> active() const;
  std::uint64_t raised_total() const;
  std::uint64_t dropped() const;  // raises not stored because max_active alerts were active

  // Called once per raised/cleared transition (not for none), outside the lock. Set before feeding.
  void on_change(std::function<void(const alert&, transition)> fn);

 private:
  std::size_t max_active_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, alert> active_;
  std::uint64_t raised_ = 0, dropped_ = 0;
  std::function<void(const alert&, transition)> on_change_;
};

// ---- helpers ------------------------------------------------------------------------------------

// Sliding-window event rate per subject and in total: "10 auth failures from one source in a minute", "100
// from anywhere in a minute". The subject alert is raised at per_subject events within `window` and cleared
// when fewer than per_subject_clear remain in the window (hysteresis: a steady attacker right at the
// threshold does not flap); the total alert likewise, with subject "*". 0 disables either.
struct rate_settings {
  std::string name = "auth_failure_burst";
  severity sev = severity::warning;
  std::string what = "authentication failures";  // for the message
  std::chrono::seconds window{60};
  std::size_t per_subject = 10;
  std::size_t per_subject_clear = 0;  // 0: per_subject / 2 (at least 1)
  std::size_t total = 100;
  std::size_t total_clear = 0;       // 0: total / 2 (at least 1)
  std::size_t max_subjects = 10000;  // beyond: events of new subjects count only in the total
};

class rate_alert {
 public:
  rate_alert(alert_manager& mgr, rate_settings s);
  // One event (an auth failure) from subject (a source address) at now; re-evaluates that subject and the total.
  void record(std::string_view subject, common::time_point now);
  // Expire windows and clear alerts whose rate fell; call periodically (e.g. every 10 s).
  void tick(common::time_point now);
  std::size_t count(std::string_view subject, common::time_point now);  // events in the window (capped)
  std::size_t tracked_subjects() const;

 private:
  struct window {
    std::deque<common::time_point> events;  // newest last; at most `cap` kept: enough to decide
    bool active = false;
  };
  void prune(window& w, common::time_point now) const;
  void evaluate(const std::string& subject, window& w, std::size_t raise_at, std::size_t clear_below,
                common::time_point now);
  alert_manager& mgr_;
  rate_settings s_;
  std::size_t subject_clear_, total_clear_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, window> subjects_;
  window total_;
};

// A sampled value over a threshold: "queue holds >= 10,000 messages". Raised at value >= raise_at, cleared at
// value < clear_below (default raise_at: no hysteresis).
struct threshold_settings {
  std::string name = "queue_size_high";
  severity sev = severity::warning;
  std::string subject = "queue";
  std::string what = "messages in the queue";
  double raise_at = 10000;
  std::optional<double> clear_below;
};

class threshold_alert {
 public:
  threshold_alert(alert_manager& mgr, threshold_settings s) : mgr_(mgr), s_(std::move(s)) {}
  transition sample(double value, common::time_point now);

 private:
  alert_manager& mgr_;
  threshold_settings s_;
  std::mutex mu_;
};

// Growth of a sampled value over a window: "the queue grew by >= 1,000 messages in 10 minutes". The growth is
// value(now) - value(the newest sample at least `window` old); until a sample that old exists, nothing is
// raised. Cleared when the growth over the window falls below raise_growth / 2.
struct growth_settings {
  std::string name = "queue_growth";
  severity sev = severity::warning;
  std::string subject = "queue";
  std::string what = "messages in the queue";
  std::chrono::seconds window{600};
  double raise_growth = 1000;
  // Memory bound. Feed fewer than max_samples samples per window: past it the oldest go first and the baseline
  // becomes younger than `window`, which understates the growth.
  std::size_t max_samples = 10000;
};

class growth_alert {
 public:
  growth_alert(alert_manager& mgr, growth_settings s) : mgr_(mgr), s_(std::move(s)) {}
  transition sample(double value, common::time_point now);

 private:
  alert_manager& mgr_;
  growth_settings s_;
  std::mutex mu_;
  std::deque<std::pair<common::time_point, double>> samples_;
};

// Outbound volume per authenticated user against that user's own habit. Counts go into hour buckets aligned
// to the Unix epoch; the baseline is the median of the user's completed hours in the history (up to
// history_hours, zero hours included, hours before the user was first seen excluded). The current hour's
// count raises the alert when it is >= multiplier x median AND >= floor (so a user who never sends is judged
// by the floor alone), and sets the user's hold flag: the daemon stops relaying that user's mail until
// release(user), even after the alert clears at the next hour (a compromised account keeps being one).
struct outbound_settings {
  std::string name = "outbound_spike";
  severity sev = severity::critical;
  double multiplier = 10;
  std::uint64_t floor = 200;        // recipients (or messages) in one hour
  std::size_t history_hours = 168;  // one week of hourly buckets
  std::size_t max_users = 100000;   // beyond: new users are not tracked (record returns false)
};

class outbound_alert {
 public:
  outbound_alert(alert_manager& mgr, outbound_settings s);
  // Count n (recipients of one message) for user at now. Returns true when the user is held (now or before).
  bool record(std::string_view user, std::uint64_t n, common::time_point now);
  // Clear alerts whose hour passed (holds stay). Call periodically.
  void tick(common::time_point now);
  bool held(std::string_view user) const;
  void release(std::string_view user);  // the admin cleared the account; the alert's episode may begin anew
  std::vector<std::string> held_users() const;
  // The user's baseline (median of completed hours) and current-hour count, for /api and tests.
  double baseline(std::string_view user, common::time_point now) const;
  std::uint64_t current(std::string_view user, common::time_point now) const;

 private:
  struct history {
    std::int64_t first_hour = 0;        // the hour the user was first seen
    std::int64_t last_hour = 0;         // the hour of counts[last_hour % size]
    std::vector<std::uint64_t> counts;  // ring of history_hours + 1 buckets
    bool held = false;
    bool active = false;
  };
  void advance(history& h, std::int64_t hour) const;
  double median_locked(const history& h, std::int64_t hour) const;
  alert_manager& mgr_;
  outbound_settings s_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, history> users_;
};

// Certificate expiry: stages at <= 60 days left ("cert_expiry_60d", warning), <= 30 days ("cert_expiry_30d",
// warning) and expired ("cert_expired", critical). At most one stage is active per certificate: entering a
// later stage clears the earlier and raises the new one (an escalation is a new episode); a renewed
// certificate clears all.
struct cert_settings {
  std::chrono::hours first{24 * 60};
  std::chrono::hours second{24 * 30};
};

class cert_expiry_alert {
 public:
  cert_expiry_alert(alert_manager& mgr, cert_settings s = {}) : mgr_(mgr), s_(s) {}
  // Returns the stage's alert name now active for path, or "" when none.
  std::string sample(std::string_view path, common::time_point not_after, common::time_point now);
  void remove(std::string_view path, common::time_point now);  // a certificate no longer configured

 private:
  alert_manager& mgr_;
  cert_settings s_;
  std::mutex mu_;
};

// A boolean condition per subject: "listed on zen.spamhaus.org", "DNSSEC not validating". Raised when set true,
// cleared when set false.
struct flag_settings {
  std::string name = "blocklist_listed";
  severity sev = severity::warning;
  std::string message = "listed on blocklist";  // the message is "<message>: <subject>"
};

class flag_alert {
 public:
  flag_alert(alert_manager& mgr, flag_settings s) : mgr_(mgr), s_(std::move(s)) {}
  transition set(std::string_view subject, bool on, common::time_point now);

 private:
  alert_manager& mgr_;
  flag_settings s_;
};

}  // namespace mailfort::monitor
