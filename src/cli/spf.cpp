// cli/spf.cpp: the `mailfort spf` verbs (being written; registers nothing yet).
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"

namespace mailfort::cli {

void register_spf(CLI::App& /*app*/, common_options& /*opts*/, int& /*exit_code*/) {}

}  // namespace mailfort::cli
