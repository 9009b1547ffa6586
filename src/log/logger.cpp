// log/logger.cpp: JSON-lines writer.
// SPDX-License-Identifier: MIT
#include "log/logger.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace mailfort::log {
namespace {
std::atomic<int> g_fd{1};
std::atomic<int> g_min{static_cast<int>(level::info)};
std::atomic<observer_fn> g_observer{nullptr};
std::atomic<void*> g_observer_ctx{nullptr};
std::atomic<bool> g_syslog{false};
std::string g_hostname = "-";  // written once by set_format before other threads log

const char* level_name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warning:
      return "warning";
    case level::error:
      return "error";
  }
  return "info";
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
// RFC 5424 6.2.4/6.2.5/6.3.3: HOSTNAME and MSGID are PRINTUSASCII (33..126), PARAM-NAME also excludes
// '=', ' ', ']' and '"'. Anything else becomes '_'; an empty result becomes the NILVALUE "-".
std::string printusascii(std::string_view s, std::size_t max, bool param_name) {
  std::string out;
  for (char ch : s.substr(0, max)) {
    auto c = static_cast<unsigned char>(ch);
    bool ok = c >= 33 && c <= 126 && !(param_name && (c == '=' || c == ']' || c == '"'));
    out.push_back(ok ? ch : '_');
  }
  return out.empty() ? "-" : out;
}

int syslog_severity(level l) {
  switch (l) {
    case level::debug:
      return 7;
    case level::info:
      return 6;
    case level::warning:
      return 4;
    case level::error:
      return 3;
  }
  return 6;
}
}  // namespace

std::string format_syslog(level lvl, std::string_view event, const nlohmann::json& line, std::string_view hostname,
                          long pid) {
  constexpr int facility_mail = 2;
  std::string out = "<" + std::to_string(facility_mail * 8 + syslog_severity(lvl)) + ">1 ";
  out += line.contains("time") && line["time"].is_string() ? line["time"].get<std::string>() : "-";
  out += ' ';
  out += printusascii(hostname, 255, false);
  out += " mailfort ";
  out += std::to_string(pid);
  out += ' ';
  out += printusascii(event, 32, false);
  out += ' ';
  // Structured data: the scalar fields other than time/level/event; PARAM-VALUE escapes '"', '\\' and ']'.
  std::string sd;
  for (const auto& [k, v] : line.items()) {
    if (k == "time" || k == "level" || k == "event" || v.is_object() || v.is_array() || v.is_null()) continue;
    std::string val = v.is_string() ? v.get<std::string>() : v.dump();
    sd += ' ';
    sd += printusascii(k, 32, true);
    sd += "=\"";
    for (char ch : val) {
      if (ch == '"' || ch == '\\' || ch == ']') sd.push_back('\\');
      // Control characters would split or garble the line: the JSON MSG keeps the exact value.
      sd.push_back(static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f ? ' ' : ch);
    }
    sd += '"';
  }
  out += "[mailfort@32473" + sd + "] ";
  out += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

void set_format(format f, std::string_view hostname) {
  g_hostname = hostname.empty() ? "-" : std::string(hostname);
  g_syslog.store(f == format::syslog);
}

void emit(level lvl, std::string_view event, nlohmann::json fields) {
  if (static_cast<int>(lvl) < g_min.load(std::memory_order_relaxed)) return;
  nlohmann::json line = nlohmann::json::object();
  line["time"] = now_rfc3339();
  line["level"] = level_name(lvl);
  line["event"] = std::string(event);
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  }
  // Replace invalid UTF-8 rather than throw: untrusted bytes may reach a field.
  std::string out = g_syslog.load(std::memory_order_relaxed)
                        ? format_syslog(lvl, event, line, g_hostname, static_cast<long>(::getpid()))
                        : line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.push_back('\n');
  const char* p = out.data();
  size_t left = out.size();
  int fd = g_fd.load(std::memory_order_relaxed);
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (auto fn = g_observer.load(std::memory_order_acquire)) fn(g_observer_ctx.load(), lvl, event, line);
}

void set_fd(int fd) { g_fd.store(fd); }

void set_observer(observer_fn fn, void* ctx) {
  g_observer_ctx.store(ctx);
  g_observer.store(fn);
}
void set_min_level(level lvl) { g_min.store(static_cast<int>(lvl)); }

}  // namespace mailfort::log
