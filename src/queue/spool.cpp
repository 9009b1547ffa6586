// queue/spool.cpp: durable queue writes with group commit (see spool.hpp).
// SPDX-License-Identifier: MIT
#include "queue/spool.hpp"

#include "common/ids.hpp"
#include "common/safeio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>

namespace mailfort::queue {

namespace fs = std::filesystem;

namespace {

namespace safeio = common::safeio;  // common/safeio.hpp: write, flush, rename, flush the directory

}  // namespace

spool::spool(fs::path queue_dir) : dir_(std::move(queue_dir)) {
  for (const char* sub : {"tmp", "active", "quarantine"}) {
    fs::create_directories(dir_ / sub);
    ::chmod((dir_ / sub).c_str(), 0700);
  }
  ::chmod(dir_.c_str(), 0700);
}

spool::~spool() { stop(); }

void spool::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void spool::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void spool::store_async(envelope env, std::string message, done_fn done) {
  if (env.id.empty()) env.id = common::new_queue_id();
  {
    std::lock_guard lk(mu_);
    if (thread_.joinable() && !stopping_) {
      pending_.push_back(request{std::move(env), std::move(message), std::move(done), false});
      cv_.notify_one();
      return;
    }
  }
  // Not running (CLI, tests): store inline.
  auto id = env.id;
  std::error_code ec =
      safeio::write_file(dir_ / "tmp" / id, dir_ / "active" / id, encode(env, message), safeio::flush::data);
  done(ec, id);
}

void spool::commit_async(const std::string& id, done_fn done) {
  envelope env;
  env.id = id;
  {
    std::lock_guard lk(mu_);
    if (thread_.joinable() && !stopping_) {
      pending_.push_back(request{std::move(env), {}, std::move(done), true});
      cv_.notify_one();
      return;
    }
  }
  auto path_tmp = dir_ / "tmp" / id;
  std::error_code ec = safeio::sync_file(path_tmp);
  if (ec)
    ::unlink(path_tmp.c_str());
  else
    ec = safeio::publish(path_tmp, dir_ / "active" / id);
  done(ec, id);
}

std::string spool::store(envelope env, std::string_view message) {
  std::promise<std::pair<std::error_code, std::string>> p;
  auto f = p.get_future();
  store_async(std::move(env), std::string(message), [&p](std::error_code ec, const std::string& id) {
    p.set_value({ec, id});
  });
  auto [ec, id] = f.get();
  if (ec) throw std::system_error(ec, "queue store");
  return id;
}

// The commit thread. Each round takes every pending request (group commit):
//   1. write each message to tmp/<id>;
//   2. make all of their data durable with ONE syncfs(2) (one fdatasync when the batch has one file);
//   3. rename each into active/;
//   4. fsync active/ once, so the renames are durable.
// Only then is anyone told "stored". A crash before step 4 leaves files the clients were never
// acknowledged for: in tmp/ they are removed at start; in active/ they are complete (step 2 came
// first) and get delivered, at worst a duplicate of a message the client will retry, never a loss.
void spool::run() {
  for (;;) {
    std::deque<request> batch;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty() && stopping_) return;
      batch.swap(pending_);
    }
    std::vector<std::error_code> results(batch.size());
    std::vector<fs::path> tmps(batch.size());
    std::size_t written = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& r = batch[i];
      tmps[i] = dir_ / "tmp" / r.env.id;
      if (r.prepared) {
        // Written by the session (message_file); only its data must reach the disk, with the batch.
        if (batch.size() == 1) results[i] = safeio::sync_file(tmps[i]);
        if (results[i]) ::unlink(tmps[i].c_str());
      } else {
        results[i] = safeio::write_new(tmps[i], encode(r.env, r.message),
                                       batch.size() == 1 ? safeio::flush::data : safeio::flush::none);
      }
      r.message.clear();
      r.message.shrink_to_fit();
      if (!results[i]) ++written;
    }
    if (written > 1) {
      std::error_code ec = safeio::sync_filesystem(dir_ / "tmp");
      if (ec)
        for (std::size_t i = 0; i < batch.size(); ++i)
          if (!results[i]) {
            results[i] = ec;
            ::unlink(tmps[i].c_str());
          }
    }
    bool any_renamed = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (results[i]) continue;
      std::error_code ec;
      fs::rename(tmps[i], dir_ / "active" / batch[i].env.id, ec);
      if (ec) {
        ::unlink(tmps[i].c_str());
        results[i] = ec;
      } else {
        any_renamed = true;
      }
    }
    if (any_renamed) {
      std::error_code ec = safeio::sync_dir(dir_ / "active");
      ++dir_fsyncs_;
      if (ec) {
        // The renames may not be durable: report failure (the client retries). Files that survive
        // are complete and get delivered: a duplicate, never a loss.
        for (auto& r : results)
          if (!r) r = ec;
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(results[i], batch[i].env.id);
  }
}

std::vector<std::string> spool::list() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ / "active", ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (common::is_queue_id(name)) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

fs::path spool::path_of(const std::string& id) const { return dir_ / "active" / id; }

void spool::rewrite(const envelope& env, std::string_view message) {
  auto tmp = dir_ / "tmp" / (env.id + ".rw");
  ::unlink(tmp.c_str());
  if (auto ec = safeio::write_file(tmp, path_of(env.id), encode(env, message), safeio::flush::data); ec)
    throw std::system_error(ec, "queue rewrite");
}

void spool::remove(const std::string& id) {
  if (!common::is_queue_id(id)) return;
  ::unlink(path_of(id).c_str());
  (void)safeio::sync_dir(dir_ / "active");
}

void spool::forget_delivered(const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    if (common::is_queue_id(id)) ::unlink(path_of(id).c_str());
}

void spool::quarantine(const std::string& id) {
  if (!common::is_queue_id(id)) return;
  std::error_code ec;
  fs::rename(path_of(id), dir_ / "quarantine" / id, ec);
  (void)safeio::sync_dir(dir_ / "quarantine");
  (void)safeio::sync_dir(dir_ / "active");
}

std::size_t spool::clean_tmp() {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ / "tmp", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code rec;
    if (fs::remove(it->path(), rec)) ++n;
  }
  return n;
}

}  // namespace mailfort::queue
