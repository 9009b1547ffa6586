// daemon/control.cpp: the control channel's socket, request parsing and client (see daemon/control.hpp).
// SPDX-License-Identifier: MIT
#include "daemon/control.hpp"

#include "log/logger.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace mailfort::daemon {

namespace fs = std::filesystem;

std::optional<control_request> parse_control_request(std::string_view line, std::string& error) {
  if (line.size() > k_max_request) {
    error = "request too long";
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded()) {
    error = "request is not JSON";
    return std::nullopt;
  }
  if (!j.is_object()) {
    error = "request is not a JSON object";
    return std::nullopt;
  }
  auto it = j.find("verb");
  if (it == j.end() || !it->is_string()) {
    error = "request has no \"verb\"";
    return std::nullopt;
  }
  const auto verb = it->get<std::string>();
  if (std::find(std::begin(k_control_verbs), std::end(k_control_verbs), verb) == std::end(k_control_verbs)) {
    error = "unknown verb";
    return std::nullopt;
  }
  control_request r;
  r.verb = verb;
  r.args = std::move(j);
  return r;
}

fs::path control_socket_path(const fs::path& data_dir) { return data_dir / "control.sock"; }

namespace control_io {

// A sockaddr_un for path. sun_path holds 107 bytes: a longer path is reached through its directory's descriptor
// (/proc/self/fd/N/name), which bind and connect resolve like any path. dir_fd keeps that descriptor open.
struct unix_address {
  sockaddr_un sa{};
  int dir_fd = -1;
  explicit unix_address(const fs::path& path) {
    sa.sun_family = AF_UNIX;
    std::string p = path.string();
    if (p.size() >= sizeof(sa.sun_path)) {
      dir_fd = ::open(path.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dir_fd < 0)
        throw std::runtime_error("cannot open " + path.parent_path().string() + ": " + std::strerror(errno));
      p = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + path.filename().string();
      if (p.size() >= sizeof(sa.sun_path)) throw std::runtime_error("control socket name too long");
    }
    std::memcpy(sa.sun_path, p.data(), p.size());
  }
  ~unix_address() {
    if (dir_fd >= 0) ::close(dir_fd);
  }
  unix_address(const unix_address&) = delete;
  unix_address& operator=(const unix_address&) = delete;
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&sa); }
  socklen_t len() const { return sizeof(sa); }
};

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Connects to path: the descriptor, or -1 with errno (ENOENT, ECONNREFUSED: nobody serves).
int connect_to(const fs::path& path) {
  unix_address a(path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, a.addr(), a.len()) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads up to '\n' (not kept). Empty optional when the line is longer than max, the peer is too slow or gone.
std::optional<std::string> read_line(int fd, std::size_t max, std::chrono::milliseconds timeout, std::string& why) {
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      why = "request too slow";
      return std::nullopt;
    }
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) {
      why = "request too slow";
      return std::nullopt;
    }
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!buf.empty() && n == 0 && buf.size() <= max) return buf;  // last line without newline
      why = "connection closed";
      return std::nullopt;
    }
    std::string_view got(chunk, static_cast<std::size_t>(n));
    auto nl = got.find('\n');
    buf.append(got.substr(0, nl));
    if (buf.size() > max) {
      why = "request too long";
      return std::nullopt;
    }
    if (nl != std::string_view::npos) return buf;
  }
}

}  // namespace control_io

using control_io::connect_to;
using control_io::fd_guard;
using control_io::read_line;
using control_io::unix_address;
using control_io::write_all;

control_server::control_server(fs::path socket_path, handler h)
    : path_(std::move(socket_path)), handler_(std::move(h)) {}

control_server::~control_server() { stop(); }

void control_server::start() {
  // A socket left by a server that died: nobody accepts on it, so it is removed; a live server keeps it.
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path_, ec))) {
    int fd = connect_to(path_);
    if (fd >= 0) {
      ::close(fd);
      throw std::runtime_error("another server answers on " + path_.string());
    }
    fs::remove(path_, ec);
  }
  unix_address a(path_);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("control socket: ") + std::strerror(errno));
  mode_t old = ::umask(077);  // created 0600 from the start, then made so explicitly
  int rc = ::bind(listen_fd_, a.addr(), a.len());
  int e = errno;
  ::umask(old);
  if (rc != 0 || ::chmod(path_.c_str(), 0600) != 0 || ::listen(listen_fd_, 8) != 0) {
    if (rc == 0) e = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    throw std::runtime_error("cannot listen on " + path_.string() + ": " + std::strerror(e));
  }
  log::info("control_listening", {{"socket", path_.string()}});
  thread_ = std::thread([this] { loop(); });
}

void control_server::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    std::error_code ec;
    fs::remove(path_, ec);
  }
}

void control_server::loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, 200);
    if (pr <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    fd_guard g{fd};
    try {
      serve_one(fd);
    } catch (const std::exception& ex) {
      log::warning("control_error", {{"error", ex.what()}});
    }
  }
}

void control_server::serve_one(int fd) {
  ucred cred{};
  socklen_t clen = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
    log::warning("control_refused", {{"reason", "no peer credentials"}});
    return;
  }
  std::string why;
  auto line = read_line(fd, k_max_request, k_read_timeout, why);  // read first: the refusal is then not lost in a reset
  if (cred.uid != ::geteuid() && cred.uid != 0) {
    log::warning("control_refused", {{"uid", cred.uid}, {"pid", cred.pid}, {"reason", "not the server's user"}});
    write_all(fd, nlohmann::json{{"ok", false}, {"error", "refused: not the server's user"}}.dump() + "\n");
    return;
  }
  nlohmann::json reply;
  std::optional<control_request> req;
  if (line) req = parse_control_request(*line, why);
  if (!req) {
    log::warning("control_error", {{"error", why}, {"uid", cred.uid}});
    reply = {{"ok", false}, {"error", why}};
  } else {
    try {
      reply = handler_(*req);
    } catch (const std::exception& ex) {
      reply = {{"ok", false}, {"error", ex.what()}};
    }
    bool ok = reply.value("ok", false);
    nlohmann::json f{{"verb", req->verb}, {"result", ok ? "ok" : "error"}, {"uid", cred.uid}};
    if (!ok) f["error"] = reply.value("error", "");
    log::info("control_request", std::move(f));
  }
  write_all(fd, reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::optional<nlohmann::json> control_ask(const fs::path& socket_path, const nlohmann::json& request,
                                          std::chrono::milliseconds timeout) {
  int fd = connect_to(socket_path);
  if (fd < 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) return std::nullopt;
    throw std::runtime_error("cannot connect to " + socket_path.string() + ": " + std::strerror(errno));
  }
  fd_guard g{fd};
  if (!write_all(fd, request.dump() + "\n")) throw std::runtime_error("the server closed the control channel");
  std::string why;
  auto line = read_line(fd, 16 * 1024 * 1024, timeout, why);
  if (!line) throw std::runtime_error("no reply from the server: " + why);
  auto j = nlohmann::json::parse(*line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error("the server's reply is not JSON");
  return j;
}

}  // namespace mailfort::daemon
