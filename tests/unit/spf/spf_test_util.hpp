// tests/unit/spf/spf_test_util.hpp: the shared unit-test helpers under spf_test::, and ip() for test addresses.
// SPDX-License-Identifier: MIT
#pragma once
#include "auth/spf.hpp"
#include "dns/records.hpp"
#include "dns/source.hpp"
#include "test_util.hpp"

#include <arpa/inet.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spf_test {

using mailfort_test::a_rdata;
using mailfort_test::aaaa_rdata;
using mailfort_test::mx_rdata;
using mailfort_test::name_rdata;
using mailfort_test::run;
using mailfort_test::txt_rdata;

inline mailfort::auth::spf::ip_address ip(std::string_view s) {
  auto r = mailfort::auth::spf::parse_ip(s);
  if (!r) throw std::runtime_error("bad ip " + std::string(s));
  return *r;
}

}  // namespace spf_test
