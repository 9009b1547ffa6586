// daemon/periodic.hpp: the daemon's periodic work through one helper: a timer that runs a job every interval on
// an event loop (the guard's state.db refresh, the daily report runs), and the guard that runs a blocking job on
// the CPU pool at most once at a time.
// SPDX-License-Identifier: MIT
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <functional>

namespace mailfort::daemon {

class periodic {
 public:
  // Runs tick on ex every `every`, the first time one interval after start(). The executor's io_context must
  // outlive this object (destroy timers before their loops).
  periodic(boost::asio::any_io_executor ex, std::chrono::seconds every, std::function<void()> tick);
  ~periodic();
  periodic(const periodic&) = delete;
  periodic& operator=(const periodic&) = delete;
  void start();

 private:
  void arm();
  boost::asio::steady_timer timer_;
  std::chrono::seconds every_;
  std::function<void()> tick_;
};

// A tick that posts job to pool unless the previous run is still going (that tick is skipped): blocking work
// (DNS, SQLite, spool stores) off the event loop, one run at a time.
std::function<void()> one_at_a_time(boost::asio::thread_pool& pool, std::function<void()> job);

}  // namespace mailfort::daemon
