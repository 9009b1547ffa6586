// monitor/metrics.hpp: [pure] the metrics registry (counters, gauges, histograms) and its Prometheus text exposition.
// SPDX-License-Identifier: MIT
// Shape: families are registered once at startup (name, help, type, label names); a child is one label-value
// combination, looked up once and cached by the caller (lookup takes the family's mutex). Updating a child is a
// relaxed atomic operation, so the event loops (one per core) never take a lock on the hot path. A scrape reads
// the atomics without stopping writers: each value is exact, but two values of one scrape may be a few
// increments apart (histogram _count is computed from the buckets, so it always equals the +Inf bucket).
//
// Untrusted input: label values may come from the network (user names, rule names, cipher names). They are
// truncated to max_label_value_bytes, invalid UTF-8 and control bytes other than tab and newline are replaced
// by U+FFFD (Prometheus requires UTF-8; NUL and CR confuse scrapers and terminals), and
// expose() escapes \ " and newline, so a value can never forge a line or a label.
//
// Cardinality is bounded per family (max_children, default 10,000). Once a family holds that many children,
// a lookup of a new label combination returns the family's overflow child, whose every label value is
// "other" (a real child with all values "other" is the same child: no duplicate series). Per-user families
// (outbound messages per authenticated user) are the reason; family::overflowed() counts such lookups.
//
// Output: text format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), families sorted
// by name, children sorted by label values, checked by `promtool check metrics` in the unit tests.
// Not implemented: summaries, exemplars, OpenMetrics, timestamps on samples.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::monitor {

enum class metric_type { counter, gauge, histogram };
const char* to_string(metric_type t);

inline constexpr std::size_t default_max_children = 10000;
inline constexpr std::size_t max_label_value_bytes = 256;
inline constexpr std::string_view overflow_label_value = "other";

// A monotonically increasing count. alignas: children of one family are updated from different cores; keep each
// on its own cache line so they do not false-share.
class alignas(64) counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// A value that goes up and down (active connections, bans, seconds to certificate expiry).
class alignas(64) gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void inc(double d = 1.0) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  void dec(double d = 1.0) noexcept { v_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0.0};
};

// Fixed upper bounds (le), ascending; an implicit +Inf bucket follows. Counts are kept per bucket (not
// cumulative) so observe() touches one bucket; expose() accumulates.
class alignas(64) histogram {
 public:
  explicit histogram(const std::vector<double>& bounds);
  void observe(double v) noexcept;
  // Snapshot for tests and exposition: cumulative counts per bound, then +Inf (= count), and the sum.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0.0};
};

// Buckets for SMTP transaction latency in seconds: 1 ms .. 30 s.
std::vector<double> default_latency_buckets();

// A family: one metric name with a fixed set of label names; children by label values.
template <class Child>
class family {
 public:
  // The child for these label values (count must equal label_names().size(); throws std::invalid_argument
  // otherwise: that is a programming error, not bad input). Never returns null; the reference stays valid for
  // the registry's lifetime, so call sites cache it.
  Child& with(std::initializer_list<std::string_view> values);
  Child& with(const std::vector<std::string>& values);

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return labels_; }
  metric_type type() const noexcept;
  std::size_t size() const;  // children, the overflow child included
  std::uint64_t overflowed() const noexcept { return overflowed_.load(std::memory_order_relaxed); }

  // Visit children in label order (under the family mutex). Used by expose().
  void for_each(const std::function<void(const std::vector<std::string>&, const Child&)>& fn) const;

 private:
  friend class registry;
  family(std::string name, std::string help, std::vector<std::string> labels, std::size_t max_children,
         std::vector<double> bounds = {});
  Child& lookup(std::vector<std::string> key);
  std::unique_ptr<Child> make() const;

  std::string name_, help_;
  std::vector<std::string> labels_;
  std::size_t max_children_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
  bool has_overflow_child_ = false;
  std::atomic<std::uint64_t> overflowed_{0};
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

// One sample of a callback family: label values (same count as the family's label names) and a value.
struct sample {
  std::vector<std::string> label_values;
  double value = 0;
};

class registry {
 public:
  registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;
  ~registry();

  // Registration throws std::invalid_argument on an invalid or duplicate name, an invalid label name, a
  // counter not named *_total, a label named "le" on a histogram, or unsorted histogram bounds. Call at startup.
  counter_family& add_counter(std::string name, std::string help, std::vector<std::string> label_names = {},
                              std::size_t max_children = default_max_children);
  gauge_family& add_gauge(std::string name, std::string help, std::vector<std::string> label_names = {},
                          std::size_t max_children = default_max_children);
  histogram_family& add_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                  std::vector<double> bounds, std::size_t max_children = default_max_children);

  // Sampled at scrape time, on the scraping thread: fn must be thread-safe and quick (queue size, bans).
  // type is counter or gauge. At most max_children samples are written; extra or mis-labelled samples are
  // dropped. A throwing fn drops that family from this scrape only.
  void add_callback(const std::string& name, std::string help, metric_type type,
                    const std::vector<std::string>& label_names, std::function<std::vector<sample>()> fn,
                    std::size_t max_children = default_max_children);
  // Convenience: a label-less gauge.
  void add_callback_gauge(const std::string& name, std::string help, std::function<double()> fn);

  // The whole registry in Prometheus text format 0.0.4.
  std::string expose() const;

 private:
  struct entry;
  entry& reserve(const std::string& name, metric_type type, const std::vector<std::string>& labels);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<entry>> entries_;  // by name: sorted output
};

// Exposition helpers, public for tests.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
std::string format_value(double v);  // shortest round-trip form; +Inf, -Inf, NaN
// Truncate to max_label_value_bytes at a character boundary; replace invalid UTF-8 and control bytes (but tab and
// newline) with U+FFFD.
std::string sanitize_label_value(std::string_view v);
bool valid_metric_name(std::string_view n);
bool valid_label_name(std::string_view n);

}  // namespace mailfort::monitor
