// tests/unit/dkim/dkim_test_util.hpp: the shared unit-test helpers under dkim_test::, and the DKIM vectors' folder.
// SPDX-License-Identifier: MIT
#pragma once
#include "dns/records.hpp"
#include "dns/source.hpp"
#include "test_util.hpp"

#include <string>

namespace dkim_test {

inline const std::string conformance_dir = std::string(MAILFORT_CONFORMANCE_DIR) + "/dkim/";

using mailfort_test::read_file;
using mailfort_test::run;
using mailfort_test::txt_rdata;

}  // namespace dkim_test
