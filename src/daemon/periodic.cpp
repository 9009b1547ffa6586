// daemon/periodic.cpp: periodic jobs (see periodic.hpp).
// SPDX-License-Identifier: MIT
#include "daemon/periodic.hpp"

#include <boost/asio/post.hpp>

#include <atomic>
#include <memory>

namespace mailfort::daemon {

periodic::periodic(boost::asio::any_io_executor ex, std::chrono::seconds every, std::function<void()> tick)
    : timer_(std::move(ex)), every_(every), tick_(std::move(tick)) {}

periodic::~periodic() { timer_.cancel(); }

void periodic::start() { arm(); }

void periodic::arm() {
  timer_.expires_after(every_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the object is going away
    tick_();
    arm();
  });
}

std::function<void()> one_at_a_time(boost::asio::thread_pool& pool, std::function<void()> job) {
  auto busy = std::make_shared<std::atomic<bool>>(false);
  auto shared_job = std::make_shared<std::function<void()>>(std::move(job));
  return [&pool, busy, shared_job] {
    if (busy->exchange(true)) return;
    boost::asio::post(pool, [busy, shared_job] {
      (*shared_job)();
      *busy = false;
    });
  };
}

}  // namespace mailfort::daemon
