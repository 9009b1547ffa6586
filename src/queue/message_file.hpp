// queue/message_file.hpp: where the content of a message in flight goes while it is received (the sink of
// the DATA reader): the header section in memory (bounded by limits.header_section), the body streamed to
// queue/tmp/<id> in 64 KiB writes as it arrives, at an offset that leaves room for the envelope and our
// header fields, which are written in front of it once they are known (queue file version 2, docs/queue.md).
// SPDX-License-Identifier: MIT
// Memory per message in flight: the header section plus one 64 KiB buffer, whatever the message size. A
// message whose body fits in the buffer never touches the disk here (the spool writes it whole, as before).
// The file is never fsynced here: the spool's commit thread does that once (group commit), then renames it
// into active/. Until then it is removed when the object dies (session aborted, message refused); tmp/ is
// emptied at start, so a crash leaves nothing behind either.
#pragma once
#include "queue/envelope.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace mailfort::queue {

class message_file {
 public:
  static constexpr std::size_t k_buffer = 64 * 1024;

  // `envelope_room`: bytes to leave for the envelope (sender, recipients, HELO...) besides the header section.
  message_file(std::filesystem::path tmp_dir, std::string id, std::size_t envelope_room);
  ~message_file();
  message_file(const message_file&) = delete;
  message_file& operator=(const message_file&) = delete;

  // Content bytes as the DATA reader stores them (CRLF line ends, unstuffed).
  std::error_code append(std::string_view content);
  // End of data: writes what is buffered (when the body is on disk) and finishes the body hash.
  std::error_code finish();

  // The header section through its empty line (the whole message when it has none). The checks rewrite it.
  std::string& head() { return head_; }
  const std::string& head() const { return head_; }
  std::uint64_t body_size() const { return body_size_; }
  std::uint64_t size() const { return head_.size() + body_size_; }
  bool on_disk() const { return fd_ >= 0; }
  // Streams the body in chunks of at most k_buffer bytes (after finish(); any thread, one at a time).
  std::error_code read_body(const std::function<void(std::string_view)>& fn) const;
  // Up to `max` body bytes from body offset `pos` into `out` (after finish(); empty at the end). For the milter
  // client, which sends the body in chunks between awaits.
  std::error_code read_body_at(std::uint64_t pos, std::size_t max, std::string& out) const;
  // Takes `other`'s body (a milter's replacement, finished) in place of this one's: its file is renamed to this
  // one's path. This object's head is kept.
  std::error_code adopt_body(message_file& other);
  // The body in memory (only when !on_disk()).
  const std::string& body_in_memory() const { return buf_; }

  // When on_disk(): writes the queue file's envelope and head part (`head`: our fields and the header section)
  // in front of the body, so that tmp/<id> is the complete queue file, not yet fsynced. When the space left
  // in front is too small (rare: a huge envelope), the body is copied into a new file behind them (kernel
  // copy, no buffer). After success the spool owns the file (commit_async); call release().
  std::error_code write_queue_file(const envelope& env, std::string_view head);
  // The spool took the file: do not remove it.
  void release() { released_ = true; }
  const std::string& id() const { return id_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::error_code spill();
  std::filesystem::path tmp_dir_;
  std::string id_;
  std::filesystem::path path_;
  std::size_t envelope_room_;
  std::string head_;
  bool head_done_ = false;
  std::string buf_;  // body bytes not yet written (all of the body while it fits)
  std::uint64_t body_size_ = 0;
  std::uint64_t written_ = 0;  // body bytes on disk
  std::size_t offset_ = 0;     // where the body starts in the file
  int fd_ = -1;
  bool released_ = false;
  sha256_stream body_hash_;
  std::string body_sum_;
};

}  // namespace mailfort::queue
