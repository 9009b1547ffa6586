// delivery/maildir.cpp: Maildir delivery (see maildir.hpp).
// SPDX-License-Identifier: MIT
#include "delivery/maildir.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

namespace mailfort::delivery {

namespace fs = std::filesystem;

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

std::error_code last_error() { return std::error_code(errno, std::system_category()); }

std::error_code fsync_path(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return last_error();
  std::error_code ec;
  if (::fsync(fd) != 0) ec = last_error();
  ::close(fd);
  return ec;
}

std::string hostname_for_maildir() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  std::string h;
  for (char c : std::string(buf)) {
    if (c == '/') h += "\\057";
    else if (c == ':') h += "\\072";
    else h.push_back(c);
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

std::error_code deliver_maildir(const fs::path& maildir, std::string_view message, std::string* final_name) {
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "cur"}) {
    fs::create_directories(maildir / sub, ec);
    if (ec) return ec;
  }
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000;
  unsigned char rnd[4];
  RAND_bytes(rnd, sizeof rnd);
  char rhex[9];
  snprintf(rhex, sizeof rhex, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
  std::string name = std::to_string(secs) + ".M" + std::to_string(usec) + "P" + std::to_string(::getpid()) + "Q" +
                     std::to_string(++g_counter) + "R" + rhex + "." + hostname_for_maildir() +
                     ",S=" + std::to_string(message.size());
  fs::path tmp = maildir / "tmp" / name;
  int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return last_error();
  const char* p = message.data();
  std::size_t left = message.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ec = last_error();
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (!ec && ::fsync(fd) != 0) ec = last_error();
  if (::close(fd) != 0 && !ec) ec = last_error();
  if (ec) {
    ::unlink(tmp.c_str());
    return ec;
  }
  fs::rename(tmp, maildir / "new" / name, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    return ec;
  }
  if (auto e = fsync_path(maildir / "new", O_RDONLY | O_DIRECTORY); e) return e;
  if (final_name) *final_name = name;
  return {};
}

}  // namespace mailfort::delivery
