// delivery/maildir.cpp: Maildir delivery (see maildir.hpp).
// SPDX-License-Identifier: MIT
#include "delivery/maildir.hpp"

#include "common/safeio.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>

namespace mailfort::delivery {

namespace fs = std::filesystem;
namespace safeio = common::safeio;  // common/safeio.hpp: write, flush, rename, flush the directory

namespace {

std::optional<std::string> safe_component(std::string_view s, std::size_t max, bool is_domain) {
  if (s.empty() || s.size() > max) return std::nullopt;
  std::string r;
  for (char c : s) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '-' ||
              (!is_domain && (l == '_' || l == '+'));
    if (!ok) return std::nullopt;  // also refuses '/', NUL, control and 8-bit bytes
    r.push_back(l);
  }
  if (r.front() == '.' || r.find("..") != std::string::npos) return std::nullopt;
  return r;
}

std::string hostname_for_maildir() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  std::string h;
  for (char c : std::string(buf)) {
    if (c == '/')
      h += "\\057";
    else if (c == ':')
      h += "\\072";
    else
      h.push_back(c);
  }
  return h.empty() ? "localhost" : h;
}

std::atomic<unsigned long> g_counter{0};

}  // namespace

std::optional<fs::path> mailbox_path(const fs::path& mail_root, std::string_view local, std::string_view domain) {
  auto l = safe_component(local, 64, false);
  auto d = safe_component(domain, 255, true);
  if (!l || !d) return std::nullopt;
  return mail_root / *d / *l;
}

namespace {
std::string unique_name(std::size_t size) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000;
  unsigned char rnd[4];
  RAND_bytes(rnd, sizeof rnd);
  char rhex[9];
  snprintf(rhex, sizeof rhex, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
  static const std::string host = hostname_for_maildir();
  return std::to_string(secs) + ".M" + std::to_string(usec) + "P" + std::to_string(::getpid()) + "Q" +
         std::to_string(++g_counter) + "R" + rhex + "." + host + ",S=" + std::to_string(size);
}

std::error_code make_dirs(const fs::path& maildir) {
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "cur"}) {
    fs::create_directories(maildir / sub, ec);
    if (ec) return ec;
  }
  return ec;
}
}  // namespace

std::error_code deliver_maildir(const fs::path& maildir, std::string_view message, std::string* final_name) {
  if (auto ec = make_dirs(maildir); ec) return ec;
  std::string name = unique_name(message.size());
  if (auto ec = safeio::write_file(maildir / "tmp" / name, maildir / "new" / name, message, safeio::flush::all); ec)
    return ec;
  if (final_name) *final_name = name;
  return {};
}

std::error_code stage_maildir(const fs::path& maildir, std::string_view message, staged_file& out) {
  if (auto ec = make_dirs(maildir); ec) return ec;
  out.name = unique_name(message.size());
  out.tmp = maildir / "tmp" / out.name;
  out.final_path = maildir / "new" / out.name;
  return safeio::write_new(out.tmp, message, safeio::flush::none);
}

std::vector<std::error_code> commit_maildir(std::vector<staged_file>& files) {
  std::vector<std::error_code> result(files.size());
  if (files.empty()) return result;
  // One flush of the filesystem's dirty data and journal covers every staged file.
  const std::error_code sync_ec = safeio::sync_filesystem(files.front().tmp.parent_path());
  std::vector<fs::path> dirs;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (sync_ec) {
      result[i] = sync_ec;
      ::unlink(files[i].tmp.c_str());
      continue;
    }
    std::error_code ec;
    fs::rename(files[i].tmp, files[i].final_path, ec);
    if (ec) {
      ::unlink(files[i].tmp.c_str());
      result[i] = ec;
      continue;
    }
    auto d = files[i].final_path.parent_path();
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  }
  for (const auto& d : dirs) {
    if (auto e = safeio::sync_dir(d); e)
      for (std::size_t i = 0; i < files.size(); ++i)
        if (!result[i] && files[i].final_path.parent_path() == d) result[i] = e;
  }
  return result;
}

}  // namespace mailfort::delivery
