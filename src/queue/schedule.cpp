// queue/schedule.cpp: retry schedule (see schedule.hpp).
// SPDX-License-Identifier: MIT
#include "queue/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace mailfort::queue {

std::int64_t retry_delay(std::uint32_t attempts, const retry_settings& s, double u01) {
  const std::int64_t lo = std::max<std::int64_t>(1, s.min_s);
  const std::int64_t hi = std::max(lo, s.max_s);
  std::uint32_t n = std::max<std::uint32_t>(1, attempts);
  std::int64_t base = lo;
  for (std::uint32_t i = 1; i < n && base < hi; ++i) base *= 2;  // no overflow: stops at hi
  base = std::min(base, hi);
  double u = std::isfinite(u01) ? std::clamp(u01, 0.0, 1.0) : 0.5;
  double j = std::clamp(s.jitter, 0.0, 0.9);
  double factor = 1.0 + j * (2.0 * u - 1.0);
  auto d = static_cast<std::int64_t>(std::llround(static_cast<double>(base) * factor));
  return std::max<std::int64_t>(1, d);
}

bool expired(std::int64_t received_at, std::int64_t now, const retry_settings& s) {
  return now >= received_at + s.lifetime_s;
}

std::int64_t next_attempt_at(std::int64_t now, std::uint32_t attempts, std::int64_t received_at,
                             const retry_settings& s, double u01) {
  std::int64_t at = now + retry_delay(attempts, s, u01);
  std::int64_t end = received_at + s.lifetime_s;
  return std::max(now + 1, std::min(at, end));
}

}  // namespace mailfort::queue
