// publish/sts_policy.cpp: the served MTA-STS policy and its content-derived id.
// SPDX-License-Identifier: MIT
#include "publish/sts_policy.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace mailfort::publish {
namespace {

std::string policy_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string sts_policy_body(const sts_policy_input& in) {
  std::string out = "version: STSv1\r\nmode: " + in.mode + "\r\n";
  std::vector<std::string> seen;
  for (const auto& m : in.mx) {
    std::string l = policy_lower(m);
    while (!l.empty() && l.back() == '.') l.pop_back();
    if (l.empty() || std::find(seen.begin(), seen.end(), l) != seen.end()) continue;
    seen.push_back(l);
    out += "mx: " + l + "\r\n";
  }
  out += "max_age: " + std::to_string(in.max_age) + "\r\n";
  return out;
}

std::string sts_policy_id(const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (unsigned i = 0; i < 16 && i < len; ++i) {
    id += hex[md[i] >> 4];
    id += hex[md[i] & 15];
  }
  return id;
}

}  // namespace mailfort::publish
