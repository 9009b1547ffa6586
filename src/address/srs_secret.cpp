// address/srs_secret.cpp: the SRS key file (srs_secret.hpp).
// SPDX-License-Identifier: MIT
#include "address/srs_secret.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mailfort::address {

std::string load_or_create_srs_secret(const std::filesystem::path& data_dir) {
  const std::string path = (data_dir / "srs.secret").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::array<unsigned char, 32> key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      ::close(fd);
      ::unlink(path.c_str());
      throw std::runtime_error("cannot make an SRS key: no randomness");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    for (auto b : key) {
      text.push_back(hex[b >> 4]);
      text.push_back(hex[b & 15]);
    }
    text.push_back('\n');
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    }
  } else if (errno != EEXIST) {
    throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  }
  fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    throw std::runtime_error(path +
                             " is readable by others (whoever reads it can forge bounces mailfort relays): "
                             "chmod 600 it, or delete it for a new key");
  }
  std::array<char, 512> buf{};
  const ssize_t n = ::read(fd, buf.data(), buf.size());
  ::close(fd);
  std::string secret(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.size() < 16) throw std::runtime_error(path + " holds fewer than 16 characters: delete it for a new key");
  return secret;
}

}  // namespace mailfort::address
