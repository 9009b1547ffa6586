// common/safeio.cpp: durable file writes (see safeio.hpp).
// SPDX-License-Identifier: MIT
#include "common/safeio.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace mailfort::common::safeio {

namespace fs = std::filesystem;

namespace {

std::error_code last_error() { return std::error_code(errno, std::system_category()); }

// Opens path with flags and runs op(fd) on it; the first error wins.
template <class Op>
std::error_code with_fd(const fs::path& path, int flags, Op op) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return last_error();
  std::error_code ec;
  if (op(fd) != 0) ec = last_error();
  ::close(fd);
  return ec;
}

}  // namespace

std::error_code write_all(int fd, std::string_view data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code write_new(const fs::path& path, std::string_view data, flush how) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return last_error();
  std::error_code ec = write_all(fd, data);
  if (!ec && how == flush::data && ::fdatasync(fd) != 0) ec = last_error();
  if (!ec && how == flush::all && ::fsync(fd) != 0) ec = last_error();
  if (::close(fd) != 0 && !ec) ec = last_error();
  if (ec) ::unlink(path.c_str());
  return ec;
}

std::error_code sync_file(const fs::path& path) { return with_fd(path, O_RDONLY, ::fdatasync); }

std::error_code sync_dir(const fs::path& dir) { return with_fd(dir, O_RDONLY | O_DIRECTORY, ::fsync); }

std::error_code sync_filesystem(const fs::path& dir) { return with_fd(dir, O_RDONLY | O_DIRECTORY, ::syncfs); }

std::error_code publish(const fs::path& tmp, const fs::path& path) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    return ec;
  }
  return sync_dir(path.parent_path());
}

std::error_code write_file(const fs::path& tmp, const fs::path& path, std::string_view data, flush how) {
  if (auto ec = write_new(tmp, data, how)) return ec;
  return publish(tmp, path);
}

}  // namespace mailfort::common::safeio
