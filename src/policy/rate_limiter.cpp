// policy/rate_limiter.cpp: token buckets (see rate_limiter.hpp).
// SPDX-License-Identifier: MIT
#include "policy/rate_limiter.hpp"

#include <algorithm>

namespace mailfort::policy {

rate_limiter::rate_limiter(double capacity, std::chrono::seconds window, std::size_t max_keys)
    : capacity_(capacity),
      per_second_(window.count() > 0 ? capacity / static_cast<double>(window.count()) : capacity),
      max_keys_(max_keys) {}

double rate_limiter::refill(const bucket& b, common::time_point now) const {
  double secs = std::chrono::duration<double>(now - b.last).count();
  if (secs < 0) secs = 0;  // clock stepped back: never mint tokens from it
  return std::min(capacity_, b.tokens + secs * per_second_);
}

void rate_limiter::prune(common::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refill(it->second, now) >= capacity_)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

bool rate_limiter::allow(const std::string& key, common::time_point now, double cost) {
  if (capacity_ <= 0) return true;  // limit disabled
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      prune(now);
      if (buckets_.size() >= max_keys_) return true;
    }
    it = buckets_.emplace(key, bucket{capacity_, now}).first;
  }
  double t = refill(it->second, now);
  it->second.last = std::max(it->second.last, now);
  if (t < cost) {
    it->second.tokens = t;
    return false;
  }
  it->second.tokens = t - cost;
  return true;
}

double rate_limiter::available(const std::string& key, common::time_point now) const {
  auto it = buckets_.find(key);
  return it == buckets_.end() ? capacity_ : refill(it->second, now);
}

}  // namespace mailfort::policy
