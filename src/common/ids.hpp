// common/ids.hpp: session and queue identifiers (random, fixed width, filesystem- and log-safe).
// SPDX-License-Identifier: MIT
#pragma once
#include <string>

namespace mailfort::common {

// 16 lowercase hex characters from a CSPRNG (OpenSMTPD-style session ids).
std::string new_session_id();

// Queue id: time-ordered and unique: 12 hex digits of microseconds since the epoch + 8 random hex digits.
// Sorting queue ids sorts by arrival. Only [0-9a-f] so it is safe as a file name.
std::string new_queue_id();

// True if s looks like a queue id we made (20 lowercase hex digits).
bool is_queue_id(const std::string& s);

}  // namespace mailfort::common
