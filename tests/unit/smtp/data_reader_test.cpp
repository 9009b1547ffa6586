// tests/unit/smtp/data_reader_test.cpp: end of data, dot-unstuffing, bare CR/LF, limits, hops.
// SPDX-License-Identifier: MIT
#include "smtp/data_reader.hpp"

#include <gtest/gtest.h>

using namespace mailfort::smtp;

namespace {
struct outcome {
  bool done;
  std::size_t consumed;
  data_error error;
  std::string content;
};

outcome run(std::string_view in, data_limits lim = {}, std::size_t chunk = 0) {
  data_reader r(lim);
  outcome o{false, 0, data_error::none, {}};
  if (chunk == 0) chunk = in.size() + 1;
  while (o.consumed < in.size() && !o.done) {
    auto res = r.feed(in.substr(o.consumed, chunk), o.content);
    o.consumed += res.consumed;
    o.done = res.status == data_status::done;
  }
  o.error = r.error();
  return o;
}
}  // namespace

TEST(data_reader, ends_only_at_crlf_dot_crlf_and_leaves_the_rest) {
  auto o = run("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::none);
  EXPECT_EQ(o.content, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(o.consumed, std::string("Subject: x\r\n\r\nbody\r\n.\r\n").size());
}

TEST(data_reader, dot_unstuffing_exact) {
  auto o = run("..foo\r\n..\r\n...\r\n.x\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, ".foo\r\n.\r\n..\r\nx\r\n");
  EXPECT_TRUE(run(".\r\n").done);
  EXPECT_EQ(run(".\r\n").content, "");
}

TEST(data_reader, every_impostor_is_content_and_an_error) {
  for (const char* fake : {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\n.\r", "\r.\n",
                           "\r\n.\r\r\n", "\r\r\n.\r\r\n"}) {
    std::string in = std::string("hello") + fake + "MAIL FROM:<x@y>\r\nDATA\r\nsmuggled\r\n.\r\nNEXT";
    auto o = run(in);
    SCOPED_TRACE(testing::PrintToString(std::string(fake)));
    EXPECT_TRUE(o.done);
    EXPECT_TRUE(o.error == data_error::bare_lf || o.error == data_error::bare_cr);
    EXPECT_EQ(in.substr(o.consumed), "NEXT");  // one message: ends only at the real terminator
  }
  for (std::string fake : {std::string("\r\n\0.\r\n", 6), std::string("\r\n.\0\r\n", 6)}) {
    auto o = run("hello" + fake + "MAIL FROM:<x@y>\r\n.\r\nNEXT");
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.error, data_error::nul);
  }
  auto sp = run("hello\r\n. \r\nMAIL\r\n.\r\nNEXT");
  EXPECT_EQ(sp.error, data_error::none);  // ". " is a dot-stuffed line, not an end
  EXPECT_EQ(sp.content, "hello\r\n \r\nMAIL\r\n");
}

TEST(data_reader, chunking_does_not_matter) {
  std::string in = "Received: a\r\nSubject: y\r\n\r\n..a\r\nb\nc\r\n.\r\nX";
  auto a = run(in), b = run(in, {}, 1), c = run(in, {}, 3);
  EXPECT_EQ(a.content, b.content);
  EXPECT_EQ(a.content, c.content);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.consumed, b.consumed);
}

TEST(data_reader, size_limit_reads_to_the_end) {
  data_limits lim;
  lim.max_bytes = 10;
  auto o = run("0123456789ABCDEF\r\n.\r\n", lim);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::too_large);
  EXPECT_EQ(o.content, "0123456789");
  lim.max_bytes = 12;
  EXPECT_EQ(run("0123456789\r\n.\r\n", lim).error, data_error::none);
}

TEST(data_reader, line_limit_exact) {
  data_limits lim;
  EXPECT_EQ(run(std::string(998, 'a') + "\r\n.\r\n", lim).error, data_error::none);
  EXPECT_EQ(run(std::string(999, 'a') + "\r\n.\r\n", lim).error, data_error::line_too_long);
  EXPECT_EQ(run("." + std::string(998, 'a') + "\r\n.\r\n", lim).error, data_error::line_too_long);
}

TEST(data_reader, header_section_and_hops) {
  data_limits lim;
  lim.max_header = 100;
  std::string big;
  for (int i = 0; i < 20; ++i) big += "X-a: b\r\n";
  EXPECT_EQ(run(big + "\r\nbody\r\n.\r\n", lim).error, data_error::header_too_large);
  EXPECT_EQ(run("X-a: b\r\n\r\n" + big + ".\r\n", lim).error, data_error::none);  // body lines do not count
  data_limits hops;
  hops.max_hops = 3;
  EXPECT_EQ(run("Received: a\r\nReceived: b\r\n\r\n.\r\n", hops).error, data_error::none);
  EXPECT_EQ(run("Received: a\r\nRECEIVED : b\r\nreceived:c\r\n\r\n.\r\n", hops).error, data_error::too_many_hops);
  EXPECT_EQ(run("Received: a\r\nReceived: b\r\n\r\nReceived: c\r\n.\r\n", hops).error, data_error::none);
}

TEST(data_reader, unexpected_eof_is_not_done) {
  auto o = run("Subject: x\r\n\r\nno end");
  EXPECT_FALSE(o.done);
}
