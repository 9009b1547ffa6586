// fuzz/mta_sts_policy_fuzzer.cpp: MTA-STS policy body, TXT record, media type, domain normalisation, MX
// pattern matching and the discovery decision on arbitrary bytes.
// SPDX-License-Identifier: MIT
// Invariants: a parsed policy has max_age <= 31557600, at most 1024 mx patterns, none empty, and at least one
// unless mode is none; a parsed record id is 1..32 ALPHA/DIGIT; normalisation is idempotent and a
// normalised domain matches itself as an mx pattern (and its "*." form matches one more label);
// sts_discover() with a valid fetched policy returns exactly what parse_sts_policy() returned.
#include "outbound/mta_sts.hpp"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mailfort::outbound;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto policy = parse_sts_policy(in);
  if (policy) {
    if (policy->max_age > sts_max_age_limit) std::abort();
    if (policy->mx.size() > sts_max_mx) std::abort();
    if (policy->mode != sts_mode::none && policy->mx.empty()) std::abort();
    for (const auto& m : policy->mx)
      if (m.empty()) std::abort();
  }

  if (auto rec = parse_sts_record(in)) {
    if (rec->id.empty() || rec->id.size() > 32) std::abort();
    for (char c : rec->id)
      if (!std::isalnum(static_cast<unsigned char>(c))) std::abort();
  }
  (void)sts_content_type_ok(in);

  // Host and pattern: split at the first NUL (or newline) byte.
  auto cut = in.find_first_of(std::string_view("\0\n", 2));
  std::string_view host = in.substr(0, cut);
  std::string_view pattern = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);
  (void)mx_matches(host, pattern);
  if (auto d = sts_normalize_domain(host)) {
    auto again = sts_normalize_domain(*d);
    if (!again || *again != *d) std::abort();
    if (!mx_matches(host, *d) || !mx_matches(*d, host)) std::abort();
    if (!mx_matches("x." + *d, "*." + *d)) std::abort();
    if (mx_matches(*d, "*." + *d)) std::abort();
  }

  // Discovery with this body as the fetched policy.
  sts_discovery_input di;
  di.domain = "example.com";
  di.txt = sts_txt_answer{sts_txt_answer::kind::records, {"v=STSv1; id=1"}};
  di.https = sts_https_response{};
  di.https->certificate_valid = true;
  di.https->status = 200;
  di.https->content_type = "text/plain";
  di.https->body = std::string(in);
  auto r = sts_discover(di);
  if (policy) {
    if (r.status != sts_status::valid || !r.policy || !(*r.policy == *policy)) std::abort();
  } else if (r.status != sts_status::fetch_error) {
    std::abort();
  }
  return 0;
}
