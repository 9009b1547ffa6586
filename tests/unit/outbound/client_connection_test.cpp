// tests/unit/outbound/client_connection_test.cpp: the SMTP client connection against a scripted loopback server:
// pipelined replies, malformed replies, timeouts, command injection refused, HELO fallback, STARTTLS injection.
// SPDX-License-Identifier: MIT
#include "outbound/client_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

using namespace mailfort::outbound;
namespace asio = boost::asio;

namespace {

// One connection on 127.0.0.1: `script(fd)` runs on its own thread with the accepted socket.
class scripted_server {
 public:
  explicit scripted_server(std::function<void(int fd)> script) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 1);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, script = std::move(script)] {
      int fd = ::accept(lfd_, nullptr, nullptr);
      if (fd >= 0) {
        script(fd);
        ::close(fd);
      }
    });
  }
  ~scripted_server() {
    thread_.join();
    ::close(lfd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int lfd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

void put(int fd, std::string_view s) { (void)!::write(fd, s.data(), s.size()); }
std::string line(int fd) {
  std::string out;
  char c;
  while (::read(fd, &c, 1) == 1) {
    out.push_back(c);
    if (out.size() >= 2 && out.substr(out.size() - 2) == "\r\n") break;
  }
  return out;
}

template <class F>
void run(F f) {
  asio::io_context io;
  auto fut = asio::co_spawn(io, f(io.get_executor()), asio::use_future);
  io.run();
  fut.get();
}

client_options fast() {
  client_options o;
  o.timeouts.connect = std::chrono::milliseconds(2000);
  o.timeouts.greeting = o.timeouts.command = std::chrono::milliseconds(2000);
  return o;
}

asio::ip::tcp::endpoint ep(std::uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

}  // namespace

TEST(ClientConnection, PipelinedRepliesComeOutInOrder) {
  scripted_server srv([](int fd) {
    put(fd, "220-mx.example greets\r\n220 ready\r\n250 second\r\n");
    line(fd);
  });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    auto a = co_await c.read_reply();
    auto b = co_await c.read_reply();
    EXPECT_TRUE(a && a->code == 220 && a->lines.size() == 2);
    EXPECT_TRUE(b && b->code == 250 && b->lines[0] == "second");
    co_await c.send("QUIT\r\n", std::chrono::milliseconds(1000));
  });
}

TEST(ClientConnection, MalformedReplyIsAProtocolError) {
  scripted_server srv([](int fd) { put(fd, "2x0 nonsense\r\n"); });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    auto r = co_await c.read_reply();
    EXPECT_FALSE(r);
    EXPECT_EQ(c.error(), conn_error::protocol);
    // The connection stays failed.
    EXPECT_FALSE(co_await c.read_reply());
  });
}

TEST(ClientConnection, SilentServerTimesOut) {
  scripted_server srv([](int fd) { line(fd); });  // says nothing; waits for the client to go
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    auto r = co_await c.read_reply(std::chrono::milliseconds(150));
    EXPECT_FALSE(r);
    EXPECT_EQ(c.error(), conn_error::timeout);
    c.close();
  });
}

TEST(ClientConnection, CommandWithLineBreakIsNeverSent) {
  std::string got;
  scripted_server srv([&](int fd) {
    put(fd, "220 ready\r\n");
    got = line(fd);  // what the client sends next (nothing but EOF expected)
  });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    EXPECT_TRUE(co_await c.read_reply());
    EXPECT_FALSE(co_await c.command("MAIL FROM:<a@b>\r\nRCPT TO:<victim@x>"));
    EXPECT_EQ(c.error(), conn_error::protocol);
    c.close();
  });
  EXPECT_EQ(got, "");
}

TEST(ClientConnection, HeloFallbackWhenEhloIsUnknown) {
  scripted_server srv([](int fd) {
    put(fd, "220 old server\r\n");
    if (line(fd).rfind("EHLO ", 0) == 0) put(fd, "502 5.5.1 what?\r\n");
    if (line(fd) == "HELO out.example\r\n") put(fd, "250 hello\r\n");
    line(fd);
  });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    EXPECT_TRUE(co_await c.read_reply());
    auto r = co_await c.ehlo("out.example");
    EXPECT_TRUE(r && r->code == 250);
    EXPECT_FALSE(c.esmtp());
    EXPECT_FALSE(c.capabilities().starttls);
    c.close();
  });
}

