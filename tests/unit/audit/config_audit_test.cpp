// tests/unit/audit/config_audit_test.cpp: `audit config` maps config::check_security findings onto the report.
// SPDX-License-Identifier: MIT
#include "audit/config_audit.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace mailfort;
using namespace mailfort::audit;

TEST(audit_config, defaults_have_no_high_findings) {
  auto rep = config_report(config::load_result{}, "");
  EXPECT_FALSE(rep.could_not_run);
  EXPECT_EQ(rep.target, "(defaults)");
  EXPECT_EQ(count_at_or_above(rep, severity::high), 0u);
  EXPECT_EQ(exit_code(rep, severity::high), 0);
}

TEST(audit_config, open_relay_is_found_with_its_line) {
  auto loaded = config::load_string("[relay]\ntrusted_networks = [\"0.0.0.0/0\"]\n", "bad.toml");
  ASSERT_TRUE(loaded.ok());
  auto rep = config_report(loaded, "bad.toml");
  auto it = std::find_if(rep.findings.begin(), rep.findings.end(),
                         [](const finding& f) { return f.id == "config.relay.trusted_networks"; });
  ASSERT_NE(it, rep.findings.end());
  EXPECT_GE(it->sev, severity::high);
  EXPECT_EQ(it->subject, "bad.toml:2");
  EXPECT_EQ(it->area, control_area::config);
  EXPECT_EQ(exit_code(rep, severity::high), 1);
}

TEST(audit_config, file_errors_cannot_run) {
  auto loaded = config::load_string("nonsense_key = 1\n", "broken.toml");
  auto rep = config_report(loaded, "broken.toml");
  EXPECT_TRUE(rep.could_not_run);
  EXPECT_EQ(exit_code(rep, severity::critical), 2);
}
