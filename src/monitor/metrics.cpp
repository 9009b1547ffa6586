// monitor/metrics.cpp: registry, families, children and the Prometheus text exposition.
// SPDX-License-Identifier: MIT
#include "monitor/metrics.hpp"

#include "common/utf8.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace mailfort::monitor {

const char* to_string(metric_type t) {
  switch (t) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

// ---- exposition helpers -----------------------------------------------------------------------

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// HELP text escapes only backslash and newline (a quote is literal there).
std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc{}) return "NaN";  // cannot happen with 64 bytes; keep the output well-formed anyway
  return std::string(buf, end);
}

namespace {

std::string format_uint(std::uint64_t v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, end);
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is invalid (overlong, surrogate, > U+10FFFF, cut).
std::size_t utf8_sequence(std::string_view s, std::size_t i) { return common::utf8_decode(s, i).len; }

}  // namespace

std::string sanitize_label_value(std::string_view v) {
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(std::min(v.size(), max_label_value_bytes));
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t n = utf8_sequence(v, i);
    // Control bytes other than tab and newline (newline is escaped) are replaced too: a NUL or CR inside a label
    // value is legal UTF-8 but trips scrapers, terminals and log viewers.
    if (n == 1 && ((v[i] >= 0 && v[i] < 0x20 && v[i] != '\t' && v[i] != '\n') || v[i] == 0x7F)) n = 0;
    std::string_view piece = n ? v.substr(i, n) : replacement;
    if (out.size() + piece.size() > max_label_value_bytes) break;
    out += piece;
    i += n ? n : 1;
  }
  return out;
}

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  if (n.empty() || n.substr(0, 2) == "__") return false;  // "__" is reserved for Prometheus itself
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// ---- histogram --------------------------------------------------------------------------------

histogram::histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  // le is inclusive: v == bound lands in that bound's bucket. NaN sorts past every bound, into +Inf.
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  auto idx = static_cast<std::size_t>(it - bounds_.begin());
  buckets_[idx].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

std::uint64_t histogram::count() const { return cumulative().back(); }

std::vector<double> default_latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// ---- family -----------------------------------------------------------------------------------

