// tests/unit/publish/http_request_test.cpp: the MTA-STS listener's request reader (bounds, strictness) and answers.
// SPDX-License-Identifier: MIT
#include "publish/http_request.hpp"

#include <gtest/gtest.h>

using namespace mailfort::publish;

namespace {
const std::string policy = "version: STSv1\r\nmode: testing\r\nmx: mx.example.org\r\nmax_age: 604800\r\n";
const std::vector<std::string> domains = {"example.org", "Other.Test."};

http_parse_status st(std::string_view s) { return parse_http_request(s).status; }
}  // namespace

TEST(http_request, a_policy_fetch) {
  auto r = parse_http_request(
      "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: MTA-STS.example.org:443\r\n"
      "User-Agent: test\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.status, http_parse_status::ok) << r.error;
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.target, "/.well-known/mta-sts.txt");
  EXPECT_EQ(r.request.host, "mta-sts.example.org");
  auto resp = respond(r.request, domains, policy);
  EXPECT_EQ(resp.status, 200);
  auto wire = serialize(resp);
  EXPECT_EQ(wire.rfind("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                           std::to_string(policy.size()) + "\r\n",
                       0),
            0u);
  EXPECT_EQ(wire.substr(wire.size() - policy.size()), policy);
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos);
}

TEST(http_request, ip_literal_host_is_kept_and_never_ours) {
  auto r = parse_http_request("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: [::1]:443\r\n\r\n");
  ASSERT_EQ(r.status, http_parse_status::ok) << r.error;
  EXPECT_EQ(r.request.host, "[::1]");
  EXPECT_EQ(respond(r.request, domains, policy).status, 404);
}

TEST(http_request, lf_only_and_http10_without_host) {
  EXPECT_EQ(st("GET / HTTP/1.0\n\n"), http_parse_status::ok);
  EXPECT_EQ(st("GET / HTTP/1.1\n\n"), http_parse_status::bad);  // 1.1 needs Host
}

TEST(http_request, incomplete_until_the_empty_line_then_bounded) {
  EXPECT_EQ(st(""), http_parse_status::incomplete);
  EXPECT_EQ(st("GET / HTTP/1.1\r\nHost: a\r\n"), http_parse_status::incomplete);
  EXPECT_EQ(st("GET / HTTP/1.1\r\nHost: a\r\n\r"), http_parse_status::incomplete);
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(http_max_head, 'a');
  EXPECT_EQ(st(big), http_parse_status::too_large);
  EXPECT_EQ(st(big + "\r\n\r\n"), http_parse_status::too_large);
  EXPECT_EQ(serialize(respond_error(http_parse_status::too_large)).rfind("HTTP/1.1 431 ", 0), 0u);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 70; ++i) many += "X: y\r\n";
  EXPECT_EQ(st(many + "\r\n"), http_parse_status::bad);
}

TEST(http_request, refuses_what_a_fetch_never_sends) {
  for (const char* s : {
           "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",                     // two Hosts
           "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",                     // obs-fold
           "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",  // a body
           "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
           "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
           "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
           "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n",
           "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a:99999x\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: [127\xe2.0.0.1]mta-sts\r\n\r\n",  // fuzz/regressions/mta_sts_http_fuzzer
           "GET / HTTP/1.1\r\nHost: []\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: [::1]:x\r\n\r\n",
           "GET / HTTP/1.1\r\nno colon\r\n\r\n",
           "GET / HTTP/1.1\r\nHo st: a\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",  // bare CR
           "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
       })
    EXPECT_EQ(st(s), http_parse_status::bad) << s;
  EXPECT_EQ(serialize(respond_error(http_parse_status::bad)).rfind("HTTP/1.1 400 ", 0), 0u);
}

TEST(http_request, serves_only_the_policy_path_for_our_domains) {
  auto get = [](std::string host, std::string target, std::string method = "GET") {
    http_request r{std::move(method), std::move(target), std::move(host)};
    return respond(r, domains, policy);
  };
  EXPECT_EQ(get("mta-sts.other.test", "/.well-known/mta-sts.txt").status, 200);
  EXPECT_EQ(get("mta-sts.evil.test", "/.well-known/mta-sts.txt").status, 404);
  EXPECT_EQ(get("example.org", "/.well-known/mta-sts.txt").status, 404);
  EXPECT_EQ(get("mta-sts.example.org", "/").status, 404);
  EXPECT_EQ(get("mta-sts.example.org", "/.well-known/mta-sts.txt?x=1").status, 404);
  EXPECT_EQ(get("mta-sts.example.org", "/.well-known/../.well-known/mta-sts.txt").status, 404);
  auto post = get("mta-sts.example.org", "/.well-known/mta-sts.txt", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(serialize(post).find("Allow: GET, HEAD\r\n"), std::string::npos);
  auto head = get("mta-sts.example.org", "/.well-known/mta-sts.txt", "HEAD");
  EXPECT_EQ(head.status, 200);
  auto wire = serialize(head);
  EXPECT_NE(wire.find("Content-Length: " + std::to_string(policy.size())), std::string::npos);
  EXPECT_EQ(wire.find("version: STSv1"), std::string::npos);  // no body for HEAD
}
