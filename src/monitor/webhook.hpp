// monitor/webhook.hpp: POST each alert transition as JSON to an http:// URL (monitor.webhook).
// SPDX-License-Identifier: MIT
// The receiver is the admin's own (a chat bridge, an incident tool, a local relay for HTTPS), so plain HTTP
// is enough and no redirect is ever followed. Posts are sent one at a time in order, each bounded by a 5 s
// deadline; at most 100 wait, further ones are dropped and counted, so a dead receiver can neither block the
// server nor grow its memory. Failures are logged (`webhook_failed`), never retried: the alert is also in the
// log and in /api/alerts.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::monitor {

struct webhook_url {
  std::string host;  // name or IPv4 address; "[v6]" without brackets
  std::string port = "80";
  std::string target = "/";
};
// [pure] "http://host[:port][/path]" -> parts; nullopt for anything else (https, userinfo, bad port, spaces).
std::optional<webhook_url> parse_webhook_url(std::string_view url);

class webhook {
 public:
  // ex: where the posts run (one thread or a strand). Throws std::invalid_argument for a bad URL.
  webhook(boost::asio::any_io_executor ex, std::string_view url,
          std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~webhook();
  webhook(const webhook&) = delete;
  webhook& operator=(const webhook&) = delete;
  // Thread-safe: queue one JSON body for POSTing.
  void post(nlohmann::json body);
  std::uint64_t sent() const;
  std::uint64_t failed() const;
  std::uint64_t dropped() const;
  // Stop sending (pending posts are discarded); call before the executor's loop stops.
  void stop();

 private:
  struct state;
  std::shared_ptr<state> s_;
};

}  // namespace mailfort::monitor
