// address/settings.hpp: address::options from the configuration ([address], limits.recipients), one place for the
// server and the CLI (`alias add` shows what an alias resolves to, `config check` judges postmaster@).
// SPDX-License-Identifier: MIT
#pragma once
#include "address/resolve.hpp"
#include "config/config.hpp"

namespace mailfort::address {

inline options options_from(const config::config& cfg) {
  options o;
  o.delimiter = cfg.address.subaddress_delimiter;
  o.max_depth = cfg.address.max_alias_depth;
  o.max_targets = cfg.limits.recipients;
  o.postmaster = cfg.address.postmaster;
  return o;
}

}  // namespace mailfort::address
