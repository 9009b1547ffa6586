// main.cpp: argv -> cli::run(); nothing else.
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"

int main(int argc, char** argv) { return mailfort::cli::run(argc, argv); }
