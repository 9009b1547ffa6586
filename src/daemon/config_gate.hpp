// daemon/config_gate.hpp: `mailfort serve` runs the checks of `mailfort config check` at start and on SIGHUP, and
// refuses a configuration with a critical finding (config::blocks_serve) unless --allow-insecure was given.
// SPDX-License-Identifier: MIT
#pragma once
#include "config/config.hpp"

#include <string_view>
#include <vector>

namespace mailfort::daemon {

// Logs the verdict on `findings` (config::check_security) for `when` ("start" or "reload"): each high finding as
// config_finding (warning); critical ones either as config_refused (error; returns false: do not run this
// configuration) or, with allow_insecure, as insecure_override (error, loud; returns true).
bool admit_config(const std::vector<config::diagnostic>& findings, bool allow_insecure, std::string_view when);

// On SIGHUP: rereads the file the running configuration came from (nothing to reread for the embedded
// defaults) and judges it like admit_config. False (logged as config_refused) when the file now has errors or a
// critical finding: the caller then keeps everything as it runs, certificate included.
bool admit_reload(const config::config& running, bool allow_insecure);

}  // namespace mailfort::daemon
