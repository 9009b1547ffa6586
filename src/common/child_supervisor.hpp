// common/child_supervisor.hpp: runs one child process for `mailfort serve` (Dovecot, rspamd, clamd,
// clamav-milter): starts it, restarts it with backoff when it dies, reports flapping, stops it on exit.
// SPDX-License-Identifier: MIT
// One thread per child polls it (waitpid WNOHANG) every 200 ms. The child gets PR_SET_PDEATHSIG, so it does not
// outlive a mailfort killed with SIGKILL; its stdout and stderr are appended to `log`. It runs in a process group
// of its own, killed (SIGKILL) once the child has exited or stopped: nothing it forked survives it.
// Log events (prefix = spec.name): <name>_started, <name>_start_failed, <name>_exited (restart after 0.5 s,
// doubling up to restart_max; reset after a minute up), <name>_flapping (5 deaths within 5 minutes; the alert of
// that name, /api/alerts), <name>_recovered (up a minute after flapping), <name>_reloaded, <name>_stopped,
// <name>_killed (did not stop within 10 s of SIGTERM).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mailfort::common {

struct child_spec {
  std::string name;               // event prefix: "dovecot", "rspamd", "clamd", "clamav_milter"
  std::vector<std::string> argv;  // argv[0]: the binary, an absolute path
  std::filesystem::path log;      // the child's stdout and stderr, appended
  std::string config;             // logged with <name>_started
  std::chrono::milliseconds restart_max{30000};
  std::string flapping_note = "keeps dying; see its log";
  // Optional, called before each start: false = not yet (no start, no death counted; asked again in 200 ms).
  // clamav-milter waits for clamd's socket this way.
  std::function<bool()> ready;
  // Optional, called every 200 ms outside the lock; true = SIGHUP the child (Dovecot: users changed).
  std::function<bool()> tick;
};

class child_supervisor {
 public:
  explicit child_supervisor(child_spec spec) : spec_(std::move(spec)) {}
  ~child_supervisor() { stop(); }
  child_supervisor(const child_supervisor&) = delete;
  child_supervisor& operator=(const child_supervisor&) = delete;

  void start();   // starts the supervisor thread; the child is started by it at once
  void reload();  // SIGHUP to the child, if it runs
  // SIGTERM to the child and wait for it (up to 10 s, then SIGKILL); joins the thread. Idempotent.
  void stop();
  pid_t pid() const;
  const std::string& name() const { return spec_.name; }

 private:
  void run();
  pid_t spawn();

  child_spec spec_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  pid_t pid_ = -1;
  std::thread thread_;
};

// "exit N", "signal N" for a waitpid status.
std::string describe_wait_status(int st);

}  // namespace mailfort::common
