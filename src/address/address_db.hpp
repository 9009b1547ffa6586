// address/address_db.hpp: hosted domains, aliases, who may send as an alias, and catch-alls, in state.db
// (issue 20); the daemon's snapshot of them for address/resolve.hpp.
// SPDX-License-Identifier: MIT
// Tables: domains(name, catch_all), aliases(address, target), alias_senders(address, user); users come from
// the users table of sasl/user_db. Thread-safe. snapshot() reloads the tables when state.db was changed
// by another connection (`PRAGMA data_version`, one cheap query), so a `mailfort alias add` reaches the
// running server at its next RCPT without a restart or a signal.
#pragma once
#include "address/resolve.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace mailfort::address {

struct domain_row {
  std::string name;
  std::string catch_all;  // "" = off
};

struct alias_row {
  std::string address;
  std::vector<std::string> targets;
  std::vector<std::string> senders;
};

class address_db {
 public:
  // Opens (and creates the tables in) <data_dir>/state.db. Throws std::runtime_error on failure.
  explicit address_db(const std::string& db_path);
  ~address_db();
  address_db(const address_db&) = delete;
  address_db& operator=(const address_db&) = delete;

  // Names and addresses are normalised to lower case; std::invalid_argument for one that is not a safe
  // domain name or local@domain.
  bool add_domain(std::string_view name);  // false: already there
  bool remove_domain(std::string_view name);
  // target "" turns the catch-all off; std::runtime_error when the domain is not in the table.
  void set_catch_all(std::string_view domain, std::string_view target);
  std::vector<domain_row> list_domains();

  // Adds the targets (and allowed senders) to the alias, creating it.
  void add_alias(std::string_view address, const std::vector<std::string>& targets,
                 const std::vector<std::string>& senders);
  // Removes the whole alias (targets and senders); false when there was none.
  bool remove_alias(std::string_view address);
  std::vector<alias_row> list_aliases();

  // The tables as of now (reloaded only when state.db changed).
  std::shared_ptr<const book> snapshot();

 private:
  std::shared_ptr<const book> load();
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::shared_ptr<const book> snap_;
  long long version_ = -1;
};

// Normalised local@domain or throws std::invalid_argument naming `what`.
std::string checked_address(std::string_view address, std::string_view what);

}  // namespace mailfort::address
