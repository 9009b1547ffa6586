// tests/unit/monitor/alerts_test.cpp: every alert helper with an injected clock: raise once, clear, raise again.
// SPDX-License-Identifier: MIT
#include "monitor/alerts.hpp"

#include <gtest/gtest.h>

using namespace mailfort;
using namespace std::chrono_literals;
using monitor::transition;

namespace {

// Records every transition the manager reports, in order.
struct recorder {
  std::vector<std::pair<std::string, transition>> events;
  void attach(monitor::alert_manager& m) {
    m.on_change([this](const monitor::alert& a, transition t) { events.emplace_back(a.name + "/" + a.subject, t); });
  }
  std::size_t raised(const std::string& key) const {
    std::size_t n = 0;
    for (const auto& [k, t] : events) n += (k == key && t == transition::raised);
    return n;
  }
  std::size_t cleared(const std::string& key) const {
    std::size_t n = 0;
    for (const auto& [k, t] : events) n += (k == key && t == transition::cleared);
    return n;
  }
};

}  // namespace

TEST(alert_manager, exactly_once_per_episode) {
  common::manual_clock clk;
  monitor::alert_manager m;
  recorder rec;
  rec.attach(m);
  EXPECT_EQ(m.update("x", "s", false, monitor::severity::info, "", clk.now()), transition::none);
  EXPECT_EQ(m.update("x", "s", true, monitor::severity::warning, "one", clk.now()), transition::raised);
  auto since = clk.now();
  clk.advance(5s);
  EXPECT_EQ(m.update("x", "s", true, monitor::severity::critical, "two", clk.now()), transition::none);
  auto act = m.active();
  ASSERT_EQ(act.size(), 1u);
  EXPECT_EQ(act[0].since, since);  // the episode began at the first raise
  EXPECT_EQ(act[0].message, "two");
  EXPECT_EQ(act[0].sev, monitor::severity::critical);
  EXPECT_EQ(m.update("x", "s", false, monitor::severity::info, "", clk.now()), transition::cleared);
  EXPECT_EQ(m.update("x", "s", false, monitor::severity::info, "", clk.now()), transition::none);
  EXPECT_TRUE(m.active().empty());
  EXPECT_EQ(m.update("x", "s", true, monitor::severity::warning, "again", clk.now()), transition::raised);
  EXPECT_EQ(rec.raised("x/s"), 2u);
  EXPECT_EQ(rec.cleared("x/s"), 1u);
  EXPECT_EQ(m.raised_total(), 2u);
}

TEST(alert_manager, bounded_and_ordered) {
  common::manual_clock clk;
  monitor::alert_manager m(2);
  m.update("b", "1", true, monitor::severity::info, "", clk.now());
  clk.advance(1s);
  m.update("a", "1", true, monitor::severity::info, "", clk.now());
  EXPECT_EQ(m.update("c", "1", true, monitor::severity::info, "", clk.now()), transition::none);
  EXPECT_EQ(m.dropped(), 1u);
  auto act = m.active();
  ASSERT_EQ(act.size(), 2u);
  EXPECT_EQ(act[0].name, "b");  // oldest first
  EXPECT_EQ(act[1].name, "a");
  auto j = monitor::to_json(act);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["name"], "b");
  EXPECT_EQ(j[0]["severity"], "info");
  EXPECT_EQ(j[0]["since"], common::unix_seconds(act[0].since));
}

TEST(rate_alert, per_source_burst_raises_once_and_clears) {
  common::manual_clock clk;
  monitor::alert_manager m;
  recorder rec;
  rec.attach(m);
  monitor::rate_settings s;
  s.per_subject = 5;
  s.total = 0;
  monitor::rate_alert r(m, s);
  for (int i = 0; i < 4; ++i) r.record("192.0.2.1", clk.now());
  EXPECT_FALSE(m.is_active("auth_failure_burst", "192.0.2.1"));
  r.record("192.0.2.1", clk.now());
  EXPECT_TRUE(m.is_active("auth_failure_burst", "192.0.2.1"));
  for (int i = 0; i < 50; ++i) r.record("192.0.2.1", clk.now());  // still one episode
  EXPECT_EQ(rec.raised("auth_failure_burst/192.0.2.1"), 1u);
  r.record("192.0.2.2", clk.now());
  EXPECT_FALSE(m.is_active("auth_failure_burst", "192.0.2.2"));
  clk.advance(61s);
  r.tick(clk.now());
  EXPECT_FALSE(m.is_active("auth_failure_burst", "192.0.2.1"));
  EXPECT_EQ(rec.cleared("auth_failure_burst/192.0.2.1"), 1u);
  EXPECT_EQ(r.tracked_subjects(), 0u);  // quiet subjects are forgotten
  for (int i = 0; i < 5; ++i) r.record("192.0.2.1", clk.now());
  EXPECT_EQ(rec.raised("auth_failure_burst/192.0.2.1"), 2u);  // a new episode
}

