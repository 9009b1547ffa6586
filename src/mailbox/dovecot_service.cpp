// mailbox/dovecot_service.cpp: Dovecot's supervisor and the passwd-file writer.
// SPDX-License-Identifier: MIT
#include "mailbox/dovecot_service.hpp"

#include "common/sqlite.hpp"
#include "log/logger.hpp"
#include "mailbox/login_guard.hpp"
#include "sasl/app_passwords.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace mailfort::mailbox {

namespace fs = std::filesystem;
using clock_t_ = std::chrono::steady_clock;

namespace {

bool safe_field(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c == ':' || c < 0x21 || c == 0x7f) return false;
  return true;
}

// Write `text` to `path` atomically (temp file, fsync, rename, directory fsync) with mode 0600 and an mtime
// after `min_mtime`: Dovecot notices a passwd-file change by mtime (seconds) or size, and two rewrites of the
// same size in one second (a new password: argon2id strings have one length) would otherwise go unseen.
long long write_atomic(const fs::path& path, const std::string& text, long long min_mtime) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(e));
    }
    off += static_cast<std::size_t>(n);
  }
  long long now = static_cast<long long>(::time(nullptr));
  long long mtime = now > min_mtime ? now : min_mtime + 1;
  timespec ts[2] = {{static_cast<time_t>(mtime), 0}, {static_cast<time_t>(mtime), 0}};
  ::futimens(fd, ts);
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw std::runtime_error("cannot fsync " + tmp.string());
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp.string() + ": " + std::strerror(errno));
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return mtime;
}

void write_plain(const fs::path& path, const std::string& text) { write_atomic(path, text, 0); }

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return std::string("signal ") + std::to_string(WTERMSIG(st));
  return "status " + std::to_string(st);
}

}  // namespace

std::string render_passwd_file(const std::vector<std::pair<std::string, std::string>>& users) {
  std::string out;
  for (const auto& [address, hash] : users) {
    if (!safe_field(address) || !safe_field(hash) || hash.rfind("$argon2", 0) != 0) continue;
    out += address;
    out += ":{ARGON2ID}";
    out += hash;
    out += "\n";
  }
  return out;
}

dovecot_service::dovecot_service(const config::config& cfg, std::string state_db, policy::guard* guard)
    : cfg_(cfg), state_db_(std::move(state_db)), guard_(guard), paths_(paths_for(cfg)) {}

dovecot_service::~dovecot_service() { stop(); }

pid_t dovecot_service::pid() const {
  std::lock_guard lk(mu_);
  return pid_;
}

bool dovecot_service::sync_users() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(state_db_.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, nullptr) != SQLITE_OK) {
    std::string err = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open state database " + state_db_ + ": " + err);
  }
  sqlite3_busy_timeout(db, 1000);
  using rows_t = std::vector<std::pair<std::string, std::string>>;
  std::vector<rows_t> files(1 + sasl::k_max_app_passwords);
  try {
    {
      common::sql_stmt s(db, "SELECT address, hash FROM users ORDER BY address");
      while (sqlite3_step(s.s) == SQLITE_ROW) files[0].emplace_back(s.col(0), s.col(1));
    }
    // The n-th app password of each user goes to app-n.
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT address, hash FROM app_passwords ORDER BY address, created, name", -1, &raw,
                           nullptr) == SQLITE_OK) {
      std::string last;
      std::size_t n = 0;
      while (sqlite3_step(raw) == SQLITE_ROW) {
        const auto* a = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
        const auto* h = reinterpret_cast<const char*>(sqlite3_column_text(raw, 1));
        if (!a || !h) continue;
        n = last == a ? n + 1 : 1;
        last = a;
        if (n <= sasl::k_max_app_passwords) files[n].emplace_back(a, h);
      }
    }
    sqlite3_finalize(raw);
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
  files_text_.resize(files.size());
  files_mtime_.resize(files.size(), 0);
  bool changed = false;
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::string text = render_passwd_file(files[i]);
    if (files_written_ && text == files_text_[i]) continue;
    fs::path path = i == 0 ? paths_.users : paths_.dir / ("app-" + std::to_string(i));
    files_mtime_[i] = write_atomic(path, text, files_mtime_[i]);
    files_text_[i] = std::move(text);
    changed = true;
  }
  files_written_ = true;
  return changed;
}

pid_t dovecot_service::spawn() {
  std::string bin = cfg_.imap.dovecot;
  std::string conf = paths_.config.string();
  std::vector<std::string> args = {bin, "-F", "-c", conf};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int logfd = ::open(paths_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int nullfd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
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
    ::execve(bin.c_str(), argv.data(), environ);
    ::_exit(127);
  }
  int e = errno;
  if (logfd >= 0) ::close(logfd);
  if (nullfd >= 0) ::close(nullfd);
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(e));
  return pid;
}

