// publish/sts_config.hpp: the MTA-STS policy input of a configuration, shared by the policy listener and
// `mailfort dns-records` so both derive the same body and id. Header only (config structs, no I/O).
// SPDX-License-Identifier: MIT
#pragma once
#include "config/config.hpp"
#include "publish/sts_policy.hpp"

namespace mailfort::publish {

inline sts_policy_input sts_input_of(const config::config& cfg) {
  sts_policy_input in;
  in.mode = cfg.mta_sts.mode;
  in.max_age = static_cast<std::uint32_t>(cfg.mta_sts.max_age);
  in.mx.push_back(cfg.hostname);
  for (const auto& m : cfg.mta_sts.mx) in.mx.push_back(m);
  return in;
}

}  // namespace mailfort::publish
