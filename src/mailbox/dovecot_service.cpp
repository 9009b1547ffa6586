// mailbox/dovecot_service.cpp: Dovecot's supervisor and the passwd-file writer.
// SPDX-License-Identifier: MIT
#include "mailbox/dovecot_service.hpp"

#include "common/sqlite.hpp"
#include "log/logger.hpp"
#include "mailbox/login_guard.hpp"
#include "sasl/app_passwords.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace mailfort::mailbox {

namespace fs = std::filesystem;

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

pid_t dovecot_service::pid() const { return child_ ? child_->pid() : -1; }

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
  common::child_spec spec;
  spec.name = "dovecot";
  spec.argv = {cfg_.imap.dovecot, "-F", "-c", paths_.config.string()};
  spec.log = paths_.log;
  spec.config = paths_.config.string();
  spec.restart_max = std::chrono::milliseconds(1000LL * cfg_.imap.restart_max_s);
  spec.flapping_note = "Dovecot keeps dying; see its log";
  // Dovecot stat()s a passwd-file at most once a second; a reload (SIGHUP) makes a new or removed user (or a new
  // password) count at the next login instead of up to a second later. Sessions already open are kept.
  spec.tick = [this] {
    try {
      if (sync_users()) {
        log::info("dovecot_users_written", {{"users", paths_.users.string()}});
        return true;
      }
    } catch (const std::exception& e) {
      log::error("dovecot_users_failed", {{"error", e.what()}});
    }
    return false;
  };
  child_ = std::make_unique<common::child_supervisor>(std::move(spec));
  child_->start();
}

void dovecot_service::reload() {
  if (child_) child_->reload();
}

void dovecot_service::stop() {
  struct stop_guard_after {  // the policy server outlives Dovecot's last login
    dovecot_service* s;
    ~stop_guard_after() {
      if (s->login_guard_) s->login_guard_->stop();
    }
  } after{this};
  if (child_) child_->stop();
}

}  // namespace mailfort::mailbox
