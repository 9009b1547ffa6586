// outbound/sts_cache_store.hpp: MTA-STS policies (RFC 8461 5.1 cache) kept in state.db, table mta_sts_policies,
// so an enforce policy survives a restart: with the policy host down (or an attacker blocking it) after a
// restart, mail still never goes out in plaintext to such a domain until the policy's max_age has passed.
// SPDX-License-Identifier: MIT
// Thread-safe; blocking (one small SQLite read per domain the first time it is seen, one write per fetch).
#pragma once
#include "outbound/mta_sts.hpp"

#include <mutex>
#include <optional>
#include <string>

struct sqlite3;

namespace mailfort::outbound {

class sts_cache_store {
 public:
  explicit sts_cache_store(const std::string& db_path);  // throws std::runtime_error
  ~sts_cache_store();
  sts_cache_store(const sts_cache_store&) = delete;
  sts_cache_store& operator=(const sts_cache_store&) = delete;

  // The stored policy of a normalised domain; nullopt when none (expired ones are returned: the caller decides).
  std::optional<sts_cached_policy> load(const std::string& domain);
  void save(const std::string& domain, const sts_cached_policy& p);  // throws std::runtime_error

 private:
  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace mailfort::outbound
