// daemon/daemon.hpp: wires the modules together and runs `mailfort serve` until SIGTERM/SIGINT.
// SPDX-License-Identifier: MIT
#pragma once
#include "common/clock.hpp"
#include "config/config.hpp"
#include "dns/resolver.hpp"

#include <memory>

namespace mailfort::policy {
class guard;
}

namespace mailfort::daemon {

// Returns the process exit code: 0 after a clean stop, 1 when startup failed (logged). The caller has already
// judged cfg (admit_config in daemon/config_gate.hpp); allow_insecure is for the same judgement on SIGHUP.
int run(const config::config& cfg, bool allow_insecure = false);

// The resolver settings of a config ([dns]); the CLI adds --dns-server on top.
dns::resolver_options resolver_options(const config::config& cfg);

// The policy guard for this config (also used by `mailfort ban`).
std::unique_ptr<policy::guard> make_guard(const config::config& cfg, const common::clock& clock);

}  // namespace mailfort::daemon
