// tests/unit/dmarc/dmarc_test_util.hpp: the shared unit-test helpers under dmarc_test::, and a recording DNS source.
// SPDX-License-Identifier: MIT
#pragma once
#include "dns/records.hpp"
#include "dns/source.hpp"
#include "test_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace dmarc_test {

inline const std::string conformance_dir = std::string(MAILFORT_CONFORMANCE_DIR) + "/dmarc/";

using mailfort_test::a_rdata;
using mailfort_test::run;
using mailfort_test::txt_rdata;

// "10 mx.example.com", as the DMARC vectors write an MX record.
inline std::string mx_rdata(const std::string& text) {
  const auto sp = text.find(' ');
  return mailfort_test::mx_rdata(std::stoi(text.substr(0, sp)), text.substr(sp + 1));
}

// Answers from a static_source, records every lookup, and can fail every query (servfail).
class recording_source final : public mailfort::dns::source {
 public:
  mailfort::dns::static_source table;
  bool fail_all = false;
  std::vector<std::pair<std::string, int>> seen;

  boost::asio::awaitable<mailfort::dns::lookup_result> lookup(std::string name, int rrtype) override {
    seen.emplace_back(name, rrtype);
    if (fail_all) {
      mailfort::dns::lookup_result r;
      r.st = mailfort::dns::status::servfail;
      r.error = "test: every query fails";
      co_return r;
    }
    co_return co_await table.lookup(std::move(name), rrtype);
  }

  std::vector<std::string> txt_queries() const {
    std::vector<std::string> out;
    for (const auto& [n, t] : seen)
      if (t == mailfort::dns::rr_type::txt) out.push_back(n);
    return out;
  }
};

}  // namespace dmarc_test
