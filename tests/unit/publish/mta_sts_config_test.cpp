// tests/unit/publish/mta_sts_config_test.cpp: the [mta_sts] section: defaults, values, errors with file:line, and
// the policy input derived from it (the listener and `dns-records` share it).
// SPDX-License-Identifier: MIT
#include "config/config.hpp"
#include "publish/sts_config.hpp"

#include <gtest/gtest.h>

using namespace mailfort;

TEST(mta_sts_config, defaults_serve_a_testing_policy_on_loopback) {
  config::config c;
  EXPECT_EQ(c.mta_sts.listen, "127.0.0.1:2443");
  EXPECT_EQ(c.mta_sts.mode, "testing");
  EXPECT_EQ(c.mta_sts.max_age, 604800);
  c.hostname = "mx.example.org";
  auto in = publish::sts_input_of(c);
  EXPECT_EQ(publish::sts_policy_body(in),
            "version: STSv1\r\nmode: testing\r\nmx: mx.example.org\r\nmax_age: 604800\r\n");
}

TEST(mta_sts_config, values_and_errors) {
  auto r = config::load_string(
      "hostname = \"mx.example.org\"\n[mta_sts]\nlisten = \"[::1]:8443\"\nmode = \"enforce\"\nmax_age = 86400\n"
      "mx = [\"backup.example.org\"]\n",
      "t.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.mta_sts.listen, "[::1]:8443");
  EXPECT_EQ(publish::sts_input_of(r.cfg).mx, (std::vector<std::string>{"mx.example.org", "backup.example.org"}));
  for (const char* bad :
       {"[mta_sts]\nmode = \"strict\"\n", "[mta_sts]\nmax_age = 31557601\n", "[mta_sts]\nlisten = \"0.0.0.0\"\n",
        "[mta_sts]\nmx = [\"a b\"]\n", "[mta_sts]\nport = 1\n"}) {
    auto b = config::load_string(bad, "t.toml");
    EXPECT_FALSE(b.ok()) << bad;
    bool has_line = false;
    for (const auto& d : b.diagnostics) has_line |= d.line > 0;
    EXPECT_TRUE(has_line) << bad;
  }
  EXPECT_TRUE(config::load_string("[mta_sts]\nlisten = \"\"\n", "t.toml").ok());
}
