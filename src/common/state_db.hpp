// common/state_db.hpp: where state.db lives: <data_dir>/state.db, the SQLite file every durable table of the
// server shares (users, app passwords, bans, held users, report rows, TLS-RPT counts, the MTA-STS cache). Its
// path is built here only; each table's owner opens it through common::open_state_db (common/sqlite.hpp).
// SPDX-License-Identifier: MIT
#pragma once
#include <filesystem>
#include <string>

namespace mailfort::common {

inline std::string state_db_path(const std::filesystem::path& data_dir) { return (data_dir / "state.db").string(); }

}  // namespace mailfort::common
