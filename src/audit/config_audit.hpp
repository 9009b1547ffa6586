// audit/config_audit.hpp: `mailfort audit config [FILE]`: the findings of `mailfort config check` as a report.
// SPDX-License-Identifier: MIT
// The rules live in one place, config::check_security (src/config/): this only maps its diagnostics onto the
// audit model, so `config check` and `audit config` can never disagree.
#pragma once
#include "audit/report.hpp"
#include "config/config.hpp"

#include <string>

namespace mailfort::audit {

// From an already loaded config (file errors make the report "could not run").
report config_report(const config::load_result& loaded, const std::string& target);
// Loads FILE ("" = the embedded defaults) and judges it.
report run_config_audit(const std::string& file);

}  // namespace mailfort::audit
