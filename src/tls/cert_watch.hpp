// tls/cert_watch.hpp: reload the server certificate when its files change (certbot, lego, an ACME client), without
// a restart (issue 19). SPDX-License-Identifier: MIT
// The certificate and key files are polled (stat: device, inode, size, modification time, following symlinks as
// certbot's live/ directory needs) every `interval` on one executor. A change is acted on once the files have stayed
// the same for one more poll, so a renewal that renames the key and then the certificate is loaded as a pair. Then
// context_holder::reload() builds a new context: new handshakes (SMTP, submission, 465, the MTA-STS listener) use it,
// sessions in progress keep theirs. A pair that does not load (truncated PEM, key of another certificate) keeps the
// serving context and is reported through on_result(false, why); it is not retried until the files change again.
#pragma once
#include "tls/server_context.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace mailfort::tls {

class cert_watcher {
 public:
  // on_result(ok, error): called on the executor after each reload attempt the watcher made.
  cert_watcher(boost::asio::any_io_executor ex, context_holder& holder,
               std::function<void(bool ok, const std::string& error)> on_result,
               std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  void start();
  void stop();  // on the executor

  // What stat() says about both files now ("" parts for a file that is missing); for tests and logs.
  std::string fingerprint() const;

 private:
  void arm();
  void poll();

  context_holder& holder_;
  std::function<void(bool, const std::string&)> on_result_;
  std::chrono::milliseconds interval_;
  boost::asio::steady_timer timer_;
  std::string loaded_;    // the fingerprint of the files serving now (or last tried)
  std::string previous_;  // the fingerprint at the previous poll
  bool stopped_ = false;
};

}  // namespace mailfort::tls
