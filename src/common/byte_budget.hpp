// common/byte_budget.hpp: a global budget of bytes (limits.inflight_bytes: message content received and not
// yet queued, on disk under queue/tmp/). Lock-free; shared by every event loop.
// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

namespace mailfort::common {

class byte_budget {
 public:
  explicit byte_budget(std::uint64_t limit) : limit_(limit) {}
  // Takes n bytes if they fit; false (nothing taken) otherwise.
  bool try_take(std::uint64_t n) {
    std::uint64_t cur = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ || cur > limit_ - n) return false;
    } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    return true;
  }
  void give_back(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  // Would n more bytes (at least one) fit now?
  bool room_for(std::uint64_t n) const {
    n = std::max<std::uint64_t>(n, 1);
    const std::uint64_t cur = used_.load(std::memory_order_relaxed);
    return n <= limit_ && cur <= limit_ - n;
  }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const { return limit_; }

 private:
  std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
};

}  // namespace mailfort::common
