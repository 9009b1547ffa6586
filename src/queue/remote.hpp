// queue/remote.hpp: [pure] the interface between the queue runner and whatever delivers to other servers.
// SPDX-License-Identifier: MIT
// The runner owns the queue files; a transport (outbound::transport: SMTP to MX hosts or a smart host) only
// delivers and reports one result per recipient through the callback, on any thread. Dependencies point
// one way: outbound implements this header, queue never includes outbound.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::queue {

struct remote_job {
  std::string queue_id;
  std::string sender;
  std::string domain;  // the recipients' domain
  std::vector<std::string> recipients;
  std::shared_ptr<const std::string> file;  // keeps `message` alive
  std::string_view message;
  bool eight_bit = false;
  bool smtputf8 = false;
};

struct remote_result {
  enum class kind : std::uint8_t { delivered, temp, perm } k = kind::temp;
  std::string code;     // RFC 3463 "5.1.1"
  std::string reason;   // remote reply (printable) or our reason
  std::string relay;    // "host[ip]:port" or ""
  bool remote = false;  // reason is the server's reply
};

class remote_transport {
 public:
  using done_fn = std::function<void(std::vector<remote_result> per_recipient)>;
  virtual ~remote_transport() = default;
  // Starts delivery of one job; `done` runs exactly once (on any thread) unless the transport is stopped
  // first, in which case the queue file simply stays as it was (retried after a restart).
  virtual void submit(remote_job job, done_fn done) = 0;
};

}  // namespace mailfort::queue
