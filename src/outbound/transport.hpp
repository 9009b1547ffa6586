// outbound/transport.hpp: the remote side of the queue: one event loop thread running outbound deliveries.
// SPDX-License-Identifier: MIT
// Implements queue::remote_transport. Owns an io_context and its thread, a DNSSEC-validating resolver
// belonging to that loop, and the delivery engine. submit() may be called from any thread (the queue
// runner's); results come back through the job's callback on the loop thread. Concurrency limits are the
// runner's business (it decides what to submit).
// At construction, when DANE is enabled, the resolver is asked whether it really validates DNSSEC; if it
// does not, DANE is switched off with a loud `dane_unavailable` error line (a non-validating resolver would
// make every TLSA answer "insecure" at best, and failing all mail for it would be worse than no DANE).
#pragma once
#include "dns/resolver.hpp"
#include "outbound/delivery.hpp"
#include "queue/remote.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>

namespace mailfort::outbound {

class transport final : public queue::remote_transport {
 public:
  transport(dns::resolver_options ropts, engine_settings s);
  ~transport() override;
  void start();
  void stop();  // abandons deliveries in flight (their queue files stay as they were)
  void submit(queue::remote_job job, done_fn done) override;
  const engine_settings& settings() const { return engine_->settings(); }

 private:
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<dns::resolver> resolver_;
  std::unique_ptr<engine> engine_;
  std::thread thread_;
};

}  // namespace mailfort::outbound