template <class Child>
family<Child>::family(std::string name, std::string help, std::vector<std::string> labels, std::size_t max_children,
                      std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      max_children_(std::max<std::size_t>(max_children, 1)),
      bounds_(std::move(bounds)) {}

template <class Child>
metric_type family<Child>::type() const noexcept {
  if constexpr (std::is_same_v<Child, counter>)
    return metric_type::counter;
  else if constexpr (std::is_same_v<Child, gauge>)
    return metric_type::gauge;
  else
    return metric_type::histogram;
}

template <class Child>
std::unique_ptr<Child> family<Child>::make() const {
  if constexpr (std::is_same_v<Child, histogram>)
    return std::make_unique<histogram>(bounds_);
  else
    return std::make_unique<Child>();
}

template <class Child>
Child& family<Child>::with(std::initializer_list<std::string_view> values) {
  if (values.size() != labels_.size())
    throw std::invalid_argument("metric " + name_ + ": " + std::to_string(values.size()) + " label values for " +
                                std::to_string(labels_.size()) + " labels");
  std::vector<std::string> key;
  key.reserve(values.size());
  for (auto v : values) key.push_back(sanitize_label_value(v));
  return lookup(std::move(key));
}

template <class Child>
Child& family<Child>::with(const std::vector<std::string>& values) {
  if (values.size() != labels_.size())
    throw std::invalid_argument("metric " + name_ + ": " + std::to_string(values.size()) + " label values for " +
                                std::to_string(labels_.size()) + " labels");
  std::vector<std::string> key;
  key.reserve(values.size());
  for (const auto& v : values) key.push_back(sanitize_label_value(v));
  return lookup(std::move(key));
}

template <class Child>
Child& family<Child>::lookup(std::vector<std::string> key) {
  std::lock_guard lk(mu_);
  if (auto it = children_.find(key); it != children_.end()) return *it->second;
  // The overflow child does not count against the cap, so a full family still has somewhere to count.
  std::size_t real = children_.size() - (has_overflow_child_ ? 1 : 0);
  if (real >= max_children_ && !labels_.empty()) {
    overflowed_.fetch_add(1, std::memory_order_relaxed);
    std::vector<std::string> other(labels_.size(), std::string(overflow_label_value));
    auto& slot = children_[std::move(other)];
    if (!slot) slot = make();
    has_overflow_child_ = true;
    return *slot;
  }
  bool is_overflow_key = !labels_.empty() && std::all_of(key.begin(), key.end(), [](const std::string& v) {
    return v == overflow_label_value;
  });
  auto& slot = children_[std::move(key)];
  slot = make();
  if (is_overflow_key) has_overflow_child_ = true;
  return *slot;
}

template <class Child>
std::size_t family<Child>::size() const {
  std::lock_guard lk(mu_);
  return children_.size();
}

template <class Child>
void family<Child>::for_each(const std::function<void(const std::vector<std::string>&, const Child&)>& fn) const {
  std::lock_guard lk(mu_);
  for (const auto& [k, c] : children_) fn(k, *c);
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// ---- registry ---------------------------------------------------------------------------------

struct registry::entry {
  std::string name, help;
  metric_type type = metric_type::gauge;
  std::vector<std::string> labels;
  std::unique_ptr<counter_family> counters;
  std::unique_ptr<gauge_family> gauges;
  std::unique_ptr<histogram_family> histograms;
  std::function<std::vector<sample>()> callback;
  std::size_t max_children = default_max_children;
};

registry::registry() = default;
registry::~registry() = default;

registry::entry& registry::reserve(const std::string& name, metric_type type, const std::vector<std::string>& labels) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  if (type == metric_type::counter && (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0))
    throw std::invalid_argument("counter '" + name + "' must be named *_total");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!valid_label_name(labels[i]))
      throw std::invalid_argument("metric " + name + ": invalid label '" + labels[i] + "'");
    if (type == metric_type::histogram && labels[i] == "le")
      throw std::invalid_argument("histogram " + name + ": label 'le' is reserved");
    for (std::size_t j = 0; j < i; ++j)
      if (labels[j] == labels[i])
        throw std::invalid_argument("metric " + name + ": duplicate label '" + labels[i] + "'");
  }
  // A histogram's series names (_bucket, _sum, _count) must not collide with another family either.
  auto clash = [&](const std::string& n) {
    if (entries_.count(n)) return true;
    for (const auto& [other, e] : entries_) {
      if (e->type != metric_type::histogram) continue;
      if (n == other + "_bucket" || n == other + "_sum" || n == other + "_count") return true;
    }
    if (type == metric_type::histogram)
      for (const char* s : {"_bucket", "_sum", "_count"})
        if (entries_.count(n + s)) return true;
    return false;
  };
  if (clash(name)) throw std::invalid_argument("metric '" + name + "' registered twice");
  auto e = std::make_unique<entry>();
  e->name = name;
  e->type = type;
  e->labels = labels;
  auto& ref = *e;
  entries_.emplace(name, std::move(e));
  return ref;
}

counter_family& registry::add_counter(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::size_t max_children) {
  std::lock_guard lk(mu_);
  auto& e = reserve(name, metric_type::counter, label_names);
  e.help = help;
  e.counters.reset(new counter_family(std::move(name), std::move(help), std::move(label_names), max_children));
  return *e.counters;
}

gauge_family& registry::add_gauge(std::string name, std::string help, std::vector<std::string> label_names,
                                  std::size_t max_children) {
  std::lock_guard lk(mu_);
  auto& e = reserve(name, metric_type::gauge, label_names);
  e.help = help;
  e.gauges.reset(new gauge_family(std::move(name), std::move(help), std::move(label_names), max_children));
  return *e.gauges;
}

histogram_family& registry::add_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                          std::vector<double> bounds, std::size_t max_children) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) throw std::invalid_argument("histogram " + name + ": bounds must be finite");
    if (i > 0 && !(bounds[i - 1] < bounds[i]))
      throw std::invalid_argument("histogram " + name + ": bounds must be strictly ascending");
  }
  std::lock_guard lk(mu_);
  auto& e = reserve(name, metric_type::histogram, label_names);
  e.help = help;
  e.histograms.reset(
      new histogram_family(std::move(name), std::move(help), std::move(label_names), max_children, std::move(bounds)));
  return *e.histograms;
}

