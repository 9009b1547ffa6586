// queue/message_file.cpp: the DATA sink (see message_file.hpp).
// SPDX-License-Identifier: MIT
#include "queue/message_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace mailfort::queue {

namespace {

std::error_code errno_code() { return std::error_code(errno, std::system_category()); }

std::error_code pwrite_all(int fd, std::string_view data, std::uint64_t at) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_code();
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    at += static_cast<std::uint64_t>(n);
  }
  return {};
}

}  // namespace

message_file::message_file(std::filesystem::path tmp_dir, std::string id, std::size_t envelope_room)
    : tmp_dir_(std::move(tmp_dir)), id_(std::move(id)), envelope_room_(envelope_room) {}

message_file::~message_file() {
  if (fd_ >= 0) {
    ::close(fd_);
    if (!released_) ::unlink(path_.c_str());
  }
}

std::error_code message_file::append(std::string_view content) {
  if (!head_done_) {
    const std::size_t old = head_.size();
    head_.append(content);
    std::size_t split = std::string::npos;
    if (head_.compare(0, 2, "\r\n") == 0) {
      split = 2;  // no header fields at all: the body starts after the empty line
    } else if (auto p = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0); p != std::string::npos) {
      split = p + 4;
    }
    if (split == std::string::npos) return {};  // still in the header section (bounded by the reader)
    head_done_ = true;
    buf_.reserve(k_buffer + 16 * 1024);
    buf_.assign(head_, split);
    head_.resize(split);
    body_size_ = buf_.size();
  } else {
    buf_.append(content);
    body_size_ += content.size();
  }
  if (buf_.size() >= k_buffer) return spill();
  return {};
}

std::error_code message_file::spill() {
  if (fd_ < 0) {
    path_ = tmp_dir_ / id_;
    fd_ = ::open(path_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0) return errno_code();
    // Room for the envelope and the head part: the header section may grow (our Received:,
    // Authentication-Results: naming each signature, DKIM-Signature:), so twice its size plus a margin.
    const std::size_t room = 2 * head_.size() + envelope_room_ + 16 * 1024;
    offset_ = (room + 4095) / 4096 * 4096;
  }
  body_hash_.update(buf_);
  if (auto ec = pwrite_all(fd_, buf_, offset_ + written_)) return ec;
  written_ += buf_.size();
  buf_.clear();
  return {};
}

std::error_code message_file::finish() {
  if (fd_ >= 0) {
    if (!buf_.empty())
      if (auto ec = spill()) return ec;
    body_sum_ = body_hash_.finish_hex();
  }
  return {};
}

std::error_code message_file::read_body(const std::function<void(std::string_view)>& fn) const {
  if (fd_ < 0) {
    std::string_view b(buf_);
    while (!b.empty()) {
      auto n = std::min(b.size(), k_buffer);
      fn(b.substr(0, n));
      b.remove_prefix(n);
    }
    return {};
  }
  std::string chunk(k_buffer, '\0');
  std::uint64_t done = 0;
  while (done < written_) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(k_buffer, written_ - done));
    ssize_t n = ::pread(fd_, chunk.data(), want, static_cast<off_t>(offset_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_code();
    if (n == 0) return std::make_error_code(std::errc::io_error);  // the file shrank under us
    fn(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
  }
  return {};
}

std::error_code message_file::read_body_at(std::uint64_t pos, std::size_t max, std::string& out) const {
  out.clear();
  if (fd_ < 0) {
    if (pos < buf_.size()) out.assign(buf_, static_cast<std::size_t>(pos), max);
    return {};
  }
  if (pos >= written_) return {};
  out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(max, written_ - pos)));
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(offset_ + pos + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_code();
    if (n == 0) return std::make_error_code(std::errc::io_error);
    got += static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code message_file::adopt_body(message_file& other) {
  if (other.fd_ >= 0) {
    auto target = fd_ >= 0 ? path_ : tmp_dir_ / id_;
    if (::rename(other.path_.c_str(), target.c_str()) != 0) return errno_code();
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
    path_ = std::move(target);
  } else if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
    fd_ = -1;
  }
  head_done_ = true;
  buf_ = std::move(other.buf_);
  other.buf_.clear();
  body_size_ = other.body_size_;
  written_ = other.written_;
  offset_ = other.offset_;
  body_sum_ = other.body_sum_;
  return {};
}

std::error_code message_file::write_queue_file(const envelope& env, std::string_view head) {
  if (fd_ < 0) return std::make_error_code(std::errc::invalid_argument);
  if (auto prefix = encode_prefix(env, head, body_size_, body_sum_, offset_)) return pwrite_all(fd_, *prefix, 0);
  // No room in front of the body: a new file with the prefix, the body copied behind it by the kernel.
  auto prefix = encode_prefix(env, head, body_size_, body_sum_, 0);
  auto other = tmp_dir_ / (id_ + ".copy");
  int fd2 = ::open(other.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd2 < 0) return errno_code();
  std::error_code ec = pwrite_all(fd2, *prefix, 0);
  loff_t in = static_cast<loff_t>(offset_);
  loff_t out = static_cast<loff_t>(prefix->size());
  std::uint64_t left = written_;
  while (!ec && left > 0) {
    ssize_t n = ::copy_file_range(fd_, &in, fd2, &out, static_cast<std::size_t>(left), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ec = n < 0 ? errno_code() : std::make_error_code(std::errc::io_error);
    if (n > 0) left -= static_cast<std::uint64_t>(n);
  }
  if (!ec && ::rename(other.c_str(), path_.c_str()) != 0) ec = errno_code();
  if (ec) {
    ::close(fd2);
    ::unlink(other.c_str());
    return ec;
  }
  ::close(fd_);
  fd_ = fd2;
  offset_ = prefix->size();
  return {};
}

}  // namespace mailfort::queue
