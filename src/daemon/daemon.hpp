// daemon/daemon.hpp: wires the modules together and runs `mailfort serve` until SIGTERM/SIGINT.
// SPDX-License-Identifier: MIT
#pragma once
#include "config/config.hpp"

namespace mailfort::daemon {

// Returns the process exit code: 0 after a clean stop, 1 when startup failed (logged).
int run(const config::config& cfg);

}  // namespace mailfort::daemon
