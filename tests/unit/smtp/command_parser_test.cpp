// tests/unit/smtp/command_parser_test.cpp: CRLF framing, limits, resumability, verb recognition.
// SPDX-License-Identifier: MIT
#include "smtp/command_parser.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

using namespace mailfort::smtp;

namespace {
struct event {
  line_status status;
  std::string line;
  bool operator==(const event&) const = default;
};

std::ostream& operator<<(std::ostream& os, const event& e) {
  return os << static_cast<int>(e.status) << ":" << testing::PrintToString(e.line);
}

// Feed `in` in pieces of `chunk` bytes (0: all at once), recording every non-need_more status.
std::vector<event> feed_all(line_reader& r, std::string_view in, std::size_t chunk = 0) {
  std::vector<event> out;
  if (chunk == 0) chunk = in.size() + 1;
  while (!in.empty()) {
    std::string_view piece = in.substr(0, chunk);
    auto res = r.feed(piece);
    EXPECT_LE(res.consumed, piece.size());
    if (res.status == line_status::need_more) {
      EXPECT_EQ(res.consumed, piece.size());
    }
    in.remove_prefix(res.consumed);
    if (res.status != line_status::need_more)
      out.push_back({res.status, res.status == line_status::line ? std::string(r.line()) : std::string()});
  }
  return out;
}

std::vector<event> feed_all(std::string_view in, std::size_t chunk = 0, std::size_t max_line = 512,
                            std::size_t max_discard = 64 * 1024) {
  line_reader r(max_line, max_discard);
  return feed_all(r, in, chunk);
}

event ln(std::string s) { return {line_status::line, std::move(s)}; }
event st(line_status s) { return {s, {}}; }
}  // namespace

TEST(line_reader, crlf_lines) {
  auto ev = feed_all("EHLO x\r\nNOOP\r\n\r\n");
  EXPECT_EQ(ev, (std::vector<event>{ln("EHLO x"), ln("NOOP"), ln("")}));
}

TEST(line_reader, stops_after_each_line_for_pipelining) {
  line_reader r(512);
  std::string_view in = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
  auto a = r.feed(in);
  EXPECT_EQ(a.status, line_status::line);
  EXPECT_EQ(a.consumed, 17u);  // exactly through the first CRLF
  EXPECT_EQ(r.line(), "MAIL FROM:<a@b>");
  in.remove_prefix(a.consumed);
  auto b = r.feed(in);
  EXPECT_EQ(b.status, line_status::line);
  EXPECT_EQ(r.line(), "RCPT TO:<c@d>");
  in.remove_prefix(b.consumed);
  EXPECT_EQ(r.feed(in).status, line_status::line);
  EXPECT_EQ(r.line(), "DATA");
  EXPECT_EQ(r.feed("").status, line_status::need_more);
}

TEST(line_reader, resumable_at_every_byte_boundary) {
  // Every status kind, including a bad line, a long line, an overflow and lines after them.
  std::string in = "EHLO x\r\nMAIL FROM:<a@b>\rRCPT\r\nA\nB\r\n" + std::string(700, 'Z') + "\r\nQUIT\r\n" +
                   "X\r\r\n\r\n" + "NOOP\r" + std::string(600, 'L') + "\nMAIL\r\n" + std::string(5000, 'O') +
                   "\r\nRSET\r\n";
  auto whole = feed_all(in, 0, 512, 4096);
  ASSERT_GE(whole.size(), 8u);
  for (std::size_t chunk = 1; chunk <= 17; ++chunk) {
    SCOPED_TRACE(chunk);
    EXPECT_EQ(feed_all(in, chunk, 512, 4096), whole);
  }
  // And split at every single position into two pieces.
  for (std::size_t cut = 0; cut <= 64; ++cut) {
    line_reader r(512, 4096);
    auto ev = feed_all(r, std::string_view(in).substr(0, cut));
    auto rest = feed_all(r, std::string_view(in).substr(cut));
    ev.insert(ev.end(), rest.begin(), rest.end());
    EXPECT_EQ(ev, whole) << "cut at " << cut;
  }
}

