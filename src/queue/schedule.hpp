// queue/schedule.hpp: [pure] when to try a deferred message again: exponential backoff with jitter, queue lifetime.
// SPDX-License-Identifier: MIT
// After the n-th failed attempt the next one is due retry_min * 2^(n-1) later, capped at retry_max, spread
// by +-jitter (uniform) so that mail deferred together (one peer down) does not come back in one burst.
// Never later than the end of the message's lifetime: the last attempt happens at expiry, then the
// remaining recipients fail ("5.4.7 delivery time expired") and the sender gets a DSN. Postfix uses the
// same shape (minimal_backoff_time 300 s doubling to maximal_backoff_time 4000 s, maximal_queue_lifetime 5 d).
#pragma once
#include <cstdint>

namespace mailfort::queue {

struct retry_settings {
  std::int64_t min_s = 300;             // first retry after 5 minutes
  std::int64_t max_s = 4 * 3600;        // doubling up to 4 hours
  std::int64_t lifetime_s = 5 * 86400;  // then give up after 5 days in the queue
  double jitter = 0.2;                  // +-20 %
};

// Delay in seconds after `attempts` failed attempts (attempts >= 1; 0 is treated as 1). u01 is a uniform
// random number in [0, 1) (0.5 = no jitter). Always >= 1 s.
std::int64_t retry_delay(std::uint32_t attempts, const retry_settings& s, double u01);

// Has the message outlived its queue lifetime at `now`?
bool expired(std::int64_t received_at, std::int64_t now, const retry_settings& s);

// Unix time of the next attempt: now + retry_delay, but not after the expiry time (and not before now + 1).
std::int64_t next_attempt_at(std::int64_t now, std::uint32_t attempts, std::int64_t received_at,
                             const retry_settings& s, double u01);

}  // namespace mailfort::queue
