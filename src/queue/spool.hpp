// queue/spool.hpp: the only writer of the queue. "250" is sent only after store() completes.
// SPDX-License-Identifier: MIT
// Layout under <data_dir>/queue: tmp/ (being written), active/ (durable, waiting for delivery),
// quarantine/ (corrupt files, kept for the admin). A message becomes durable as: write tmp file,
// fsync it, rename into active/, fsync active/. Group commit: one thread collects concurrent store
// requests and shares the directory fsync between them; each caller's own data is fsynced before its
// callback runs, so nobody is told "stored" before their bytes are on disk.
#pragma once
#include "queue/envelope.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace mailfort::queue {

class spool {
 public:
  using done_fn = std::function<void(std::error_code ec, const std::string& queue_id)>;

  // Creates the directories if needed. Does not start the commit thread until start().
  explicit spool(std::filesystem::path queue_dir);
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  void start();
  void stop();  // drains pending requests first

  // Asynchronous store: env.id is assigned if empty. `done` runs on the commit thread after the
  // message is durable (ec == {}) or failed (ENOSPC -> std::errc::no_space_on_device, etc.; no file left).
  void store_async(envelope env, std::string message, done_fn done);
  // The same for a queue file already written whole to tmp/<id> (queue::message_file: the body streamed to
  // disk as it arrived): the commit thread makes it durable with the batch (no second write), renames it into
  // active/ and fsyncs the directory, then calls `done`. On failure the file is removed.
  void commit_async(const std::string& id, done_fn done);
  // Synchronous store (tests, CLI). Returns the queue id or throws std::system_error.
  std::string store(envelope env, std::string_view message);

  // Durable queue listing, sorted by id (arrival order).
  std::vector<std::string> list() const;
  std::filesystem::path path_of(const std::string& id) const;
  // Rewrite an existing queue file atomically (recipient states, attempts). fsynced.
  void rewrite(const envelope& env, std::string_view message);
  // Remove a delivered message (unlink + fsync dir).
  void remove(const std::string& id);
  // Remove delivered messages, without a directory fsync: their copies are already durable (Maildir
  // rename + fsync, or the peer's 250), so an unlink that a power cut undoes only delivers a message twice,
  // never loses one (at least once, RFC 5321 6.1). The next store's fsync of active/ makes the unlinks durable.
  // Saves one file-system journal commit per delivery batch: at one session, on ext4 with a journal, commits
  // are what a message costs (bench/README.md).
  void forget_delivered(const std::vector<std::string>& ids);
  // Move a file that failed to decode into quarantine/ (logged by the caller).
  void quarantine(const std::string& id);
  // Startup recovery: delete leftovers in tmp/ (never acknowledged), return the count removed.
  std::size_t clean_tmp();

  const std::filesystem::path& dir() const { return dir_; }
  // Directory fsyncs done by the commit thread (fewer than messages under concurrency: group commit).
  std::uint64_t dir_fsyncs() const { return dir_fsyncs_.load(); }

 private:
  struct request {
    envelope env;
    std::string message;
    done_fn done;
    bool prepared = false;  // tmp/<id> is already written (commit_async)
  };
  void run();
  std::filesystem::path dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<request> pending_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> dir_fsyncs_{0};
};

}  // namespace mailfort::queue