TEST(rate_alert, window_slides_and_hysteresis_prevents_flapping) {
  common::manual_clock clk;
  monitor::alert_manager m;
  recorder rec;
  rec.attach(m);
  monitor::rate_settings s;
  s.per_subject = 4;  // clears below 2
  s.total = 0;
  monitor::rate_alert r(m, s);
  // 3 events, then one more 61 s later: the first three have left the window.
  for (int i = 0; i < 3; ++i) r.record("a", clk.now());
  clk.advance(61s);
  r.record("a", clk.now());
  EXPECT_FALSE(m.is_active("auth_failure_burst", "a"));
  EXPECT_EQ(r.count("a", clk.now()), 1u);
  // Raise with 4 within a minute, then one event every 20 s keeps 3 in the window: below 4 but not below 2.
  for (int i = 0; i < 3; ++i) r.record("a", clk.now());
  EXPECT_TRUE(m.is_active("auth_failure_burst", "a"));
  for (int i = 0; i < 6; ++i) {
    clk.advance(20s);
    r.record("a", clk.now());
    r.tick(clk.now());
  }
  EXPECT_TRUE(m.is_active("auth_failure_burst", "a"));
  EXPECT_EQ(rec.raised("auth_failure_burst/a"), 1u);
  EXPECT_EQ(rec.cleared("auth_failure_burst/a"), 0u);
  clk.advance(45s);  // only the last event remains in the window
  r.tick(clk.now());
  EXPECT_FALSE(m.is_active("auth_failure_burst", "a"));
}

TEST(rate_alert, total_across_sources) {
  common::manual_clock clk;
  monitor::alert_manager m;
  recorder rec;
  rec.attach(m);
  monitor::rate_settings s;
  s.per_subject = 10;
  s.total = 20;
  monitor::rate_alert r(m, s);
  for (int i = 0; i < 20; ++i) r.record("198.51.100." + std::to_string(i), clk.now());  // a spread-out attack
  EXPECT_TRUE(m.is_active("auth_failure_burst", "*"));
  EXPECT_EQ(m.active().size(), 1u);  // no single source crossed its threshold
  for (int i = 0; i < 40; ++i) r.record("198.51.100.1", clk.now());
  EXPECT_EQ(rec.raised("auth_failure_burst/*"), 1u);
  EXPECT_TRUE(m.is_active("auth_failure_burst", "198.51.100.1"));
  clk.advance(2min);
  r.tick(clk.now());
  EXPECT_TRUE(m.active().empty());
  for (int i = 0; i < 20; ++i) r.record("x", clk.now());
  EXPECT_EQ(rec.raised("auth_failure_burst/*"), 2u);
}

TEST(rate_alert, subject_table_is_bounded) {
  common::manual_clock clk;
  monitor::alert_manager m;
  monitor::rate_settings s;
  s.per_subject = 2;
  s.total = 0;
  s.max_subjects = 3;
  monitor::rate_alert r(m, s);
  for (int i = 0; i < 100; ++i) r.record("s" + std::to_string(i), clk.now());
  EXPECT_EQ(r.tracked_subjects(), 3u);
  clk.advance(61s);
  r.record("new", clk.now());  // the stale ones make room
  r.record("new", clk.now());
  EXPECT_TRUE(m.is_active("auth_failure_burst", "new"));
}