TEST(line_reader, bare_lf_never_ends_a_line) {
  // bad-inputs 25: never two commands out of one line.
  auto ev = feed_all("MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\nNOOP\r\n");
  EXPECT_EQ(ev, (std::vector<event>{st(line_status::bad_line_ending), ln("NOOP")}));
  // A client using LF only never produces a command; the accumulated "line" hits the limit.
  auto lf_only = feed_all("EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n", 0, 32);
  EXPECT_EQ(lf_only, (std::vector<event>{st(line_status::too_long)}));
  EXPECT_EQ(feed_all("\n\r\n"), (std::vector<event>{st(line_status::bad_line_ending)}));
}

TEST(line_reader, bare_cr_poisons_line) {
  EXPECT_EQ(feed_all("MAIL FROM:<a@b>\rRCPT TO:<c@d>\r\n"), (std::vector<event>{st(line_status::bad_line_ending)}));
  EXPECT_EQ(feed_all("NOOP\r\r\nNOOP\r\n"), (std::vector<event>{st(line_status::bad_line_ending), ln("NOOP")}));
  EXPECT_EQ(feed_all("\r\r\n"), (std::vector<event>{st(line_status::bad_line_ending)}));
  EXPECT_EQ(feed_all("\rNOOP\r\n"), (std::vector<event>{st(line_status::bad_line_ending)}));
}

TEST(line_reader, limit_is_exact) {
  // max_line counts the CRLF: 510 + 2 = 512 is fine, 511 + 2 is too long.
  line_reader r(512);
  EXPECT_EQ(feed_all(r, std::string(510, 'a') + "\r\n"), (std::vector<event>{ln(std::string(510, 'a'))}));
  EXPECT_EQ(feed_all(r, std::string(511, 'a') + "\r\nNOOP\r\n"),
            (std::vector<event>{st(line_status::too_long), ln("NOOP")}));
  // Small limit, same rule.
  EXPECT_EQ(feed_all("12345678\r\n", 0, 10), (std::vector<event>{ln("12345678")}));
  EXPECT_EQ(feed_all("123456789\r\n", 0, 10), (std::vector<event>{st(line_status::too_long)}));
}

TEST(line_reader, too_long_reported_immediately_and_once) {
  line_reader r(10);
  // Reported at the byte that crosses the limit, before any line end arrives.
  auto res = r.feed("123456789ABCDEF");
  EXPECT_EQ(res.status, line_status::too_long);
  EXPECT_EQ(res.consumed, 9u);
  EXPECT_TRUE(r.has_partial());
  // The rest, however long, is discarded silently up to the CRLF.
  EXPECT_EQ(feed_all(r, "ABCDEF" + std::string(3000, 'x') + "\r\nNOOP\r\n"), (std::vector<event>{ln("NOOP")}));
  EXPECT_FALSE(r.has_partial());
}

TEST(line_reader, long_line_tail_is_not_a_command) {
  // The tail of an over-long line after a bare LF is still part of that line.
  auto ev = feed_all(std::string(100, 'A') + "\nMAIL FROM:<x@y>\r\nNOOP\r\n", 0, 64);
  EXPECT_EQ(ev, (std::vector<event>{st(line_status::too_long), ln("NOOP")}));
}

TEST(line_reader, bad_line_that_grows_too_long_is_too_long) {
  auto ev = feed_all("A\r" + std::string(100, 'B') + "\r\nNOOP\r\n", 0, 64);
  EXPECT_EQ(ev, (std::vector<event>{st(line_status::too_long), ln("NOOP")}));
}

