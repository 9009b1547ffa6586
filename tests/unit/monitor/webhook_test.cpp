// tests/unit/monitor/webhook_test.cpp: webhook URLs, and one POST received by a loopback listener.
// SPDX-License-Identifier: MIT
#include "monitor/webhook.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <thread>

using namespace mailfort::monitor;
namespace asio = boost::asio;

TEST(webhook, url_parsing) {
  auto u = parse_webhook_url("http://127.0.0.1:8080/hooks/alert?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/hooks/alert?x=1");
  u = parse_webhook_url("http://alerts.example");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  u = parse_webhook_url("http://[::1]:9/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  for (const char* bad : {"https://h/", "ftp://h", "http://", "http://u:p@h/", "http://h:0/", "http://h:70000/",
                          "http://h:/", "http://h x/", "http://[::1/", "http://[::1]x/", "http://h/\r\nX: y"})
    EXPECT_FALSE(parse_webhook_url(bad)) << bad;
  EXPECT_THROW(webhook(asio::io_context().get_executor(), "https://x/"), std::invalid_argument);
}

TEST(webhook, posts_json_in_order) {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  auto port = acc.local_endpoint().port();
  std::vector<std::string> got;
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      asio::ip::tcp::socket s(ioc);
      acc.accept(s);
      std::string buf;
      auto n = asio::read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n");
      auto cl = buf.find("Content-Length: ");
      std::size_t len = cl == std::string::npos ? 0 : std::stoul(buf.substr(cl + 16));
      while (buf.size() < n + len) asio::read(s, asio::dynamic_buffer(buf), asio::transfer_at_least(1));
      got.push_back(buf.substr(0, 4) + " " + buf.substr(n, len));
      asio::write(s, asio::buffer(std::string("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")));
    }
  });
  webhook w(ioc.get_executor(), "http://127.0.0.1:" + std::to_string(port) + "/a");
  w.post({{"n", 1}});
  w.post({{"n", 2}});
  while (w.sent() + w.failed() < 2) ioc.run_one();
  server.join();
  EXPECT_EQ(w.sent(), 2u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "POST {\"n\":1}");
  EXPECT_EQ(got[1], "POST {\"n\":2}");
}