void registry::add_callback(const std::string& name, std::string help, metric_type type,
                            const std::vector<std::string>& label_names, std::function<std::vector<sample>()> fn,
                            std::size_t max_children) {
  if (type == metric_type::histogram) throw std::invalid_argument("callback " + name + ": counter or gauge only");
  if (!fn) throw std::invalid_argument("callback " + name + ": empty function");
  std::lock_guard lk(mu_);
  auto& e = reserve(name, type, label_names);
  e.help = std::move(help);
  e.callback = std::move(fn);
  e.max_children = max_children;
}

void registry::add_callback_gauge(const std::string& name, std::string help, std::function<double()> fn) {
  if (!fn) throw std::invalid_argument("callback " + name + ": empty function");
  add_callback(name, std::move(help), metric_type::gauge, {}, [f = std::move(fn)] {
    return std::vector<sample>{sample{{}, f()}};
  });
}

namespace {

// `name{a="x",b="y"`, without the closing brace, so histograms can append le.
void write_labels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void write_header(std::string& out, const std::string& name, const std::string& help, metric_type t) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escape_help(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += to_string(t);
  out += '\n';
}

}  // namespace

std::string registry::expose() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (const auto& kv : entries_) {
    // Plain references, not structured bindings: the lambdas below capture them (clang < 16 cannot).
    const std::string& name = kv.first;
    const entry* e = kv.second.get();
    if (e->callback) {
      // Sample first: a throwing callback must not leave a HELP/TYPE header without samples.
      std::vector<sample> samples;
      try {
        samples = e->callback();
      } catch (...) {
        continue;
      }
      // Sanitize, drop mislabelled samples, de-duplicate (two equal label sets would be an invalid exposition),
      // and cap the count.
      std::map<std::vector<std::string>, double> rows;
      for (auto& s : samples) {
        if (s.label_values.size() != e->labels.size()) continue;
        if (rows.size() >= e->max_children) break;
        std::vector<std::string> key;
        key.reserve(s.label_values.size());
        for (const auto& v : s.label_values) key.push_back(sanitize_label_value(v));
        rows.emplace(std::move(key), s.value);
      }
      write_header(out, name, e->help, e->type);
      for (const auto& [k, v] : rows) {
        out += name;
        write_labels(out, e->labels, k);
        out += ' ';
        out += format_value(v);
        out += '\n';
      }
      continue;
    }
    write_header(out, name, e->help, e->type);
    if (e->counters) {
      e->counters->for_each([&](const std::vector<std::string>& k, const counter& c) {
        out += name;
        write_labels(out, e->labels, k);
        out += ' ';
        out += format_uint(c.value());
        out += '\n';
      });
    } else if (e->gauges) {
      e->gauges->for_each([&](const std::vector<std::string>& k, const gauge& g) {
        out += name;
        write_labels(out, e->labels, k);
        out += ' ';
        out += format_value(g.value());
        out += '\n';
      });
    } else if (e->histograms) {
      e->histograms->for_each([&](const std::vector<std::string>& k, const histogram& h) {
        // Read the sum before the buckets: a concurrent observe() then shows up in the buckets first, never in
        // the sum alone.
        double sum = h.sum();
        auto cum = h.cumulative();
        const auto& b = h.bounds();
        for (std::size_t i = 0; i <= b.size(); ++i) {
          out += name;
          out += "_bucket";
          write_labels(out, e->labels, k, "le", i < b.size() ? format_value(b[i]) : std::string("+Inf"));
          out += ' ';
          out += format_uint(cum[i]);
          out += '\n';
        }
        out += name;
        out += "_sum";
        write_labels(out, e->labels, k);
        out += ' ';
        out += format_value(sum);
        out += '\n';
        out += name;
        out += "_count";
        write_labels(out, e->labels, k);
        out += ' ';
        out += format_uint(cum.back());
        out += '\n';
      });
    }
  }
  return out;
}

}  // namespace mailfort::monitor