TEST(line_reader, overflow_after_discard_budget_exact) {
  // bad-inputs 27: one too_long, then overflow once the discard budget is spent.
  constexpr std::size_t budget = 4096;
  line_reader r(512, budget);
  auto first = r.feed(std::string(511, 'A'));
  EXPECT_EQ(first.status, line_status::too_long);
  EXPECT_EQ(first.consumed, 511u);
  // Exactly `budget` more bytes without a line end: still discarding.
  auto mid = r.feed(std::string(budget, 'A'));
  EXPECT_EQ(mid.status, line_status::need_more);
  EXPECT_EQ(mid.consumed, budget);
  // One more: overflow.
  auto last = r.feed("AAAA");
  EXPECT_EQ(last.status, line_status::overflow);
  EXPECT_EQ(last.consumed, 1u);

  auto ev = feed_all(std::string(100000, 'A'), 0, 512, budget);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0].status, line_status::too_long);
  EXPECT_EQ(ev[1].status, line_status::overflow);
}

TEST(line_reader, budget_not_exceeded_then_recovers) {
  constexpr std::size_t budget = 100;
  // After too_long, 99 discarded bytes + CR = 100 (the budget), then LF: no overflow.
  auto ev = feed_all(std::string(11, 'A') + std::string(99, 'B') + "\r\nNOOP\r\n", 0, 12, budget);
  EXPECT_EQ(ev, (std::vector<event>{st(line_status::too_long), ln("NOOP")}));
}

TEST(line_reader, partial_and_reset) {
  line_reader r(512);
  EXPECT_EQ(r.feed("RSE").status, line_status::need_more);
  EXPECT_TRUE(r.has_partial());
  r.reset();
  EXPECT_FALSE(r.has_partial());
  EXPECT_EQ(feed_all(r, "NOOP\r\n"), (std::vector<event>{ln("NOOP")}));
  EXPECT_FALSE(r.has_partial());
  // A lone CR is a partial line too (STARTTLS must see it).
  EXPECT_EQ(r.feed("\r").status, line_status::need_more);
  EXPECT_TRUE(r.has_partial());
  r.reset();
  // reset() also leaves discard mode: the next line is read normally.
  line_reader d(16);
  EXPECT_EQ(d.feed(std::string(40, 'x')).status, line_status::too_long);
  d.reset();
  EXPECT_FALSE(d.has_partial());
  EXPECT_EQ(feed_all(d, "QUIT\r\n"), (std::vector<event>{ln("QUIT")}));
}

TEST(parse_command, verbs_case_insensitive) {
  const std::pair<const char*, verb> table[] = {
      {"HELO", verb::helo}, {"EHLO", verb::ehlo},         {"MAIL", verb::mail}, {"RCPT", verb::rcpt},
      {"DATA", verb::data}, {"BDAT", verb::bdat},         {"RSET", verb::rset}, {"NOOP", verb::noop},
      {"QUIT", verb::quit}, {"HELP", verb::help},         {"VRFY", verb::vrfy}, {"EXPN", verb::expn},
      {"AUTH", verb::auth}, {"STARTTLS", verb::starttls},
  };
  for (auto [name, v] : table) {
    std::string upper = name, lower = name, mixed = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    mixed[0] = lower[0];
    EXPECT_EQ(parse_command(upper).verb, v) << upper;
    EXPECT_EQ(parse_command(lower + " x").verb, v) << lower;
    EXPECT_EQ(parse_command(mixed).verb, v) << mixed;
    EXPECT_STREQ(verb_name(v), name);
  }
  EXPECT_EQ(parse_command("XYZZY").verb, verb::unknown);
  EXPECT_EQ(parse_command("FOOBAR").verb, verb::unknown);  // command-replies: unknown-command
  EXPECT_EQ(parse_command("MAILX FROM:<a@b>").verb, verb::unknown);
  EXPECT_EQ(parse_command("MAIL LALA: <>").verb, verb::mail);  // the verb is MAIL; args are the session's problem
  EXPECT_EQ(parse_command("NOOP\tx").verb, verb::unknown);     // tab is not a separator, but not invalid
  EXPECT_EQ(parse_command("NOOP \xc3\xa9").verb, verb::noop);  // 8-bit in args: the session decides
}

