// daemon/control.hpp: the control channel of `mailfort serve` (issue 16 item 5): a UNIX stream socket in the data
// directory (<data_dir>/control.sock, mode 0600) through which the CLI asks the running server to flush the queue,
// ban, unban, release, reload and report its status, instead of doing that work itself next to it.
// SPDX-License-Identifier: MIT
// Protocol: one JSON object per line each way: the client writes {"verb": "...", ...}\n, the server answers one
// JSON line ({"ok": true, ...} or {"ok": false, "error": "..."}) and closes. A request line is at most
// k_max_request bytes and must arrive within k_read_timeout; one client at a time (the channel is for the admin).
// Only clients with the server's uid (or root) are served (SO_PEERCRED); others are refused and logged.
#pragma once
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace mailfort::daemon {

inline constexpr std::size_t k_max_request = 64 * 1024;
inline constexpr std::chrono::milliseconds k_read_timeout{2000};

// The verbs the server answers.
inline constexpr std::string_view k_control_verbs[] = {"status", "flush", "reload", "ban", "unban", "release"};

struct control_request {
  std::string verb;
  nlohmann::json args = nlohmann::json::object();  // the whole request object
};

// [pure] One request line (without its newline): a JSON object with a known string "verb". Returns the request,
// or nullopt with `error` set (not JSON, not an object, missing or unknown verb, too long).
std::optional<control_request> parse_control_request(std::string_view line, std::string& error);

// <data_dir>/control.sock
std::filesystem::path control_socket_path(const std::filesystem::path& data_dir);

class control_server {
 public:
  // handler runs on the control thread, one request at a time; it returns the reply object.
  using handler = std::function<nlohmann::json(const control_request&)>;
  control_server(std::filesystem::path socket_path, handler h);
  ~control_server();
  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  // Removes a stale socket (no server answers on it), binds (umask 077, then chmod 0600) and starts the thread.
  // Throws if another server already answers on the socket or it cannot be bound.
  void start();
  void stop();  // joins the thread and removes the socket

 private:
  void loop();
  void serve_one(int fd);

  std::filesystem::path path_;
  handler handler_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The CLI side: sends one request and returns the reply, or nullopt when no server runs (no socket, or nobody
// accepts on it). Throws std::runtime_error on any other failure (permission denied, timeout, bad reply).
std::optional<nlohmann::json> control_ask(const std::filesystem::path& socket_path, const nlohmann::json& request,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace mailfort::daemon
