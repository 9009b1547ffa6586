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

const char* level_name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
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
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

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
  std::string out = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
}

void set_fd(int fd) { g_fd.store(fd); }
void set_min_level(level lvl) { g_min.store(static_cast<int>(lvl)); }

}  // namespace mailfort::log
