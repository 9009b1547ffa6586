// mailbox/login_guard.cpp: the auth policy server and the access socket for Dovecot (login_guard.hpp).
// SPDX-License-Identifier: MIT
#include "mailbox/login_guard.hpp"

#include "log/logger.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace mailfort::mailbox {

namespace {

constexpr std::size_t k_max_request = 64 * 1024;
constexpr std::size_t k_max_field = 256;
constexpr std::size_t k_max_connections = 256;
// An extra point (on top of the failed login's own) once a source has failed on this many distinct accounts within
// the ban window.
constexpr std::size_t k_stuffing_accounts = 3;
// Password spraying: a password failing on this many distinct accounts within the ban window is being sprayed;
// every failure with it then scores k_spray_points more (half the default threshold: two such failures from one
// source ban it with the failures' own points, one stray failure does not).
constexpr std::size_t k_spray_accounts = 5;
constexpr double k_spray_points = 2.5;
constexpr std::size_t k_max_tracked = 1000;  // accounts, sources per key

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(b.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("getrandom failed");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string capped(std::string s) {
  if (s.size() > k_max_field) s.resize(k_max_field);
  return s;
}

bool iequal_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char a = line[i], b = name[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct connection {
  int fd = -1;
  bool access = false;
  std::string in;
  std::string out;
  bool close_after_write = false;
};

std::string http_response(int code, const char* reason, const std::string& body, bool close) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + reason +
                  "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) r += "Connection: close\r\n";
  r += "\r\n";
  r += body;
  return r;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

bool parse_policy_request(std::string_view target, std::string_view body, policy_request& out) {
  auto q = target.find("command=");
  if (q == std::string_view::npos) return false;
  std::string_view cmd = target.substr(q + 8);
  cmd = cmd.substr(0, cmd.find('&'));
  if (cmd != "allow" && cmd != "report") return false;
  out.command = std::string(cmd);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto str = [&j](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? capped(it->get<std::string>()) : std::string();
  };
  auto flag = [&j](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  out.login = str("login");
  out.remote = str("remote");
  out.protocol = str("protocol");
  out.session = str("session_id");
  out.pwhash = str("pwhash");
  out.pwspray = str("pwspray");
  out.tls = flag("tls");
  out.success = flag("success");
  out.policy_reject = flag("policy_reject");
  return true;
}

std::size_t distinct_counter::add(const std::string& key, const std::string& account,
                                  std::chrono::steady_clock::time_point now) {
  if (key.empty()) return 0;
  auto it = seen_.find(key);
  if (it == seen_.end()) {
    if (seen_.size() >= max_keys_) {
      // Bounded memory: drop expired keys, and if all are live, the smallest key (an attacker who floods keys
      // only loses their own tracking).
      for (auto i = seen_.begin(); i != seen_.end();) {
        bool live = false;
        for (auto& [a, t] : i->second) live = live || now - t < window_;
        i = live ? std::next(i) : seen_.erase(i);
      }
      if (seen_.size() >= max_keys_) seen_.erase(seen_.begin());
    }
    it = seen_.emplace(key, std::map<std::string, std::chrono::steady_clock::time_point>{}).first;
  }
  auto& accounts = it->second;
  for (auto a = accounts.begin(); a != accounts.end();)
    a = now - a->second >= window_ ? accounts.erase(a) : std::next(a);
  if (accounts.size() < k_max_tracked || accounts.count(account)) accounts[account] = now;
  return accounts.size();
}

spray_tracker::verdict spray_tracker::add(const std::string& hash, const std::string& account,
                                          const std::string& source, const std::string& address, time_point now) {
  verdict v;
  if (hash.empty()) return v;
  auto it = seen_.find(hash);
  if (it == seen_.end()) {
    if (seen_.size() >= max_keys_) {
      // Bounded memory: drop the keys idle for a window, and if all are live, the smallest key.
      std::erase_if(seen_, [&](const auto& kv) { return now - kv.second.last >= window_; });
      if (seen_.size() >= max_keys_) seen_.erase(seen_.begin());
    }
    it = seen_.emplace(hash, entry{}).first;
  }
  entry& e = it->second;
  e.last = now;
  std::erase_if(e.accounts, [&](const auto& kv) { return now - kv.second >= window_; });
  std::erase_if(e.sources, [&](const auto& kv) { return now - kv.second.last >= window_; });
  if (e.accounts.size() < k_max_tracked || e.accounts.count(account)) e.accounts[account] = now;
  v.accounts = e.accounts.size();
  if (v.accounts < accounts_) {
    e.sprayed = false;
    if (e.sources.size() < k_max_tracked || e.sources.count(source)) {
      auto& t = e.sources[source];
      t.address = address;
      ++t.failures;
      t.last = now;
    }
    return v;
  }
  v.sprayed = true;
  if (!e.sprayed) {
    e.sprayed = true;
    for (auto& [src, t] : e.sources) {
      if (src == source)
        v.own_earlier = t.failures;
      else if (t.failures > 0)
        v.earlier.push_back({src, t.address, t.failures});
    }
    e.sources.clear();  // handed out: each failure is scored as spraying once
  }
  return v;
}

login_guard::login_guard(policy::guard& guard, std::filesystem::path access_socket, std::chrono::seconds window)
    : guard_(guard),
      access_path_(std::move(access_socket)),
      token_(random_hex(24)),
      nonce_(random_hex(16)),
      by_source_(window, 10000),
      by_password_(window, k_spray_accounts, 10000),
      empty_spray_(spray_hash("")) {}

std::string login_guard::spray_hash(const std::string& password) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(password.data(), password.size(), md, &len, EVP_sha256(), nullptr) != 1 || len < 8)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 8; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

login_guard::~login_guard() { stop(); }

std::string login_guard::url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/dovecot/policy"; }
std::string login_guard::header() const { return "Authorization: Bearer " + token_; }
std::string login_guard::nonce() const { return nonce_; }

bool login_guard::allowed(const std::string& ip) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(ip, ec);
  if (ec) return true;  // not an IP (a UNIX socket client): nothing to ban
  return !guard_.banned(a);
}

std::string login_guard::handle(const policy_request& r) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(r.remote, ec);
  const std::string protocol = r.protocol.empty() ? "imap" : r.protocol;
  if (r.command == "allow") {
    if (!ec && guard_.banned(a)) {
      log::warning("reject", {{"listener", protocol},
                              {"client_ip", r.remote},
                              {"session", r.session},
                              {"stage", "login"},
                              {"rule", "banned"}});
      return R"({"status":-1,"msg":"Login refused."})";
    }
    return R"({"status":0,"msg":""})";
  }
  // report: the outcome of one login.
  if (r.policy_reject) return R"({"status":0,"msg":""})";  // refused by us above: already logged, not scored again
  nlohmann::json f = {{"listener", protocol},
                      {"client_ip", r.remote},
                      {"session", r.session},
                      {"user", r.login},
                      {"mechanism", "dovecot"},
                      {"tls", r.tls},
                      {"result", r.success ? "success" : "failure"}};
  if (r.success) {
    log::info("auth", std::move(f));
    return R"({"status":0,"msg":""})";
  }
  log::warning("auth", std::move(f));
  if (ec) return R"({"status":0,"msg":""})";
  double points = 1.0;
  auto now = std::chrono::steady_clock::now();
  const std::string source = guard_.source_of(a);
  if (auto n = by_source_.add(source, r.login, now); n >= k_stuffing_accounts) {
    points += 1.0;
    log::warning("credential_stuffing", {{"listener", protocol}, {"client_ip", r.remote}, {"accounts", n}});
  }
  // session: the login that caused it; empty for a source banned for its earlier sprayed failures.
  auto log_ban = [&](const std::optional<policy::ban_record>& ban, const std::string& ip, const std::string& session) {
    if (!ban) return;
    log::warning("ban", {{"listener", protocol},
                         {"client_ip", ip},
                         {"session", session},
                         {"source", ban->source},
                         {"reason", ban->reason},
                         {"until", ban->until},
                         {"duration_s", ban->until - ban->created},
                         {"count", ban->count}});
  };
  if (r.pwspray != empty_spray_) {
    auto v = by_password_.add(r.pwspray, r.login, source, r.remote, now);
    if (v.sprayed) {
      const double pts = k_spray_points * (1 + v.own_earlier);
      points += pts;
      log::warning("password_spraying", {{"listener", protocol},
                                         {"client_ip", r.remote},
                                         {"accounts", v.accounts},
                                         {"failures", 1 + v.own_earlier},
                                         {"points", pts}});
    }
    // The sources that tried the same password before it was recognised: scored now.
    for (const auto& e : v.earlier) {
      boost::system::error_code bad;
      auto ea = boost::asio::ip::make_address(e.address, bad);
      if (bad) continue;
      const double pts = k_spray_points * e.failures;
      log::warning("password_spraying", {{"listener", protocol},
                                         {"client_ip", e.address},
                                         {"accounts", v.accounts},
                                         {"failures", e.failures},
                                         {"points", pts}});
      log_ban(guard_.record(ea, policy::offence::auth_failure, pts), e.address, "");
    }
  }
  log_ban(guard_.record(a, policy::offence::auth_failure, points), r.remote, r.session);
  return R"({"status":0,"msg":""})";
}

void login_guard::start() {
  http_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (http_fd_ < 0) throw std::runtime_error("auth policy socket: " + std::string(std::strerror(errno)));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = 0;
  socklen_t len = sizeof sin;
  if (::bind(http_fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 || ::listen(http_fd_, 64) != 0 ||
      ::getsockname(http_fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0)
    throw std::runtime_error("auth policy listener: " + std::string(std::strerror(errno)));
  port_ = ntohs(sin.sin_port);
  set_nonblocking(http_fd_);

  access_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  const std::string path = access_path_.string();
  if (access_fd_ < 0 || path.size() >= sizeof sun.sun_path)
    throw std::runtime_error("access socket path too long: " + path);
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  mode_t old = ::umask(077);
  int rc = ::bind(access_fd_, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  ::umask(old);
  if (rc != 0 || ::listen(access_fd_, 64) != 0)
    throw std::runtime_error("access socket " + path + ": " + std::strerror(errno));
  set_nonblocking(access_fd_);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe failed");
  thread_ = std::thread([this] { run(); });
  log::info("dovecot_policy_listening", {{"url", url()}, {"access_socket", path}});
}

void login_guard::stop() {
  if (thread_.joinable()) {
    char c = 'x';
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
  }
  for (int* fd : {&http_fd_, &access_fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (!access_path_.empty()) ::unlink(access_path_.c_str());
}

void login_guard::run() {
  std::vector<connection> conns;
  std::vector<pollfd> pfds;
  while (true) {
    pfds.clear();
    pfds.push_back({wake_[0], POLLIN, 0});
    pfds.push_back({http_fd_, POLLIN, 0});
    pfds.push_back({access_fd_, POLLIN, 0});
    for (auto& c : conns) pfds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
    if (::poll(pfds.data(), pfds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log::error("dovecot_policy_failed", {{"error", std::strerror(errno)}});
      break;
    }
    if (pfds[0].revents) break;
    for (int i = 1; i <= 2; ++i) {
      if (!(pfds[static_cast<std::size_t>(i)].revents & POLLIN)) continue;
      int fd = ::accept4(pfds[static_cast<std::size_t>(i)].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) continue;
      if (conns.size() >= k_max_connections) {
        ::close(fd);
        continue;
      }
      connection c;
      c.fd = fd;
      c.access = i == 2;
      conns.push_back(std::move(c));
    }
    // Connections: pfds[3 + k] belongs to conns[k] (as they were before the accepts above).
    const std::size_t polled = pfds.size() - 3;
    for (std::size_t k = 0; k < polled; ++k) {
      auto& c = conns[k];
      const short rev = pfds[3 + k].revents;
      if (!rev) continue;
      if (rev & POLLOUT) {
        ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || (c.out.empty() && c.close_after_write)) {
          ::close(c.fd);
          c.fd = -1;
        }
        continue;
      }
      if (c.access) {
        // "<protocol>\n" with the client's socket as SCM_RIGHTS; answer "1\n" or "0\n".
        char buf[256];
        iovec iov{buf, sizeof buf};
        alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl;
        msg.msg_controllen = sizeof ctrl;
        ssize_t n = ::recvmsg(c.fd, &msg, MSG_CMSG_CLOEXEC);
        if (n <= 0) {
          if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            ::close(c.fd);
            c.fd = -1;
          }
          continue;
        }
        int client_fd = -1;
        for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
          if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len >= CMSG_LEN(sizeof(int)))
            std::memcpy(&client_fd, CMSG_DATA(cm), sizeof(int));
        std::string ip;
        if (client_fd >= 0) {
          sockaddr_storage ss{};
          socklen_t sl = sizeof ss;
          char text[INET6_ADDRSTRLEN] = {};
          if (::getpeername(client_fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) {
            if (ss.ss_family == AF_INET)
              ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
            else if (ss.ss_family == AF_INET6)
              ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text);
          }
          ::close(client_fd);
          ip = text;
          if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
        }
        std::string protocol(buf, static_cast<std::size_t>(n));
        while (!protocol.empty() && (protocol.back() == '\n' || protocol.back() == '\r')) protocol.pop_back();
        bool ok = ip.empty() || allowed(ip);
        if (!ok)
          log::warning("reject",
                       {{"listener", capped(protocol)}, {"client_ip", ip}, {"stage", "connect"}, {"rule", "banned"}});
        c.out = ok ? "1\n" : "0\n";
        continue;
      }
      char buf[8192];
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          ::close(c.fd);
          c.fd = -1;
        }
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      // Every complete request in the buffer (keep-alive; Dovecot sends one at a time).
      while (true) {
        auto end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (c.in.size() > k_max_request) {
            c.out = http_response(413, "Payload Too Large", "{}", true);
            c.close_after_write = true;
          }
          break;
        }
        std::string_view head(c.in.data(), end);
        std::string_view request_line = head.substr(0, head.find("\r\n"));
        std::size_t content_length = 0;
        bool authorized = false;
        bool bad = false;
        std::size_t pos = request_line.size();
        while (pos < head.size()) {
          pos += 2;
          auto eol = head.find("\r\n", pos);
          std::string_view line = head.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
          pos = eol == std::string_view::npos ? head.size() : eol;
          if (iequal_prefix(line, "content-length:")) {
            std::string_view v = trim(line.substr(15));
            content_length = 0;
            if (v.empty() || v.size() > 6) bad = true;
            for (char ch : v) {
              if (ch < '0' || ch > '9') bad = true;
              content_length = content_length * 10 + static_cast<std::size_t>(ch - '0');
            }
          } else if (iequal_prefix(line, "authorization:")) {
            authorized = trim(line.substr(14)) == "Bearer " + token_;
          }
        }
        if (bad || content_length > k_max_request) {
          c.out += http_response(400, "Bad Request", "{}", true);
          c.close_after_write = true;
          break;
        }
        if (c.in.size() < end + 4 + content_length) break;  // body not complete yet
        std::string_view body(c.in.data() + end + 4, content_length);
        auto sp1 = request_line.find(' ');
        auto sp2 = request_line.rfind(' ');
        std::string_view target = sp1 == std::string_view::npos || sp2 <= sp1
                                      ? std::string_view()
                                      : request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        policy_request r;
        if (!authorized) {
          c.out += http_response(401, "Unauthorized", "{}", true);
          c.close_after_write = true;
        } else if (request_line.substr(0, 5) != "POST " || !parse_policy_request(target, body, r)) {
          c.out += http_response(400, "Bad Request", "{}", false);
        } else {
          try {
            c.out += http_response(200, "OK", handle(r), false);
          } catch (const std::exception& e) {
            log::error("dovecot_policy_failed", {{"error", e.what()}});
            c.out += http_response(500, "Internal Server Error", "{}", false);
          }
        }
        c.in.erase(0, end + 4 + content_length);
        if (c.close_after_write) break;
      }
    }
    std::erase_if(conns, [](const connection& c) { return c.fd < 0; });
  }
  for (auto& c : conns)
    if (c.fd >= 0) ::close(c.fd);
}

}  // namespace mailfort::mailbox
