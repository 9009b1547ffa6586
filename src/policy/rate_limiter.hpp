// policy/rate_limiter.hpp: [pure] token buckets keyed by a string (an IP prefix, a user), with an injected clock.
// SPDX-License-Identifier: MIT
// Each key may spend `capacity` tokens, refilled continuously at capacity per `window` (so "100 per
// hour" allows a burst of 100, then one every 36 s). Memory is bounded: at most `max_keys` buckets;
// when full, buckets that have refilled completely (they carry no information) are dropped first,
// and if none has, the request is allowed and not tracked rather than evicting live state.
// Not thread-safe: the owner (policy::guard) locks.
#pragma once
#include "common/clock.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace mailfort::policy {

class rate_limiter {
 public:
  rate_limiter(double capacity, std::chrono::seconds window, std::size_t max_keys = 100000);

  // Spend `cost` tokens for `key` at time `now`; false (nothing spent) if the bucket lacks them.
  bool allow(const std::string& key, common::time_point now, double cost = 1.0);
  // Tokens left for key at `now` (capacity for an unknown key).
  double available(const std::string& key, common::time_point now) const;
  double capacity() const { return capacity_; }
  std::size_t size() const { return buckets_.size(); }
  bool enabled() const { return capacity_ > 0; }

 private:
  struct bucket {
    double tokens;
    common::time_point last;
  };
  double refill(const bucket& b, common::time_point now) const;
  void prune(common::time_point now);
  double capacity_;
  double per_second_;
  std::size_t max_keys_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace mailfort::policy
