// tests/unit/log/logger_test.cpp: the syslog (RFC 5424) form of a log line.
// SPDX-License-Identifier: MIT
#include "log/logger.hpp"

#include <gtest/gtest.h>

#include <regex>

using mailfort::log::format_syslog;
using mailfort::log::level;

namespace {
nlohmann::json line(nlohmann::json extra) {
  nlohmann::json j = {{"time", "2026-12-04T16:00:00.123Z"}, {"level", "warning"}, {"event", "reject"}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  return j;
}
}  // namespace

TEST(syslog, header_fields_follow_rfc5424) {
  auto s = format_syslog(level::warning, "reject", line({{"code", 550}, {"rule", "relay_denied"}}), "mx.example", 42);
  // PRI = facility mail (2) * 8 + warning (4) = 20; VERSION 1; TIMESTAMP; HOSTNAME; APP-NAME; PROCID; MSGID
  EXPECT_EQ(s.rfind("<20>1 2026-12-04T16:00:00.123Z mx.example mailfort 42 reject [mailfort@32473 ", 0), 0u) << s;
  EXPECT_NE(s.find(" code=\"550\""), std::string::npos) << s;
  EXPECT_NE(s.find(" rule=\"relay_denied\""), std::string::npos) << s;
  // MSG is the JSON line itself
  auto json_at = s.find("] {");
  ASSERT_NE(json_at, std::string::npos);
  auto j = nlohmann::json::parse(s.substr(json_at + 2));
  EXPECT_EQ(j["rule"], "relay_denied");
  EXPECT_EQ(s.find('\n'), std::string::npos);
}

TEST(syslog, severities) {
  EXPECT_EQ(format_syslog(level::info, "e", line({}), "h", 1).substr(0, 5), "<22>1");
  EXPECT_EQ(format_syslog(level::error, "e", line({}), "h", 1).substr(0, 5), "<19>1");
  EXPECT_EQ(format_syslog(level::debug, "e", line({}), "h", 1).substr(0, 5), "<23>1");
}

TEST(syslog, hostile_values_cannot_break_the_line_or_the_structured_data) {
  // A HELO name or address chosen by a client: quotes, backslashes, ']' and control characters.
  auto s = format_syslog(level::info, "connect",
                         line({{"helo", "a\"] [evil@1 x=\"y\r\nfake"}, {"bad key=]", "v"}, {"list", {1, 2}}}), "", 7);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.find('\r'), std::string::npos);
  EXPECT_NE(s.find(R"(helo="a\"\] [evil@1 x=\"y  fake")"), std::string::npos) << s;
  EXPECT_NE(s.find(" bad_key__=\"v\""), std::string::npos) << s;         // PARAM-NAME: no ' ', '=', ']'
  EXPECT_EQ(s.find(" list="), std::string::npos);                        // arrays stay in the JSON only
  EXPECT_NE(s.find("Z - mailfort 7 connect "), std::string::npos) << s;  // empty hostname is the NILVALUE
  // exactly one SD element: the only unescaped ']' closes it
  std::regex sd(R"(\[mailfort@32473( [^ =\]"]+="([^"\\\]]|\\.)*")*\] \{)");
  EXPECT_TRUE(std::regex_search(s, sd)) << s;
}
