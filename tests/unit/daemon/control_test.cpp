// tests/unit/daemon/control_test.cpp: parse_control_request (daemon/control.hpp) takes one JSON object with a known
// verb and refuses everything else with a reason.
// SPDX-License-Identifier: MIT
#include "daemon/control.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailfort::daemon;

TEST(ControlRequest, KnownVerbs) {
  for (auto verb : k_control_verbs) {
    std::string err;
    auto r = parse_control_request(R"({"verb": ")" + std::string(verb) + R"("})", err);
    ASSERT_TRUE(r) << verb << ": " << err;
    EXPECT_EQ(r->verb, verb);
  }
}

TEST(ControlRequest, ArgumentsKept) {
  std::string err;
  auto r = parse_control_request(R"({"verb":"ban","source":"192.0.2.9","duration_s":60})", err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->args["source"], "192.0.2.9");
  EXPECT_EQ(r->args["duration_s"], 60);
}

TEST(ControlRequest, Refused) {
  for (std::string bad : {"", "garbage", "{", "[]", "\"status\"", "{}", R"({"verb": 1})", R"({"verb": "rm -rf"})",
                          R"({"verb": "STATUS"})", "{\"verb\":\"status\"} trailing"}) {
    std::string err;
    EXPECT_FALSE(parse_control_request(bad, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(ControlRequest, TooLong) {
  std::string err;
  std::string line = R"({"verb":"status","pad":")" + std::string(k_max_request, 'x') + "\"}";
  EXPECT_FALSE(parse_control_request(line, err));
  EXPECT_EQ(err, "request too long");
}
