// log/logger.hpp: one JSON object per line per event, for people and SIEMs alike (docs/log-events.md).
// SPDX-License-Identifier: MIT
// Every line has "time" (RFC 3339 UTC, milliseconds), "level" and "event"; callers add the session id,
// client, listener and queue id where known. Field values are JSON-escaped by nlohmann::json, so
// untrusted text (addresses, HELO names) can never forge a second line.
#pragma once
#include <nlohmann/json.hpp>

#include <string_view>

namespace mailfort::log {

enum class level { debug, info, warning, error };

// Writes one line. Thread-safe; the line is written with a single write(2).
void emit(level lvl, std::string_view event, nlohmann::json fields = nlohmann::json::object());

inline void info(std::string_view event, nlohmann::json fields = nlohmann::json::object()) {
  emit(level::info, event, std::move(fields));
}
inline void warning(std::string_view event, nlohmann::json fields = nlohmann::json::object()) {
  emit(level::warning, event, std::move(fields));
}
inline void error(std::string_view event, nlohmann::json fields = nlohmann::json::object()) {
  emit(level::error, event, std::move(fields));
}

// Redirect output (default: stdout, fd 1). Used by the CLI to keep command output clean.
void set_fd(int fd);
void set_min_level(level lvl);

}  // namespace mailfort::log