TEST(threshold_alert, raises_clears_and_reraises) {
  common::manual_clock clk;
  monitor::alert_manager m;
  monitor::threshold_settings s;
  s.raise_at = 100;
  s.clear_below = 80;
  monitor::threshold_alert q(m, s);
  EXPECT_EQ(q.sample(99, clk.now()), transition::none);
  EXPECT_EQ(q.sample(100, clk.now()), transition::raised);
  EXPECT_EQ(q.sample(150, clk.now()), transition::none);
  EXPECT_EQ(q.sample(90, clk.now()), transition::none);  // hysteresis
  auto act = m.active();
  ASSERT_EQ(act.size(), 1u);
  EXPECT_EQ(act[0].subject, "queue");
  EXPECT_EQ(act[0].message, "90 messages in the queue (threshold 100)");
  EXPECT_EQ(q.sample(79, clk.now()), transition::cleared);
  EXPECT_EQ(q.sample(90, clk.now()), transition::none);
  EXPECT_EQ(q.sample(120, clk.now()), transition::raised);
}

TEST(growth_alert, needs_a_full_window_then_tracks_growth) {
  common::manual_clock clk;
  monitor::alert_manager m;
  monitor::growth_settings s;
  s.window = 600s;
  s.raise_growth = 1000;
  monitor::growth_alert g(m, s);
  EXPECT_EQ(g.sample(0, clk.now()), transition::none);
  clk.advance(300s);
  EXPECT_EQ(g.sample(5000, clk.now()), transition::none);  // less than a window of history
  clk.advance(300s);
  EXPECT_EQ(g.sample(5000, clk.now()), transition::raised);  // +5000 over 600 s
  clk.advance(300s);
  // The baseline is now the t=300 sample: +100, below half the threshold, so the episode ends.
  EXPECT_EQ(g.sample(5100, clk.now()), transition::cleared);
  EXPECT_FALSE(m.is_active("queue_growth", "queue"));
  clk.advance(600s);
  EXPECT_EQ(g.sample(5200, clk.now()), transition::none);  // +100 in 10 min: quiet
  clk.advance(600s);
  EXPECT_EQ(g.sample(6300, clk.now()), transition::raised);  // a new episode
}

TEST(outbound_alert, spike_against_own_median_raises_and_holds) {
  common::manual_clock clk(common::time_point{std::chrono::hours{500000}});  // on an hour boundary
  monitor::alert_manager m;
  recorder rec;
  rec.attach(m);
  monitor::outbound_settings s;
  s.multiplier = 10;
  s.floor = 50;
  s.history_hours = 24;
  monitor::outbound_alert o(m, s);
  // A steady sender: 20 recipients every hour for a day.
  for (int h = 0; h < 24; ++h) {
    EXPECT_FALSE(o.record("alice", 20, clk.now()));
    clk.advance(1h);
  }
  EXPECT_DOUBLE_EQ(o.baseline("alice", clk.now()), 20);
  // 150 this hour: over the floor but under 10x her median (200): fine.
  EXPECT_FALSE(o.record("alice", 150, clk.now()));
  EXPECT_FALSE(m.is_active("outbound_spike", "alice"));
  EXPECT_TRUE(o.record("alice", 50, clk.now()));  // 200 = 10 x 20
  EXPECT_TRUE(m.is_active("outbound_spike", "alice"));
  EXPECT_TRUE(o.record("alice", 500, clk.now()));  // same episode
  EXPECT_EQ(rec.raised("outbound_spike/alice"), 1u);
  EXPECT_EQ(o.held_users(), std::vector<std::string>{"alice"});
  // Next hour: the alert clears, the hold stays until an admin releases it.
  clk.advance(1h);
  o.tick(clk.now());
  EXPECT_FALSE(m.is_active("outbound_spike", "alice"));
  EXPECT_TRUE(o.held("alice"));
  o.release("alice");
  EXPECT_FALSE(o.held("alice"));
  // The spike hour (700) is now in her history, but the median barely moves: a second spike is a new episode.
  EXPECT_TRUE(o.record("alice", 300, clk.now()));
  EXPECT_EQ(rec.raised("outbound_spike/alice"), 2u);
}