void dovecot_service::start() {
  fs::create_directories(paths_.dir);
  ::chmod(paths_.dir.c_str(), 0700);
  fs::create_directories(paths_.state_dir);
  fs::create_directories(paths_.base_dir);
  ::chmod(paths_.base_dir.c_str(), 0755);
  fs::create_directories(paths_.mail_root);
  if (guard_) {
    // The access socket sits next to the configuration unless that path would not fit sun_path.
    fs::path access = paths_.dir / "access";
    if (access.string().size() > 100) access = paths_.base_dir.string() + "-access";
    login_guard_ = std::make_unique<login_guard>(*guard_, access, std::chrono::seconds(cfg_.ban.window_s));
    login_guard_->start();
    hooks_.policy_url = login_guard_->url();
    hooks_.policy_header = login_guard_->header();
    hooks_.policy_nonce = login_guard_->nonce();
    hooks_.access_socket = access.string();
  }
  write_plain(paths_.config, render_dovecot_config(cfg_, paths_, current_account(), hooks_));
  sync_users();
  // `dovecot -n` parses the configuration (and checks paths) without starting anything: a refused configuration
  // fails mailfort's start with Dovecot's own words instead of a restart loop.
  std::string cmd_out;
  {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::string bin = cfg_.imap.dovecot, conf = paths_.config.string();
    std::vector<std::string> args = {bin, "-n", "-c", conf};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int nullfd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(nullfd, 1);
      ::dup2(pipefd[1], 2);
      ::close_range(3, ~0U, 0);
      ::execve(bin.c_str(), argv.data(), environ);
      ::_exit(127);
    }
    ::close(pipefd[1]);
    if (nullfd >= 0) ::close(nullfd);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0 && cmd_out.size() < 16384) cmd_out.append(buf, static_cast<std::size_t>(n));
    ::close(pipefd[0]);
    int st = 0;
    if (pid > 0) ::waitpid(pid, &st, 0);
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      throw std::runtime_error("dovecot refused the generated configuration " + paths_.config.string() + ": " +
                               cmd_out);
  }
  log::info("dovecot_config_written", {{"config", paths_.config.string()}, {"users", paths_.users.string()}});
  {
    std::lock_guard lk(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void dovecot_service::run() {
  auto backoff = std::chrono::milliseconds(500);
  const auto max_backoff = std::chrono::milliseconds(1000LL * cfg_.imap.restart_max_s);
  auto next_start = clock_t_::now();
  auto started_at = clock_t_::now();
  std::deque<clock_t_::time_point> deaths;
  bool flapping = false;
  std::unique_lock lk(mu_);
  while (!stopping_) {
    auto now = clock_t_::now();
    if (pid_ < 0 && now >= next_start) {
      try {
        pid_ = spawn();
        started_at = now;
        log::info("dovecot_started", {{"pid", pid_}, {"config", paths_.config.string()}});
      } catch (const std::exception& e) {
        log::error("dovecot_start_failed", {{"error", e.what()}});
        next_start = now + backoff;
        backoff = std::min(backoff * 2, max_backoff);
      }
    } else if (pid_ > 0) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        auto up = std::chrono::duration_cast<std::chrono::milliseconds>(now - started_at);
        if (up > std::chrono::seconds(60)) backoff = std::chrono::milliseconds(500);
        log::error("dovecot_exited", {{"pid", pid_},
                                      {"status", describe_status(st)},
                                      {"uptime_ms", up.count()},
                                      {"restart_in_ms", backoff.count()},
                                      {"log", paths_.log.string()}});
        pid_ = -1;
        next_start = now + backoff;
        backoff = std::min(backoff * 2, max_backoff);
        deaths.push_back(now);
        while (!deaths.empty() && now - deaths.front() > std::chrono::minutes(5)) deaths.pop_front();
        if (deaths.size() >= 5 && !flapping) {
          // Also the alert `dovecot_flapping` (/api/alerts), cleared by `dovecot_recovered`.
          flapping = true;
          log::error("dovecot_flapping",
                     {{"deaths", deaths.size()}, {"window_s", 300}, {"note", "Dovecot keeps dying; see its log"}});
        }
      } else if (flapping && now - started_at >= std::chrono::seconds(60)) {
        flapping = false;
        deaths.clear();
        log::info(
            "dovecot_recovered",
            {{"pid", pid_}, {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(now - started_at).count()}});
      }
    }
    lk.unlock();
    bool users_changed = false;
    try {
      users_changed = sync_users();
      if (users_changed) log::info("dovecot_users_written", {{"users", paths_.users.string()}});
    } catch (const std::exception& e) {
      log::error("dovecot_users_failed", {{"error", e.what()}});
    }
    lk.lock();
    // Dovecot stat()s a passwd-file at most once a second; a reload makes a new or removed user (or a new
    // password) count at the next login instead of up to a second later. Sessions already open are kept.
    if (users_changed && pid_ > 0) ::kill(pid_, SIGHUP);
    cv_.wait_for(lk, std::chrono::milliseconds(200), [this] { return stopping_; });
  }
}

void dovecot_service::reload() {
  std::lock_guard lk(mu_);
  if (pid_ > 0) {
    ::kill(pid_, SIGHUP);
    log::info("dovecot_reloaded", {{"pid", pid_}});
  }
}

void dovecot_service::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  struct stop_guard_after {  // the policy server outlives Dovecot's last login
    dovecot_service* s;
    ~stop_guard_after() {
      if (s->login_guard_) s->login_guard_->stop();
    }
  } after{this};
  std::lock_guard lk(mu_);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      log::info("dovecot_stopped", {{"pid", pid_}, {"status", describe_status(st)}});
      pid_ = -1;
      return;
    }
    ::usleep(50 * 1000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &st, 0);
  log::warning("dovecot_killed", {{"pid", pid_}, {"note", "did not stop within 10 s of SIGTERM"}});
  pid_ = -1;
}

}  // namespace mailfort::mailbox
