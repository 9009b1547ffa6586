// cli/dkim.cpp: the `mailfort dkim` verbs (being written; registers nothing yet).
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"

namespace mailfort::cli {

void register_dkim(CLI::App& /*app*/, common_options& /*opts*/, int& /*exit_code*/) {}

}  // namespace mailfort::cli
