// publish/sts_policy.hpp: [pure] the MTA-STS policy mailfort serves for its domains (RFC 8461 3.2) and its id.
// SPDX-License-Identifier: MIT
// The policy body is made from config alone (mode, max_age, the hostname and [mta_sts] mx), so the listener and
// `mailfort dns-records` produce the same bytes and the same id. The id (RFC 8461 3.1: 1..32 ALPHA/DIGIT) is the
// first 16 bytes of the SHA-256 of the body in hex: it changes whenever the policy changes, and two processes
// never disagree about it (no counter or date kept anywhere).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mailfort::publish {

struct sts_policy_input {
  std::string mode = "testing";  // testing | enforce | none
  std::vector<std::string> mx;   // patterns, in order; duplicates (case-insensitive) are dropped
  std::uint32_t max_age = 604800;
};

// "version: STSv1\r\nmode: testing\r\nmx: mx.example.org\r\nmax_age: 604800\r\n" (CRLF, as RFC 8461 3.2 shows).
std::string sts_policy_body(const sts_policy_input& in);
// 32 lower-case hex digits.
std::string sts_policy_id(const std::string& body);

}  // namespace mailfort::publish
