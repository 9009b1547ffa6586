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

void runner::run_once() {
  for (const auto& id : spool_.list()) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
    }
    std::string file;
    {
      std::ifstream in(spool_.path_of(id), std::ios::binary);
      if (!in) continue;  // removed meanwhile
      std::ostringstream ss;
      ss << in.rdbuf();
      file = ss.str();
    }
    auto d = decode(file);
    if (d.error != decode_error::ok) {
      // A corrupt file must not block the rest of the queue (bad-input 55).
      spool_.quarantine(id);
      log::error("queue_quarantine", {{"queue_id", id}, {"reason", decode_error_name(d.error)}});
      continue;
    }
    envelope env = d.env;
    bool changed = false, pending = false;
    for (auto& r : env.recipients) {
      if (r.status != recipient::state::pending) continue;
      auto at = r.address.rfind('@');
      std::string local = at == std::string::npos ? r.address : r.address.substr(0, at);
      std::string domain = at == std::string::npos ? "" : r.address.substr(at + 1);
      if (!is_local_(domain)) {
        pending = true;
        if (env.attempts == 0)
          log::info("deferred", {{"queue_id", id}, {"rcpt", r.address},
                                 {"reason", "remote delivery is not built yet (outbound issue)"}});
        continue;
      }
      auto box = delivery::mailbox_path(mail_root_, local, domain);
      if (!box) {
        r.status = recipient::state::failed;
        changed = true;
        log::error("delivery_failed", {{"queue_id", id}, {"rcpt", r.address}, {"reason", "unsafe mailbox name"}});
        continue;
      }
      std::string name;
      if (auto ec = delivery::deliver_maildir(*box, d.message, &name); ec) {
        pending = true;
        log::warning("deferred", {{"queue_id", id}, {"rcpt", r.address}, {"reason", ec.message()}});
        continue;
      }
      r.status = recipient::state::delivered;
      changed = true;
      log::info("delivered", {{"queue_id", id}, {"rcpt", r.address},
                              {"mailbox", domain + "/" + local}, {"file", name}});
    }
    try {
      if (!pending) {
        spool_.remove(id);
      } else if (changed || env.attempts == 0) {
        ++env.attempts;
        spool_.rewrite(env, d.message);
      }
    } catch (const std::exception& e) {
      log::error("queue_update_failed", {{"queue_id", id}, {"error", e.what()}});
    }
  }
}

}  // namespace mailfort::queue
