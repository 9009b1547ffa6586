// tests/unit/monitor/metrics_test.cpp: registry behaviour and the exact Prometheus text it writes.
// SPDX-License-Identifier: MIT
#include "monitor/metrics.hpp"
#include "monitor/standard_metrics.hpp"
#include "monitor/event_metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace mailfort;
using monitor::registry;

namespace {

bool have_promtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

// Pipes text through `promtool check metrics` (parser and linter); false with its output in `why` if it objects.
bool promtool_accepts(const std::string& text, std::string& why) {
  char path[] = "/tmp/mailfort-promtool-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) {
    why = "mkstemp failed";
    return false;
  }
  ::close(fd);
  std::string in = std::string(path) + ".prom", out = std::string(path) + ".out";
  std::ofstream(in) << text;
  int rc = std::system(("promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
  std::stringstream msg;
  msg << std::ifstream(out).rdbuf();
  why = msg.str();
  std::remove(path);
  std::remove(in.c_str());
  std::remove(out.c_str());
  return rc == 0;
}

}  // namespace

TEST(metrics_exposition, golden_counters_and_gauges) {
  registry r;
  auto& conns = r.add_counter("mailfort_smtp_connections_total", "SMTP connections by listener and outcome.",
                              {"listener", "outcome"});
  auto& active = r.add_gauge("mailfort_smtp_connections_active", "Open SMTP connections.", {"listener"});
  auto& up = r.add_gauge("mailfort_up", "1 while the server runs.");
  conns.with({"mx", "accepted"}).inc(3);
  conns.with({"mx", "banned"}).inc();
  conns.with({"submission", "accepted"}).inc(2);
  active.with({"mx"}).set(7);
  active.with({"mx"}).dec(2);
  active.with({"submission"}).set(0.25);
  up.with({}).set(1);
  EXPECT_EQ(r.expose(),
            "# HELP mailfort_smtp_connections_active Open SMTP connections.\n"
            "# TYPE mailfort_smtp_connections_active gauge\n"
            "mailfort_smtp_connections_active{listener=\"mx\"} 5\n"
            "mailfort_smtp_connections_active{listener=\"submission\"} 0.25\n"
            "# HELP mailfort_smtp_connections_total SMTP connections by listener and outcome.\n"
            "# TYPE mailfort_smtp_connections_total counter\n"
            "mailfort_smtp_connections_total{listener=\"mx\",outcome=\"accepted\"} 3\n"
            "mailfort_smtp_connections_total{listener=\"mx\",outcome=\"banned\"} 1\n"
            "mailfort_smtp_connections_total{listener=\"submission\",outcome=\"accepted\"} 2\n"
            "# HELP mailfort_up 1 while the server runs.\n"
            "# TYPE mailfort_up gauge\n"
            "mailfort_up 1\n");
}

TEST(metrics_exposition, escapes_label_values_and_help) {
  registry r;
  auto& f = r.add_counter("x_total", "help with \\ backslash\nand newline and \"quotes\"", {"user"});
  f.with({"a\"b\\c\nd"}).inc();
  EXPECT_EQ(r.expose(),
            "# HELP x_total help with \\\\ backslash\\nand newline and \"quotes\"\n"
            "# TYPE x_total counter\n"
            "x_total{user=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(metrics_exposition, golden_histogram) {
  registry r;
  auto& h = r.add_histogram("mailfort_smtp_transaction_duration_seconds", "Time from MAIL to the final reply.",
                            {"listener"}, {0.01, 0.1, 1});
  auto& mx = h.with({"mx"});
  mx.observe(0.005);
  mx.observe(0.01);  // le is inclusive
  mx.observe(0.5);
  mx.observe(7);
  EXPECT_EQ(r.expose(),
            "# HELP mailfort_smtp_transaction_duration_seconds Time from MAIL to the final reply.\n"
            "# TYPE mailfort_smtp_transaction_duration_seconds histogram\n"
            "mailfort_smtp_transaction_duration_seconds_bucket{listener=\"mx\",le=\"0.01\"} 2\n"
            "mailfort_smtp_transaction_duration_seconds_bucket{listener=\"mx\",le=\"0.1\"} 2\n"
            "mailfort_smtp_transaction_duration_seconds_bucket{listener=\"mx\",le=\"1\"} 3\n"
            "mailfort_smtp_transaction_duration_seconds_bucket{listener=\"mx\",le=\"+Inf\"} 4\n"
            "mailfort_smtp_transaction_duration_seconds_sum{listener=\"mx\"} 7.515\n"
            "mailfort_smtp_transaction_duration_seconds_count{listener=\"mx\"} 4\n");
}

TEST(metrics_exposition, label_less_histogram_and_special_values) {
  registry r;
  auto& h = r.add_histogram("lat_seconds", "h", {}, {1});
  h.with({}).observe(2);
  auto& g = r.add_gauge("g", "special", {"k"});
  g.with({"inf"}).set(std::numeric_limits<double>::infinity());
  g.with({"ninf"}).set(-std::numeric_limits<double>::infinity());
  g.with({"nan"}).set(std::nan(""));
  g.with({"big"}).set(1e21);
  EXPECT_EQ(r.expose(),
            "# HELP g special\n"
            "# TYPE g gauge\n"
            "g{k=\"big\"} 1e+21\n"
            "g{k=\"inf\"} +Inf\n"
            "g{k=\"nan\"} NaN\n"
            "g{k=\"ninf\"} -Inf\n"
            "# HELP lat_seconds h\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"1\"} 0\n"
            "lat_seconds_bucket{le=\"+Inf\"} 1\n"
            "lat_seconds_sum 2\n"
            "lat_seconds_count 1\n");
}

TEST(metrics_exposition, callbacks_sampled_at_scrape_time) {
  registry r;
  double queue = 3;
  r.add_callback_gauge("mailfort_queue_messages", "Messages in the queue.", [&] { return queue; });
  r.add_callback("mailfort_blocklist_listed", "1 when listed on the zone.", monitor::metric_type::gauge, {"zone"}, [] {
    return std::vector<monitor::sample>{{{"zen.example"}, 1}, {{"b.example"}, 0}, {{"too", "many"}, 5}};
  });
  r.add_callback("broken_total", "throws", monitor::metric_type::counter, {},
                 []() -> std::vector<monitor::sample> { throw std::runtime_error("x"); });
  queue = 42;
  EXPECT_EQ(r.expose(),
            "# HELP mailfort_blocklist_listed 1 when listed on the zone.\n"
            "# TYPE mailfort_blocklist_listed gauge\n"
            "mailfort_blocklist_listed{zone=\"b.example\"} 0\n"
            "mailfort_blocklist_listed{zone=\"zen.example\"} 1\n"
            "# HELP mailfort_queue_messages Messages in the queue.\n"
            "# TYPE mailfort_queue_messages gauge\n"
            "mailfort_queue_messages 42\n");
}

TEST(metrics_exposition, callback_samples_deduplicated_and_capped) {
  registry r;
  r.add_callback(
      "c", "h", monitor::metric_type::gauge, {"k"},
      [] {
        return std::vector<monitor::sample>{{{"a"}, 1}, {{"a"}, 2}, {{"b"}, 3}, {{"c"}, 4}};
      },
      2);
  EXPECT_EQ(r.expose(), "# HELP c h\n# TYPE c gauge\nc{k=\"a\"} 1\nc{k=\"b\"} 3\n");
}

TEST(metrics_registry, rejects_bad_registrations) {
  registry r;
  EXPECT_THROW(r.add_counter("no_suffix", "h"), std::invalid_argument);
  EXPECT_THROW(r.add_counter("1bad_total", "h"), std::invalid_argument);
  EXPECT_THROW(r.add_counter("bad-name_total", "h"), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("g", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("g", "h", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.add_histogram("h", "h", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.add_histogram("h", "h", {}, {2, 1}), std::invalid_argument);
  r.add_gauge("dup", "h");
  EXPECT_THROW(r.add_gauge("dup", "h"), std::invalid_argument);
  r.add_histogram("lat", "h", {}, {1});
  EXPECT_THROW(r.add_gauge("lat_count", "h"), std::invalid_argument);  // would collide with lat's series
  auto& f = r.add_counter("ok_total", "h", {"a", "b"});
  EXPECT_THROW(f.with({"only-one"}), std::invalid_argument);
}

TEST(metrics_registry, children_are_stable_and_shared) {
  registry r;
  auto& f = r.add_counter("c_total", "h", {"k"});
  auto& a = f.with({"x"});
  auto& b = f.with({"x"});
  EXPECT_EQ(&a, &b);
  for (int i = 0; i < 100; ++i) f.with({"k" + std::to_string(i)});
  EXPECT_EQ(&a, &f.with({"x"}));  // later insertions do not move a cached child
}

TEST(metrics_registry, concurrent_increments_are_exact) {
  registry r;
  auto& f = r.add_counter("c_total", "h", {"listener"});
  auto& h = r.add_histogram("lat_seconds", "h", {}, {0.5});
  auto& g = r.add_gauge("g", "h");
  constexpr int threads = 4, per_thread = 200000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      // Half the threads look the child up once (the cached call site), half on every call.
      auto& cached = f.with({"mx"});
      auto& hist = h.with({});
      auto& gg = g.with({});
      for (int i = 0; i < per_thread; ++i) {
        if (t % 2)
          cached.inc();
        else
          f.with({"mx"}).inc();
        hist.observe(i % 2 ? 0.25 : 1.0);
        gg.inc();
      }
    });
  }
  // Scrape while writers run: must not crash or deadlock.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(r.expose().empty());
  for (auto& t : ts) t.join();
  EXPECT_EQ(f.with({"mx"}).value(), std::uint64_t{threads} * per_thread);
  auto& hist = h.with({});
  EXPECT_EQ(hist.count(), std::uint64_t{threads} * per_thread);
  EXPECT_EQ(hist.cumulative()[0], std::uint64_t{threads} * per_thread / 2);
  EXPECT_DOUBLE_EQ(hist.sum(), threads * (per_thread / 2) * 1.25);
  EXPECT_DOUBLE_EQ(g.with({}).value(), double{threads} * per_thread);
}

TEST(metrics_registry, cardinality_cap_sends_new_children_to_other) {
  registry r;
  auto& f = r.add_counter("mailfort_outbound_messages_total", "h", {"user"}, 3);
  f.with({"a"}).inc();
  f.with({"b"}).inc();
  f.with({"c"}).inc();
  f.with({"d"}).inc(5);
  f.with({"e"}).inc(2);
  f.with({"a"}).inc();  // existing children keep counting
  EXPECT_EQ(f.size(), 4u);
  EXPECT_EQ(f.overflowed(), 2u);
  EXPECT_EQ(&f.with({"zzz"}), &f.with({"other"}));
  EXPECT_EQ(f.with({"other"}).value(), 7u);
  EXPECT_EQ(f.with({"a"}).value(), 2u);
  std::string text = r.expose();
  EXPECT_NE(text.find("mailfort_outbound_messages_total{user=\"other\"} 7\n"), std::string::npos);
  EXPECT_EQ(text.find("user=\"d\""), std::string::npos);
}

TEST(metrics_registry, real_other_child_is_the_overflow_child) {
  registry r;
  auto& f = r.add_counter("c_total", "h", {"user"}, 2);
  f.with({"other"}).inc();  // a user really named "other"
  f.with({"a"}).inc();
  f.with({"b"}).inc();
  f.with({"c"}).inc();  // overflow: shares the "other" series rather than emitting it twice
  EXPECT_EQ(f.with({"other"}).value(), 2u);
  std::string text = r.expose();
  EXPECT_EQ(text.find("user=\"other\""), text.rfind("user=\"other\""));
}

TEST(metrics_labels, sanitized_to_bounded_utf8) {
  EXPECT_EQ(monitor::sanitize_label_value("plain"), "plain");
  EXPECT_EQ(monitor::sanitize_label_value("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(monitor::sanitize_label_value("a\xFF"
                                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(monitor::sanitize_label_value("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(monitor::sanitize_label_value("\xED\xA0\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate is not UTF-8
  EXPECT_EQ(monitor::sanitize_label_value(std::string(1000, 'x')).size(), monitor::max_label_value_bytes);
  EXPECT_EQ(monitor::sanitize_label_value(std::string("a\rb\0c\x7F\td\ne", 10)),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\td\ne");
  // Truncation never splits a character.
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xE2\x82\xAC";
  auto t = monitor::sanitize_label_value(euros);
  EXPECT_EQ(t.size(), 255u);
  EXPECT_EQ(t, euros.substr(0, 255));

  registry r;
  auto& f = r.add_counter("c_total", "h", {"u"});
  EXPECT_EQ(&f.with({"a\xFF"}), &f.with({"a\xFE"}));  // both sanitize to "a\uFFFD"
}

// promtool (Debian package prometheus) is the reference parser and linter. Skipped where it is not installed.
TEST(metrics_exposition, passes_promtool_check_metrics) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  registry r;
  auto& c = r.add_counter("mailfort_smtp_connections_total", "SMTP connections by listener and outcome.",
                          {"listener", "outcome"});
  c.with({"mx", "accepted"}).inc(10);
  c.with({"mx", "we\"ird\\val\nue"}).inc();
  r.add_gauge("mailfort_bans_active", "Active bans.").with({}).set(3);
  auto& h = r.add_histogram("mailfort_smtp_transaction_duration_seconds", "Transaction latency.", {"listener"},
                            monitor::default_latency_buckets());
  h.with({"mx"}).observe(0.003);
  h.with({"submission"}).observe(2);
  r.add_callback_gauge("mailfort_queue_oldest_message_age_seconds", "Age of the oldest queued message.",
                       [] { return 12.5; });
  auto& u = r.add_counter("mailfort_outbound_recipients_total", "Recipients per user.", {"user"}, 2);
  for (const char* n : {"alice@example.org", "b\xFF", "carol", "dave"}) u.with({n}).inc();

  std::string why;
  EXPECT_TRUE(promtool_accepts(r.expose(), why)) << why << "\n--- input ---\n" << r.expose();
}

// The check above can fail: promtool rejects a counter without _total and a family without HELP.
TEST(metrics_exposition, promtool_rejects_bad_exposition) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  std::string why;
  EXPECT_FALSE(promtool_accepts("# TYPE foo counter\nfoo 1\n", why));
}

// The documented families, populated as the daemon would, pass promtool's parser and linter.
TEST(standard_metrics, registers_documented_families_and_passes_promtool) {
  registry r;
  monitor::standard_sources src;
  src.queue_messages = [] { return 12.0; };
  src.queue_oldest_message_age_seconds = [] { return 30.5; };
  src.bans_active = [] { return 2.0; };
  src.alerts_active = [] { return 1.0; };
  src.certificate_expiry_seconds = [] {
    return std::vector<monitor::sample>{{{"/etc/mailfort/fullchain.pem"}, 86400}};
  };
  src.blocklist_listed = [] { return std::vector<monitor::sample>{{{"zen.example"}, 0}}; };
  monitor::standard_metrics m(r, "0.1.0", src);
  m.smtp_connections.with({"mx", "accepted"}).inc();
  m.smtp_connections_active.with({"mx"}).inc();
  m.tls_handshakes.with({"mx", "TLSv1.3", "TLS_AES_256_GCM_SHA384"}).inc();
  m.tls_handshake_failures.with({"mx"}).inc();
  m.smtp_auth.with({"submission", "PLAIN", "failure"}).inc();
  m.smtp_rejections.with({"relay_denied"}).inc();
  m.smtp_transaction_duration.with({"mx"}).observe(0.002);
  m.messages_accepted.with({"mx"}).inc();
  m.messages_delivered.with({"maildir"}).inc();
  m.messages_deferred.with({"remote"}).inc();
  m.messages_bounced.with({"remote"}).inc();
  m.outbound_messages.with({"alice@example.org"}).inc();
  m.outbound_recipients.with({"alice@example.org"}).inc(3);
  m.spf_results.with({"pass"}).inc();
  m.dkim_results.with({"pass"}).inc();
  m.dmarc_results.with({"pass", "none"}).inc();
  m.dns_errors.with({"servfail"}).inc();
  m.alerts_raised.with({"auth_failure_burst"}).inc();
  std::string text = r.expose();
  for (const char* name :
       {"mailfort_build_info{version=\"0.1.0\"} 1\n", "mailfort_queue_messages 12\n", "mailfort_bans_active 2\n",
        "mailfort_tls_certificate_expiry_seconds{path=\"/etc/mailfort/fullchain.pem\"} 86400\n",
        "mailfort_outbound_recipients_total{user=\"alice@example.org\"} 3\n"})
    EXPECT_NE(text.find(name), std::string::npos) << name;

  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  std::string why;
  EXPECT_TRUE(promtool_accepts(text, why)) << why;
}

// Hostile label values (random bytes, CR, LF, quotes, backslashes) never forge a line or a label: every sample
// line is `name{u="<escaped>"} value`, and unescaping gives back the sanitized value.
TEST(metrics_exposition, random_label_values_cannot_forge_lines) {
  registry r;
  auto& f = r.add_counter("c_total", "h", {"u"});
  std::uint64_t x = 0x9E3779B97F4A7C15ull;  // fixed-seed xorshift: reproducible
  std::vector<std::string> values;
  for (int i = 0; i < 500; ++i) {
    std::string v;
    std::size_t len = (x >> 7) % 40;
    for (std::size_t k = 0; k < len; ++k) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      static const char alphabet[] = {'a', '"', '\\', '\n', '\r',   '}',    '{',
                                      '=', ',', ' ',  '\0', '\xFF', '\xC3', '\xA9'};
      v += alphabet[x % sizeof alphabet];
    }
    f.with({v}).inc();
    values.push_back(monitor::sanitize_label_value(v));
  }
  std::istringstream in(r.expose());
  std::string line;
  std::size_t samples = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("# ")) continue;
    ASSERT_TRUE(line.starts_with("c_total{u=\"")) << line;
    std::string value;
    std::size_t i = 11;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\') {
        ASSERT_LT(i + 1, line.size());
        char e = line[++i];
        ASSERT_TRUE(e == '\\' || e == '"' || e == 'n') << line;
        value += e == 'n' ? '\n' : e;
      } else {
        value += line[i];
      }
    }
    ASSERT_EQ(line.substr(i), "\"} " + line.substr(line.rfind(' ') + 1)) << line;
    EXPECT_NE(std::find(values.begin(), values.end(), value), values.end());
    ++samples;
  }
  EXPECT_EQ(samples, f.size());
}

