// tests/unit/dns/resolver_test.cpp: resolver behaviour that needs no DNS server: timeouts against a silent
// socket, bounded waits, refused names and options, destruction with lookups in flight.
// SPDX-License-Identifier: MIT
// Answers, DNSSEC and the cache are tested against a real nsd in tests/integration/test_dns.py.
#include "dns/records.hpp"
#include "dns/resolver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>

using namespace mailfort::dns;
using namespace std::chrono_literals;

namespace {

// A UDP socket on loopback that never answers: queries to it can only time out.
struct silent_server {
  int fd = -1;
  int port = 0;
  silent_server() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~silent_server() { ::close(fd); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port); }
};

resolver_options silent_options(const silent_server& s, std::chrono::milliseconds timeout) {
  resolver_options o;
  o.servers = {s.addr()};
  o.timeout = timeout;
  return o;
}

}  // namespace

TEST(dns_resolver, async_lookup_times_out_and_io_context_finishes) {
  silent_server s;
  boost::asio::io_context io;
  resolver r(io.get_executor(), silent_options(s, 300ms));
  std::optional<lookup_result> got;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { got = co_await r.lookup("mailfort.example", rr_type::txt); },
      boost::asio::detached);
  auto start = std::chrono::steady_clock::now();
  io.run();  // must return: the timed-out query is cancelled and the pump stops
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(got);
  EXPECT_EQ(got->st, status::timeout);
  EXPECT_TRUE(got->records.empty());
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(r.cache_size(), 0u);  // failures are not cached
}

TEST(dns_resolver, concurrent_lookups_all_time_out) {
  silent_server s;
  boost::asio::io_context io;
  resolver r(io.get_executor(), silent_options(s, 200ms));
  int timeouts = 0;
  for (int i = 0; i < 5; ++i)
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          auto res = co_await r.lookup("n" + std::to_string(i) + ".mailfort.example", rr_type::a);
          if (res.st == status::timeout) ++timeouts;
        },
        boost::asio::detached);
  auto start = std::chrono::steady_clock::now();
  io.run();
  EXPECT_EQ(timeouts, 5);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);  // concurrent, not 5 x 200 ms sequential+retries
}

TEST(dns_resolver, sync_lookup_times_out) {
  silent_server s;
  boost::asio::io_context io;
  resolver r(io.get_executor(), silent_options(s, 200ms));
  auto start = std::chrono::steady_clock::now();
  auto res = r.lookup_sync("mailfort.example", rr_type::mx);
  EXPECT_EQ(res.st, status::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(dns_resolver, refuses_names_that_would_be_truncated_or_too_long) {
  silent_server s;
  boost::asio::io_context io;
  resolver r(io.get_executor(), silent_options(s, 200ms));
  auto nul = r.lookup_sync(std::string("evil.example\0.example.org", 25), rr_type::txt);
  EXPECT_EQ(nul.st, status::servfail);
  EXPECT_EQ(nul.error, "invalid query name");
  EXPECT_EQ(r.lookup_sync(std::string(300, 'a'), rr_type::txt).st, status::servfail);
  EXPECT_EQ(r.lookup_sync("", rr_type::txt).st, status::servfail);
}

TEST(dns_resolver, bad_options_throw_at_construction) {
  boost::asio::io_context io;
  resolver_options bad_server;
  bad_server.servers = {"dns.example.org"};
  EXPECT_THROW(resolver(io.get_executor(), bad_server), std::runtime_error);
  resolver_options bad_anchor;
  bad_anchor.servers = {"127.0.0.1:53"};
  bad_anchor.trust_anchor_file = "/nonexistent/anchor.ds";
  EXPECT_THROW(resolver(io.get_executor(), bad_anchor), std::runtime_error);
}

TEST(dns_resolver, no_anchor_means_no_validation_claim) {
  silent_server s;
  boost::asio::io_context io;
  resolver r(io.get_executor(), silent_options(s, 100ms));
  EXPECT_FALSE(r.validates_dnssec());
}

TEST(dns_resolver, destroyed_with_lookup_in_flight) {
  // The resolver goes away while a lookup waits: the lookup must end (servfail) without touching it.
  silent_server s;
  boost::asio::io_context io;
  auto r = std::make_unique<resolver>(io.get_executor(), silent_options(s, 300ms));
  std::optional<lookup_result> got;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { got = co_await r->lookup("gone.mailfort.example", rr_type::a); },
      boost::asio::detached);
  io.run_for(50ms);
  r.reset();
  io.run();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->st, status::servfail);
  EXPECT_EQ(got->error, "resolver destroyed");
}
