// outbound/setup.hpp: from the configuration ([outbound], [queue], relay.smarthost*) to the outbound transport
// and the queue runner's settings. Used by the daemon at start.
// SPDX-License-Identifier: MIT
#pragma once
#include "config/config.hpp"
#include "dns/resolver.hpp"
#include "outbound/transport.hpp"
#include "queue/runner.hpp"

#include <functional>
#include <memory>

namespace mailfort::outbound {

// Reads relay.smarthost_password_file (so do it before dropping privileges). Throws std::runtime_error
// with a clear message when a setting cannot be used (unreadable password file, bad source address).
engine_settings engine_settings_from(const config::config& cfg);
queue::runner_settings runner_settings_from(const config::config& cfg);
// customize: sets the engine's hooks (TLS-RPT counting, the durable MTA-STS cache) before the engine starts.
std::unique_ptr<transport> make_transport(const config::config& cfg, dns::resolver_options ropts,
                                          const std::function<void(engine_settings&)>& customize = {});

}  // namespace mailfort::outbound