// ---- event_metrics: log events -> counters and alerts --------------------------------------------------------
namespace mailfort::monitor {
namespace {

TEST(event_metrics, dovecot_flapping_is_an_alert_until_dovecot_recovers) {
  registry r;
  standard_metrics m(r, "0.1.0");
  common::manual_clock clk;
  alert_manager alerts;
  flag_settings fs;
  fs.name = "dovecot_flapping";
  flag_alert flapping(alerts, fs);
  event_metrics ev(m, clk, nullptr, nullptr);
  ev.set_flag_alerts(&flapping);
  ev.observe("dovecot_exited", nlohmann::json{{"event", "dovecot_exited"}});
  EXPECT_TRUE(alerts.active().empty());
  ev.observe("dovecot_flapping", nlohmann::json{{"event", "dovecot_flapping"}, {"deaths", 5}});
  ASSERT_EQ(alerts.active().size(), 1u);
  EXPECT_EQ(alerts.active()[0].name, "dovecot_flapping");
  EXPECT_EQ(alerts.active()[0].subject, "dovecot");
  ev.observe("dovecot_recovered", nlohmann::json{{"event", "dovecot_recovered"}});
  EXPECT_TRUE(alerts.active().empty());
}

TEST(event_metrics, filter_processes_flap_and_outbound_malware_alerts) {
  registry r;
  standard_metrics m(r, "0.1.0");
  common::manual_clock clk;
  alert_manager alerts;
  flag_settings fs;
  fs.name = "rspamd_flapping";
  flag_alert flapping(alerts, fs);
  rate_settings rs;
  rs.name = "outbound_malware";
  rs.window = std::chrono::hours(24);
  rs.per_subject = 1;
  rs.total = 0;
  rate_alert malware(alerts, rs);
  event_metrics ev(m, clk, nullptr, nullptr);
  ev.add_process_alert("rspamd", &flapping);
  ev.set_malware_alert(&malware);
  ev.observe("rspamd_started", nlohmann::json{{"event", "rspamd_started"}});
  ev.observe("rspamd_exited", nlohmann::json{{"event", "rspamd_exited"}});
  ev.observe("clamd_exited", nlohmann::json{{"event", "clamd_exited"}});  // no alert registered: counted only
  EXPECT_TRUE(alerts.active().empty());
  ev.observe("rspamd_flapping", nlohmann::json{{"event", "rspamd_flapping"}});
  ASSERT_EQ(alerts.active().size(), 1u);
  EXPECT_EQ(alerts.active()[0].name, "rspamd_flapping");
  EXPECT_EQ(alerts.active()[0].subject, "rspamd");
  ev.observe("rspamd_recovered", nlohmann::json{{"event", "rspamd_recovered"}});
  EXPECT_TRUE(alerts.active().empty());
  ev.observe("outbound_malware", nlohmann::json{{"event", "outbound_malware"}, {"user", "a@x"}, {"milter", "clamav"}});
  ASSERT_EQ(alerts.active().size(), 1u);
  EXPECT_EQ(alerts.active()[0].name, "outbound_malware");
  EXPECT_EQ(alerts.active()[0].subject, "a@x");
  const auto text = r.expose();
  EXPECT_NE(text.find("mailfort_child_process_events_total{process=\"rspamd\",event=\"exited\"} 1"), std::string::npos);
  EXPECT_NE(text.find("mailfort_child_process_events_total{process=\"clamd\",event=\"exited\"} 1"), std::string::npos);
  EXPECT_NE(text.find("mailfort_outbound_malware_total{milter=\"clamav\"} 1"), std::string::npos);
  clk.advance(std::chrono::hours(25));
  malware.tick(clk.now());
  EXPECT_TRUE(alerts.active().empty());
}

TEST(event_metrics, stuffing_and_spraying_are_counted) {
  registry r;
  standard_metrics m(r, "0.1.0");
  common::manual_clock clk;
  event_metrics ev(m, clk, nullptr, nullptr);
  ev.observe("password_spraying", nlohmann::json{{"listener", "imap"}, {"client_ip", "192.0.2.1"}});
  ev.observe("password_spraying", nlohmann::json{{"listener", "imap"}, {"client_ip", "192.0.2.2"}});
  ev.observe("credential_stuffing", nlohmann::json{{"listener", "pop3"}, {"client_ip", "192.0.2.3"}});
  const std::string text = r.expose();
  EXPECT_NE(text.find("mailfort_login_attacks_total{listener=\"imap\",kind=\"password_spraying\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mailfort_login_attacks_total{listener=\"pop3\",kind=\"credential_stuffing\"} 1\n"),
            std::string::npos)
      << text;
}

// The runner's lines: local ones name a mailbox, remote ones a relay; a permanent failure is a bounce.
TEST(event_metrics, deliveries_and_bounces_by_transport) {
  registry r;
  standard_metrics m(r, "0.1.0");
  common::manual_clock clk;
  event_metrics ev(m, clk, nullptr, nullptr);
  ev.observe("delivered", nlohmann::json{{"rcpt", "a@x"}, {"mailbox", "x/a"}});
  ev.observe("delivered", nlohmann::json{{"rcpt", "b@y"}, {"relay", "mx.y[192.0.2.1]"}});
  ev.observe("deferred", nlohmann::json{{"rcpt", "b@y"}, {"relay", "mx.y[192.0.2.1]"}});
  ev.observe("delivery_failed", nlohmann::json{{"rcpt", "c@y"}, {"relay", "mx.y[192.0.2.1]"}, {"code", "5.1.1"}});
  ev.observe("delivery_failed", nlohmann::json{{"rcpt", "d@y"}, {"transport", "remote"}, {"expired", true}});
  ev.observe("delivery_failed", nlohmann::json{{"rcpt", "e@x"}, {"reason", "unsafe mailbox name"}});
  const std::string text = r.expose();
  EXPECT_NE(text.find("mailfort_messages_delivered_total{transport=\"maildir\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mailfort_messages_delivered_total{transport=\"remote\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mailfort_messages_deferred_total{transport=\"remote\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mailfort_messages_bounced_total{transport=\"remote\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mailfort_messages_bounced_total{transport=\"maildir\"} 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace mailfort::monitor