TEST(outbound_alert, new_or_quiet_user_judged_by_floor) {
  common::manual_clock clk(common::time_point{std::chrono::hours{500000}});
  monitor::alert_manager m;
  monitor::outbound_settings s;
  s.floor = 50;
  monitor::outbound_alert o(m, s);
  EXPECT_FALSE(o.record("bob", 49, clk.now()));
  EXPECT_EQ(o.current("bob", clk.now()), 49u);
  EXPECT_TRUE(o.record("bob", 1, clk.now()));
  EXPECT_TRUE(m.is_active("outbound_spike", "bob"));
  // Untracked beyond max_users.
  monitor::outbound_settings small;
  small.max_users = 1;
  small.floor = 1;
  monitor::alert_manager m2;
  monitor::outbound_alert o2(m2, small);
  EXPECT_TRUE(o2.record("a", 1, clk.now()));
  EXPECT_FALSE(o2.record("b", 1000, clk.now()));
  EXPECT_FALSE(m2.is_active("outbound_spike", "b"));
}

TEST(cert_expiry_alert, stages_escalate_and_renewal_clears) {
  common::manual_clock clk;
  monitor::alert_manager m;
  recorder rec;
  rec.attach(m);
  monitor::cert_expiry_alert c(m);
  const std::string p = "/etc/mailfort/fullchain.pem";
  auto not_after = clk.now() + std::chrono::hours(24 * 90);
  EXPECT_EQ(c.sample(p, not_after, clk.now()), "");
  clk.advance(std::chrono::hours(24 * 31));  // 59 days left
  EXPECT_EQ(c.sample(p, not_after, clk.now()), "cert_expiry_60d");
  EXPECT_EQ(c.sample(p, not_after, clk.now()), "cert_expiry_60d");
  EXPECT_EQ(rec.raised("cert_expiry_60d/" + p), 1u);
  clk.advance(std::chrono::hours(24 * 30));  // 29 days left
  EXPECT_EQ(c.sample(p, not_after, clk.now()), "cert_expiry_30d");
  ASSERT_EQ(m.active().size(), 1u);  // one stage at a time
  EXPECT_EQ(m.active()[0].message, "certificate " + p + " expires in 29 days");
  clk.advance(std::chrono::hours(24 * 30));
  EXPECT_EQ(c.sample(p, not_after, clk.now()), "cert_expired");
  ASSERT_EQ(m.active().size(), 1u);
  EXPECT_EQ(m.active()[0].sev, monitor::severity::critical);
  // Renewed: everything clears; expiring again later is a new episode.
  auto renewed = clk.now() + std::chrono::hours(24 * 90);
  EXPECT_EQ(c.sample(p, renewed, clk.now()), "");
  EXPECT_TRUE(m.active().empty());
  clk.advance(std::chrono::hours(24 * 31));
  EXPECT_EQ(c.sample(p, renewed, clk.now()), "cert_expiry_60d");
  EXPECT_EQ(rec.raised("cert_expiry_60d/" + p), 2u);
  c.remove(p, clk.now());
  EXPECT_TRUE(m.active().empty());
}

TEST(flag_alert, boolean_condition_per_subject) {
  common::manual_clock clk;
  monitor::alert_manager m;
  monitor::flag_alert bl(m, {"blocklist_listed", monitor::severity::warning, "listed on blocklist"});
  monitor::flag_alert dnssec(m, {"dnssec_not_validating", monitor::severity::critical, "resolver does not validate"});
  EXPECT_EQ(bl.set("zen.example", false, clk.now()), transition::none);
  EXPECT_EQ(bl.set("zen.example", true, clk.now()), transition::raised);
  EXPECT_EQ(bl.set("zen.example", true, clk.now()), transition::none);
  EXPECT_EQ(bl.set("b.example", true, clk.now()), transition::raised);
  EXPECT_EQ(dnssec.set("127.0.0.1:53", true, clk.now()), transition::raised);
  EXPECT_EQ(m.active().size(), 3u);
  EXPECT_EQ(bl.set("zen.example", false, clk.now()), transition::cleared);
  EXPECT_EQ(bl.set("zen.example", true, clk.now()), transition::raised);
  EXPECT_TRUE(m.is_active("dnssec_not_validating", "127.0.0.1:53"));
}