TEST(parse_command, name_and_args) {
  auto c = parse_command("RCPT TO:<a@b> X=1");
  EXPECT_EQ(c.verb, verb::rcpt);
  EXPECT_EQ(c.name, "RCPT");
  EXPECT_EQ(c.args, "TO:<a@b> X=1");
  auto two = parse_command("MAIL  FROM:<a@b>  ");  // exactly one separator removed; rest verbatim
  EXPECT_EQ(two.args, " FROM:<a@b>  ");
  auto bare = parse_command("noop");
  EXPECT_EQ(bare.name, "noop");
  EXPECT_TRUE(bare.args.empty());
  EXPECT_TRUE(parse_command("NOOP ").args.empty());
}

TEST(parse_command, hostile_lines) {
  EXPECT_EQ(parse_command("").verb, verb::invalid);  // command-replies: empty-line
  // bad-inputs 24: a NUL anywhere, never truncated and acted on.
  EXPECT_EQ(parse_command(std::string_view("MAIL FROM:<a\0b@x>", 18)).verb, verb::invalid);
  EXPECT_EQ(parse_command(std::string_view("NOOP\0", 5)).verb, verb::invalid);
  EXPECT_EQ(parse_command(std::string_view("\0", 1)).verb, verb::invalid);
  EXPECT_EQ(parse_command("\x01NOOP").verb, verb::invalid);
  EXPECT_EQ(parse_command("NO\x1bOP").verb, verb::invalid);
  EXPECT_EQ(parse_command("\x7fNOOP").verb, verb::invalid);
  EXPECT_EQ(parse_command("\x80"
                          "FAIL")
                .verb,
            verb::invalid);  // command-replies: binary-command
  EXPECT_EQ(parse_command("\x80 FAIL").verb, verb::invalid);
  EXPECT_EQ(parse_command("N\xc3\x96OP").verb, verb::invalid);
  EXPECT_EQ(parse_command(" NOOP").verb, verb::invalid);  // empty verb
}

TEST(parse_command, cross_protocol_lines) {
  // bad-inputs 41 and 42.
  for (const char* l : {"GET / HTTP/1.1", "get /evil HTTP/1.1", "POST /", "HEAD /", "PUT /x", "CONNECT host:25",
                        "OPTIONS *", "USER root", "PASS secret", "Host: x", "User-Agent: curl", "X-Foo:"})
    EXPECT_EQ(parse_command(l).verb, verb::http) << l;
  EXPECT_EQ(parse_command("XCLIENT ADDR=1.2.3.4").verb, verb::xclient);
  EXPECT_EQ(parse_command("xforward ADDR=1.2.3.4").verb, verb::xclient);
  EXPECT_EQ(parse_command("PROXY TCP4 1.2.3.4 5.6.7.8 1 2").verb, verb::proxy);
}

TEST(parse_command, reader_and_parser_together) {
  // What the session sees for bad-inputs 25: one 500 for the poisoned line, then the real command.
  line_reader r(512);
  auto ev = feed_all(r, std::string("MAIL FROM:<a\0b@x>\r\n", 20) + "MAIL FROM:<a@b>\rRCPT TO:<c@d>\r\nQUIT\r\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].status, line_status::line);
  EXPECT_EQ(parse_command(ev[0].line).verb, verb::invalid);
  EXPECT_EQ(ev[1].status, line_status::bad_line_ending);
  EXPECT_EQ(parse_command(ev[2].line).verb, verb::quit);
}

// Found by line_reader_fuzzer's model (fuzz/regressions/line_reader_fuzzer/cr-at-line-limit): the byte that
// crosses the limit can be the CR of the line's own CRLF; the LF after it still ends the discarded line, so
// the next command is read, not thrown away with it.
TEST(line_reader, cr_crossing_the_limit_still_ends_the_long_line) {
  for (std::size_t chunk : {0, 1, 2, 3}) {
    auto ev = feed_all("abcd\r\r\nNOOP\r\n", chunk, 6);
    EXPECT_EQ(ev, (std::vector<event>{st(line_status::too_long), ln("NOOP")})) << "chunk " << chunk;
  }
}
