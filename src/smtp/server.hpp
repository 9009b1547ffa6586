// smtp/server.hpp: the listeners (MX 25, submission 587, submissions 465) and their connections.
// SPDX-License-Identifier: MIT
// SECURITY: this is the network edge. Connection caps (total and per IP) are enforced at accept, before
// any TLS work or session state is allocated. Each connection is one coroutine (server_connection.cpp)
// that only moves bytes between the socket, the pure parsers and the session state machine.
#pragma once
#include "config/config.hpp"
#include "common/cidr.hpp"
#include "common/byte_budget.hpp"
#include "smtp/session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mailfort::tls {
class context_holder;
}
namespace mailfort::sasl {
class user_db;
}
namespace mailfort::queue {
class spool;
}
namespace mailfort::policy {
class guard;
}

namespace mailfort::smtp {

class inbound_checker;  // smtp/inbound.hpp

using common::cidr;  // relay.trusted_networks (common/cidr.hpp)

// Counts live connections, in total, per listener and per client source. The per-source key is the ban
// source prefix (policy::guard::source_of: /32 IPv4, /64 IPv6), so one IPv6 host cannot take a slot per
// address of its /64. Each listener keeps `reserve` of the total free from the others: a connection on one
// listener is admitted only if, after it, every other configured listener below `reserve` connections
// still has room to reach it (an MX flood cannot stop users submitting on 587/465). The reserves together
// are capped at half of max_total.
class connection_tracker {
 public:
  connection_tracker(std::size_t max_total, std::size_t max_per_ip, std::size_t reserve = 0,
                     std::array<bool, 3> listeners = {true, true, true})
      : max_total_(max_total), max_per_ip_(max_per_ip), reserve_(reserve), listeners_(listeners) {
    // All reserves together never take more than half the slots (a small max_connections keeps working).
    std::size_t n = 0;
    for (bool b : listeners_) n += b ? 1 : 0;
    if (n > 0) reserve_ = std::min(reserve_, max_total_ / (2 * n));
  }
  enum class verdict { ok, too_many_total, too_many_per_ip };
  // exempt: no per-source cap (trusted networks); still counted in the totals.
  verdict acquire(const std::string& key, listener_kind kind = listener_kind::mx, bool exempt = false);
  void release(const std::string& key, listener_kind kind = listener_kind::mx, bool exempt = false);
  std::size_t total() const { return total_.load(); }

 private:
  std::size_t max_total_, max_per_ip_, reserve_;
  std::array<bool, 3> listeners_;
  std::mutex mu_;
  std::map<std::string, std::size_t> per_ip_;
  std::array<std::size_t, 3> per_listener_{};
  std::atomic<std::size_t> total_{0};
};

struct server_deps {
  const config::config* cfg = nullptr;
  tls::context_holder* tls = nullptr;
  sasl::user_db* users = nullptr;
  queue::spool* spool = nullptr;
  const session_env* env = nullptr;
  boost::asio::thread_pool* cpu_pool = nullptr;  // argon2id verification runs here, off the event loops
  std::function<void()> on_queued;               // wakes the delivery worker
  std::vector<cidr> trusted_networks;
  policy::guard* guard = nullptr;           // bans and rate limits; null: none (tests of the core)
  inbound_checker* inbound = nullptr;       // SPF/DKIM/DMARC at end of data, DKIM signing; null: none
  common::byte_budget* inflight = nullptr;  // limits.inflight_bytes: content received, not yet queued; null: none
  // A milter quarantined message `id`: hold it in the queue until `mailfort queue release ID` (queue/holds.hpp).
  // Null: quarantined messages go to the recipients' Junk folder instead.
  std::function<void(const std::string& id, const std::string& reason)> hold_message;
};

class server {
 public:
  explicit server(server_deps deps);
  // Binds every configured listener once per event loop (SO_REUSEPORT spreads connections over loops).
  // Throws std::runtime_error("cannot listen on mx 127.0.0.1:2525: Address already in use") on failure.
  void start(const std::vector<boost::asio::io_context*>& loops);
  // Stops accepting; live sessions finish on their own timeouts or when the loops stop.
  void stop();
  // Drops the acceptors (call after the loops stopped, before they are destroyed).
  void release_acceptors() { acceptors_.clear(); }

  const server_deps& deps() const { return deps_; }
  connection_tracker& tracker() { return tracker_; }

 private:
  server_deps deps_;
  connection_tracker tracker_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
};

// Parse "host:port" / "[v6]:port". Throws std::invalid_argument.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& text);

// The per-connection coroutine (server_connection.cpp).
void spawn_connection(server& srv, boost::asio::ip::tcp::socket sock, listener_kind kind);

}  // namespace mailfort::smtp
