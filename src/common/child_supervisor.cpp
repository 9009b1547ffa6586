// common/child_supervisor.cpp: one supervised child process (see child_supervisor.hpp).
// SPDX-License-Identifier: MIT
#include "common/child_supervisor.hpp"

#include "log/logger.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>

extern char** environ;

namespace mailfort::common {

using clock_t_ = std::chrono::steady_clock;

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return std::string("signal ") + std::to_string(WTERMSIG(st));
  return "status " + std::to_string(st);
}

pid_t child_supervisor::pid() const {
  std::lock_guard lk(mu_);
  return pid_;
}

pid_t child_supervisor::spawn() {
  if (spec_.argv.empty()) throw std::runtime_error("no command");
  std::vector<std::string> args = spec_.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int logfd = ::open(spec_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int nullfd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    // Its own process group: what it forks (rspamd's workers, Dovecot's services) can be killed with it.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGPIPE, SIGHUP, SIGTERM, SIGINT, SIGCHLD}) ::signal(s, SIG_DFL);
    if (nullfd >= 0) ::dup2(nullfd, 0);
    if (logfd >= 0) {
      ::dup2(logfd, 1);
      ::dup2(logfd, 2);
    }
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  int e = errno;
  if (pid > 0) ::setpgid(pid, pid);  // also here: whichever runs first
  if (logfd >= 0) ::close(logfd);
  if (nullfd >= 0) ::close(nullfd);
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(e));
  return pid;
}

void child_supervisor::start() {
  {
    std::lock_guard lk(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void child_supervisor::run() {
  const std::string& n = spec_.name;
  auto backoff = std::chrono::milliseconds(500);
  const auto max_backoff = std::max(spec_.restart_max, std::chrono::milliseconds(500));
  auto next_start = clock_t_::now();
  auto started_at = clock_t_::now();
  std::deque<clock_t_::time_point> deaths;
  bool flapping = false;
  std::unique_lock lk(mu_);
  while (!stopping_) {
    auto now = clock_t_::now();
    if (pid_ < 0 && now >= next_start) {
      lk.unlock();
      bool ready = !spec_.ready || spec_.ready();
      lk.lock();
      if (stopping_) break;
      if (ready) {
        try {
          pid_ = spawn();
          started_at = now;
          log::info(n + "_started", {{"pid", pid_}, {"config", spec_.config}});
        } catch (const std::exception& e) {
          log::error(n + "_start_failed", {{"error", e.what()}});
          next_start = now + backoff;
          backoff = std::min(backoff * 2, max_backoff);
        }
      }
    } else if (pid_ > 0) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        // Processes it left behind (rspamd's workers outlive a main process killed with SIGKILL and would keep
        // its port): its group goes with it.
        ::kill(-pid_, SIGKILL);
        auto up = std::chrono::duration_cast<std::chrono::milliseconds>(now - started_at);
        if (up > std::chrono::seconds(60)) backoff = std::chrono::milliseconds(500);
        log::error(n + "_exited", {{"pid", pid_},
                                   {"status", describe_wait_status(st)},
                                   {"uptime_ms", up.count()},
                                   {"restart_in_ms", backoff.count()},
                                   {"log", spec_.log.string()}});
        pid_ = -1;
        next_start = now + backoff;
        backoff = std::min(backoff * 2, max_backoff);
        deaths.push_back(now);
        while (!deaths.empty() && now - deaths.front() > std::chrono::minutes(5)) deaths.pop_front();
        if (deaths.size() >= 5 && !flapping) {
          // Also the alert `<name>_flapping` (/api/alerts), cleared by `<name>_recovered`.
          flapping = true;
          log::error(n + "_flapping", {{"deaths", deaths.size()}, {"window_s", 300}, {"note", spec_.flapping_note}});
        }
      } else if (flapping && now - started_at >= std::chrono::seconds(60)) {
        flapping = false;
        deaths.clear();
        log::info(
            n + "_recovered",
            {{"pid", pid_}, {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(now - started_at).count()}});
      }
    }
    if (spec_.tick) {
      lk.unlock();
      bool hup = spec_.tick();
      lk.lock();
      if (hup && pid_ > 0) ::kill(pid_, SIGHUP);
    }
    cv_.wait_for(lk, std::chrono::milliseconds(200), [this] { return stopping_; });
  }
}

void child_supervisor::reload() {
  std::lock_guard lk(mu_);
  if (pid_ > 0) {
    ::kill(pid_, SIGHUP);
    log::info(spec_.name + "_reloaded", {{"pid", pid_}});
  }
}

void child_supervisor::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      ::kill(-pid_, SIGKILL);  // anything of its group still there
      log::info(spec_.name + "_stopped", {{"pid", pid_}, {"status", describe_wait_status(st)}});
      pid_ = -1;
      return;
    }
    ::usleep(50 * 1000);
  }
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, &st, 0);
  log::warning(spec_.name + "_killed", {{"pid", pid_}, {"note", "did not stop within 10 s of SIGTERM"}});
  pid_ = -1;
}

}  // namespace mailfort::common
