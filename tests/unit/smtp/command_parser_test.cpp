// tests/unit/smtp/command_parser_test.cpp: CRLF framing, limits, verb recognition.
// SPDX-License-Identifier: MIT
#include "smtp/command_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace mailfort::smtp;

namespace {
struct event {
  line_status status;
  std::string line;
  bool operator==(const event&) const = default;
};

std::vector<event> feed_all(line_reader& r, std::string_view in, std::size_t chunk = 0) {
  std::vector<event> out;
  if (chunk == 0) chunk = in.size() + 1;
  while (!in.empty()) {
    std::string_view piece = in.substr(0, chunk);
    auto res = r.feed(piece);
    in.remove_prefix(res.consumed);
    if (res.status != line_status::need_more)
      out.push_back({res.status, res.status == line_status::line ? std::string(r.line()) : std::string()});
  }
  return out;
}
}  // namespace

TEST(line_reader, crlf_lines) {
  line_reader r(512);
  auto ev = feed_all(r, "EHLO x\r\nNOOP\r\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0], (event{line_status::line, "EHLO x"}));
  EXPECT_EQ(ev[1], (event{line_status::line, "NOOP"}));
}

TEST(line_reader, byte_by_byte_equals_whole) {
  std::string in = "EHLO x\r\nMAIL FROM:<a@b>\rRCPT\r\nA\nB\r\n" + std::string(700, 'Z') + "\r\nQUIT\r\n";
  line_reader a(512), b(512);
  EXPECT_EQ(feed_all(a, in), feed_all(b, in, 1));
}

TEST(line_reader, bare_lf_never_ends_a_line) {
  line_reader r(512);
  auto ev = feed_all(r, "MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\nNOOP\r\n");
  ASSERT_EQ(ev.size(), 2u);  // one bad line, then NOOP: never two commands out of the first
  EXPECT_EQ(ev[0].status, line_status::bad_line_ending);
  EXPECT_EQ(ev[1], (event{line_status::line, "NOOP"}));
}

TEST(line_reader, bare_cr_poisons_line) {
  line_reader r(512);
  auto ev = feed_all(r, "MAIL FROM:<a@b>\rRCPT TO:<c@d>\r\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].status, line_status::bad_line_ending);
}

TEST(line_reader, limit_is_exact) {
  line_reader r(512);
  std::string ok(510, 'a');
  auto ev = feed_all(r, ok + "\r\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].status, line_status::line);
  auto ev2 = feed_all(r, std::string(511, 'a') + "\r\nNOOP\r\n");
  ASSERT_EQ(ev2.size(), 2u);
  EXPECT_EQ(ev2[0].status, line_status::too_long);
  EXPECT_EQ(ev2[1], (event{line_status::line, "NOOP"}));
}

TEST(line_reader, long_line_tail_is_not_a_command) {
  line_reader r(64);
  auto ev = feed_all(r, std::string(100, 'A') + "\nMAIL FROM:<x@y>\r\nNOOP\r\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].status, line_status::too_long);
  EXPECT_EQ(ev[1], (event{line_status::line, "NOOP"}));
}

TEST(line_reader, overflow_after_discard_budget) {
  line_reader r(512, 4096);
  auto ev = feed_all(r, std::string(100000, 'A'));
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0].status, line_status::too_long);
  EXPECT_EQ(ev[1].status, line_status::overflow);
}

TEST(line_reader, partial_and_reset) {
  line_reader r(512);
  EXPECT_EQ(r.feed("RSE").status, line_status::need_more);
  EXPECT_TRUE(r.has_partial());
  r.reset();
  EXPECT_FALSE(r.has_partial());
  auto ev = feed_all(r, "NOOP\r\n");
  EXPECT_EQ(ev[0], (event{line_status::line, "NOOP"}));
  EXPECT_FALSE(r.has_partial());
}

TEST(parse_command, verbs_case_insensitive) {
  EXPECT_EQ(parse_command("ehlo x").verb, verb::ehlo);
  EXPECT_EQ(parse_command("MaIl FROM:<a@b>").verb, verb::mail);
  auto c = parse_command("RCPT TO:<a@b> X=1");
  EXPECT_EQ(c.verb, verb::rcpt);
  EXPECT_EQ(c.args, "TO:<a@b> X=1");
  EXPECT_EQ(parse_command("STARTTLS").verb, verb::starttls);
  EXPECT_EQ(parse_command("XYZZY").verb, verb::unknown);
}

TEST(parse_command, hostile_lines) {
  EXPECT_EQ(parse_command("").verb, verb::invalid);
  EXPECT_EQ(parse_command(std::string_view("MAIL FROM:<a\0b@x>", 18)).verb, verb::invalid);
  EXPECT_EQ(parse_command("\x01NOOP").verb, verb::invalid);
  EXPECT_EQ(parse_command("GET / HTTP/1.1").verb, verb::http);
  EXPECT_EQ(parse_command("POST /").verb, verb::http);
  EXPECT_EQ(parse_command("CONNECT host:25").verb, verb::http);
  EXPECT_EQ(parse_command("Host: x").verb, verb::http);
  EXPECT_EQ(parse_command("USER root").verb, verb::http);
  EXPECT_EQ(parse_command("XCLIENT ADDR=1.2.3.4").verb, verb::xclient);
  EXPECT_EQ(parse_command("XFORWARD ADDR=1.2.3.4").verb, verb::xclient);
  EXPECT_EQ(parse_command("PROXY TCP4 1.2.3.4").verb, verb::proxy);
}