TEST(ClientConnection, EhloCapabilitiesAreParsed) {
  scripted_server srv([](int fd) {
    put(fd, "220 ready\r\n");
    line(fd);
    put(fd, "250-mx.example\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n");
    line(fd);
  });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    EXPECT_TRUE(co_await c.read_reply());
    auto r = co_await c.ehlo("out.example");
    EXPECT_TRUE(r && r->code == 250);
    EXPECT_TRUE(c.esmtp());
    EXPECT_TRUE(c.capabilities().starttls && c.capabilities().smtputf8 && c.capabilities().eightbitmime);
    EXPECT_EQ(c.capabilities().size_limit, 1000u);
    c.close();
  });
}

TEST(ClientConnection, BytesAfterStarttlsReplyAbortTls) {
  scripted_server srv([](int fd) {
    put(fd, "220 ready\r\n");
    line(fd);  // STARTTLS
    put(fd, "220 go ahead\r\n250 injected before the handshake\r\n");
    line(fd);
  });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    EXPECT_TRUE(co_await c.read_reply());
    tls_params tp;  // a named object: GCC 12 destroys a braced temporary inside co_await twice
    auto st = co_await c.starttls(tp);
    EXPECT_FALSE(st.ok);
    EXPECT_FALSE(st.refused);
    EXPECT_EQ(c.error(), conn_error::tls);
    EXPECT_FALSE(c.tls_active());
  });
}

TEST(ClientConnection, RefusedStarttlsLeavesPlaintextUsable) {
  scripted_server srv([](int fd) {
    put(fd, "220 ready\r\n");
    line(fd);
    put(fd, "454 4.7.0 TLS not available\r\n");
    if (line(fd) == "NOOP\r\n") put(fd, "250 ok\r\n");
  });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    EXPECT_TRUE(co_await c.read_reply());
    tls_params tp;  // a named object: GCC 12 destroys a braced temporary inside co_await twice
    auto st = co_await c.starttls(tp);
    EXPECT_FALSE(st.ok);
    EXPECT_TRUE(st.refused && st.refused->code == 454);
    auto n = co_await c.command("NOOP");
    EXPECT_TRUE(n && n->code == 250);
    c.close();
  });
}

TEST(ClientConnection, ConnectionRefusedIsReported) {
  std::uint16_t port;
  {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(s);  // nothing listens there now
  }
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_FALSE(co_await c.connect(ep(port)));
    EXPECT_EQ(c.error(), conn_error::connect_failed);
    EXPECT_NE(c.error_text().find("refused"), std::string::npos);
  });
}

// wait_reply (the auditor's "is anything answered here?"): running out of time is not a failure; the reply
// that comes later is still read, and has_unread_input() sees bytes not yet returned.
TEST(ClientConnection, WaitReplyExpiryKeepsTheConnectionUsable) {
  scripted_server srv([](int fd) {
    put(fd, "220 ready\r\n");
    line(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    put(fd, "250 late\r\n250-partial");
    line(fd);
  });
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    client_connection c(ex, fast());
    EXPECT_TRUE(co_await c.connect(ep(srv.port())));
    auto g = co_await c.read_reply();
    EXPECT_TRUE(g && g->code == 220);
    EXPECT_TRUE(co_await c.send("NOOP\r\n", std::chrono::milliseconds(1000)));
    auto early = co_await c.wait_reply(std::chrono::milliseconds(100));
    EXPECT_FALSE(early);
    EXPECT_FALSE(c.failed()) << c.error_text();
    EXPECT_FALSE(c.has_unread_input());
    auto late = co_await c.read_reply();
    EXPECT_TRUE(late && late->code == 250 && late->lines[0] == "late");
    auto none = co_await c.wait_reply(std::chrono::milliseconds(100));  // "250-partial" is not a reply yet
    EXPECT_FALSE(none);
    EXPECT_FALSE(c.failed());
    EXPECT_TRUE(c.has_unread_input());
    // read_reply keeps its meaning: a deadline that passes fails the connection.
    auto timed = co_await c.read_reply(std::chrono::milliseconds(100));
    EXPECT_FALSE(timed);
    EXPECT_EQ(c.error(), conn_error::timeout);
    co_await c.send("QUIT\r\n", std::chrono::milliseconds(1000));
  });
}
