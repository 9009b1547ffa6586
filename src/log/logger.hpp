// log/logger.hpp: one JSON object per line per event, for people and SIEMs alike (docs/log-events.md).
// SPDX-License-Identifier: MIT
// Every line has "time" (RFC 3339 UTC, milliseconds), "level" and "event"; callers add the session id,
// client, listener and queue id where known. Field values are JSON-escaped by nlohmann::json, so
// untrusted text (addresses, HELO names) can never forge a second line.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
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

// Line format. json (default): the object alone. syslog: an RFC 5424 line (facility mail, MSGID = the event,
// structured data [mailfort@32473 ...] holding the event's scalar fields) whose MSG is the same JSON object,
// so a SIEM can take either part. 32473 is the documentation enterprise number of RFC 5612.
enum class format { json, syslog };
void set_format(format f, std::string_view hostname = {});
// [pure] The RFC 5424 rendering of one JSON line (without the trailing newline); exposed for tests.
std::string format_syslog(level lvl, std::string_view event, const nlohmann::json& line, std::string_view hostname,
                          long pid);

// Redirect output (default: stdout, fd 1). Used by the CLI to keep command output clean.
void set_fd(int fd);
void set_min_level(level lvl);

// Called with every event written (after the line is out), on the thread that logged it. Metrics and alerts
// are derived from the event stream this way, so they can never disagree with the log. Set once at startup
// before other threads log, and cleared (nullptr) before the observer goes away.
using observer_fn = void (*)(void* ctx, level lvl, std::string_view event, const nlohmann::json& line);
void set_observer(observer_fn fn, void* ctx);

}  // namespace mailfort::log
