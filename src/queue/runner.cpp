// queue/runner.cpp: local delivery worker (see runner.hpp).
// SPDX-License-Identifier: MIT
#include "queue/runner.hpp"

#include "delivery/maildir.hpp"
#include "log/logger.hpp"

#include <fstream>
#include <sstream>

namespace mailfort::queue {

runner::runner(spool& sp, std::filesystem::path mail_root, std::function<bool(const std::string&)> is_local)
    : spool_(sp), mail_root_(std::move(mail_root)), is_local_(std::move(is_local)) {}

runner::~runner() { stop(); }

void runner::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void runner::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void runner::kick() {
  {
    std::lock_guard lk(mu_);
    kicked_ = true;
  }
  cv_.notify_one();
}

void runner::loop() {
  for (;;) {
    run_once();
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(60), [this] { return stopping_ || kicked_; });
    if (stopping_) return;
    kicked_ = false;
  }
}

// Delivers in batches: every local copy of up to k_batch messages is written to its Maildir tmp/,
// made durable with one syncfs, renamed into new/ (one fsync per mailbox directory), and only then
// are the queue files updated or removed (one directory fsync). Crash at any point: a copy may be
// delivered twice, never lost (see docs/queue.md).
void runner::run_once() {
  constexpr std::size_t k_batch = 256;
  auto ids = spool_.list();
  for (std::size_t first = 0; first < ids.size(); first += k_batch) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
    }
    struct job {
      std::string id;
      std::string file;
      envelope env;
      std::string_view message;
      std::vector<std::pair<std::size_t, std::size_t>> copies;  // recipient index, staged index
      bool changed = false;
      bool pending = false;
    };
    std::vector<job> jobs;
    jobs.reserve(k_batch);  // message views point into job.file: no reallocation
    std::vector<delivery::staged_file> staged;
    for (std::size_t n = first; n < ids.size() && n < first + k_batch; ++n) {
      const auto& id = ids[n];
      job j;
      j.id = id;
      {
        std::ifstream in(spool_.path_of(id), std::ios::binary);
        if (!in) continue;  // removed meanwhile
        std::ostringstream ss;
        ss << in.rdbuf();
        j.file = ss.str();
      }
      jobs.push_back(std::move(j));
      job& jb = jobs.back();
      auto d = decode(jb.file);
      if (d.error != decode_error::ok) {
        // A corrupt file must not block the rest of the queue (bad-input 55).
        spool_.quarantine(id);
        log::error("queue_quarantine", {{"queue_id", id}, {"reason", decode_error_name(d.error)}});
        jobs.pop_back();
        continue;
      }
      jb.env = d.env;
      jb.message = d.message;
      for (std::size_t ri = 0; ri < jb.env.recipients.size(); ++ri) {
        auto& r = jb.env.recipients[ri];
        if (r.status != recipient::state::pending) continue;
        auto at = r.address.rfind('@');
        std::string local = at == std::string::npos ? r.address : r.address.substr(0, at);
        std::string domain = at == std::string::npos ? "" : r.address.substr(at + 1);
        if (!is_local_(domain)) {
          jb.pending = true;
          if (jb.env.attempts == 0)
            log::info("deferred", {{"queue_id", id}, {"rcpt", r.address},
                                   {"reason", "remote delivery is not built yet (outbound issue)"}});
          continue;
        }
        auto box = delivery::mailbox_path(mail_root_, local, domain);
        if (!box) {
          r.status = recipient::state::failed;
          jb.changed = true;
          log::error("delivery_failed", {{"queue_id", id}, {"rcpt", r.address}, {"reason", "unsafe mailbox name"}});
          continue;
        }
        if (!jb.env.folder.empty()) *box /= "." + jb.env.folder;  // Maildir++ folder, e.g. .Junk
        delivery::staged_file f;
        if (auto ec = delivery::stage_maildir(*box, jb.message, f); ec) {
          jb.pending = true;
          log::warning("deferred", {{"queue_id", id}, {"rcpt", r.address}, {"reason", ec.message()}});
          continue;
        }
        jb.copies.emplace_back(ri, staged.size());
        staged.push_back(std::move(f));
      }
    }
    auto results = delivery::commit_maildir(staged);
    std::vector<std::string> done;
    for (auto& jb : jobs) {
      for (auto [ri, si] : jb.copies) {
        auto& r = jb.env.recipients[ri];
        if (results[si]) {
          jb.pending = true;
          log::warning("deferred", {{"queue_id", jb.id}, {"rcpt", r.address}, {"reason", results[si].message()}});
          continue;
        }
        r.status = recipient::state::delivered;
        jb.changed = true;
        auto at = r.address.rfind('@');
        log::info("delivered", {{"queue_id", jb.id}, {"rcpt", r.address},
                                {"mailbox", r.address.substr(at + 1) + "/" + r.address.substr(0, at)},
                                {"file", staged[si].name}});
      }
      try {
        if (!jb.pending) {
          done.push_back(jb.id);
        } else if (jb.changed || jb.env.attempts == 0) {
          ++jb.env.attempts;
          spool_.rewrite(jb.env, jb.message);
        }
      } catch (const std::exception& e) {
        log::error("queue_update_failed", {{"queue_id", jb.id}, {"error", e.what()}});
      }
    }
    spool_.remove_many(done);
  }
}

}  // namespace mailfort::queue
