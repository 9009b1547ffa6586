// common/clock.hpp: an injectable clock, so limiters and expiry logic are testable without sleeping.
// SPDX-License-Identifier: MIT
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace mailfort::common {

using time_point = std::chrono::system_clock::time_point;

class clock {
 public:
  virtual ~clock() = default;
  virtual time_point now() const = 0;
};

class system_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
};

// Test clock: time moves only when told to.
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{std::chrono::seconds{1700000000}}) : now_(start) {}
  time_point now() const override { return now_; }
  void advance(std::chrono::nanoseconds d) { now_ += std::chrono::duration_cast<time_point::duration>(d); }

 private:
  time_point now_;
};

inline std::int64_t unix_seconds(time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
// Now, in whole unix seconds (the system clock): queue envelopes, schedules, report days, DKIM timestamps.
inline std::int64_t unix_now() { return unix_seconds(std::chrono::system_clock::now()); }

// "2026-12-04T17:00:00Z" (RFC 3339, UTC, whole seconds): the one spelling of a time in reports and CLI output.
inline std::string utc_text(std::int64_t unix_secs) {
  char buf[32];
  const std::time_t tt = static_cast<std::time_t>(unix_secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "2026-12-04": the UTC day of a unix time (report stores key their rows by it), and back to that day's first
// second (-1 when the text is not such a day).
inline std::string utc_day(std::int64_t unix_secs) {
  const std::time_t tt = static_cast<std::time_t>(unix_secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}
inline std::int64_t utc_day_start(const std::string& day) {
  std::tm tm{};
  if (day.size() != 10 || !strptime(day.c_str(), "%Y-%m-%d", &tm)) return -1;
  return static_cast<std::int64_t>(timegm(&tm));
}

// "Fri, 04 Dec 2026 16:31:00 +0000" (RFC 5322 3.3, UTC): Date: headers, the Received: stamp, DSN dates. Day
// and month names are written here, not by strftime, so no locale can change them.
inline std::string rfc5322_date(std::int64_t unix_secs) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t tt = static_cast<std::time_t>(unix_secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
                months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace mailfort::common
