// tests/unit/report/report_test_util.hpp: what the report tests share: a fresh state.db path per test process,
// and gunzip for the reports' .gz attachments.
// SPDX-License-Identifier: MIT
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <string>

namespace report_test {

// <tmp>/<prefix>-<pid>/state.db, removed if a previous run left it.
inline std::filesystem::path temp_db(const std::string& prefix) {
  auto dir = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / "state.db";
  std::filesystem::remove(p);
  return p;
}

// The gzip member decoded (up to 1 MiB), or "" when it is not one complete gzip stream.
inline std::string gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return {};
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

}  // namespace report_test
