// tests/unit/publish/sts_policy_test.cpp: the served MTA-STS policy body and its content-derived id.
// SPDX-License-Identifier: MIT
#include "publish/sts_policy.hpp"

#include <gtest/gtest.h>

using namespace mailfort::publish;

TEST(sts_policy, body_lists_mx_once_in_lower_case_with_crlf) {
  sts_policy_input in;
  in.mode = "enforce";
  in.mx = {"MX.Example.org.", "mx.example.org", "*.example.net"};
  in.max_age = 86400;
  EXPECT_EQ(sts_policy_body(in),
            "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmx: *.example.net\r\nmax_age: 86400\r\n");
}

TEST(sts_policy, id_is_32_hex_digits_and_follows_the_content) {
  sts_policy_input a;
  a.mx = {"mx.example.org"};
  auto b = a;
  b.mode = "enforce";
  const auto ida = sts_policy_id(sts_policy_body(a));
  EXPECT_EQ(ida.size(), 32u);
  EXPECT_EQ(ida.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(ida, sts_policy_id(sts_policy_body(a)));  // stable
  EXPECT_NE(ida, sts_policy_id(sts_policy_body(b)));  // mode change -> new id
  b = a;
  b.max_age = 60;
  EXPECT_NE(ida, sts_policy_id(sts_policy_body(b)));
}
