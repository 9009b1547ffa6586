// address/srs_secret.hpp: the SRS key, <data_dir>/srs.secret: 32 random bytes (hex), made 0600 on first use.
// SPDX-License-Identifier: MIT
// Whoever reads it can forge bounces that mailfort relays, so a file readable by group or others is refused
// (std::runtime_error naming the fix), as is one that is not a regular file or too short.
#pragma once
#include <filesystem>
#include <string>

namespace mailfort::address {

std::string load_or_create_srs_secret(const std::filesystem::path& data_dir);

}  // namespace mailfort::address
