// queue/runner.hpp: the local delivery worker: moves queued mail for local users into their Maildir.
// SPDX-License-Identifier: MIT
// A message leaves the queue only after every local recipient's copy is fsynced in the Maildir (at
// least once: a crash between the Maildir rename and the queue unlink may deliver twice, never zero
// times). Recipients that are not local (relay by authenticated users) stay in the queue for the
// outbound delivery issue; they are logged as "deferred" with reason "remote delivery not built yet".
#pragma once
#include "queue/spool.hpp"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace mailfort::queue {

class runner {
 public:
  // is_local(domain) decides local delivery; mail_root is <data_dir>/mail.
  runner(spool& sp, std::filesystem::path mail_root, std::function<bool(const std::string& domain)> is_local);
  ~runner();
  void start();   // delivers everything already in the queue (recovery), then waits for kicks
  void stop();
  void kick();    // a new message is in the queue
  // Deliver every queued message once, synchronously (used by start() and by `queue flush`).
  void run_once();

 private:
  void loop();
  spool& spool_;
  std::filesystem::path mail_root_;
  std::function<bool(const std::string&)> is_local_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mailfort::queue
