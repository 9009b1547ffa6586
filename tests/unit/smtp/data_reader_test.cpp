// tests/unit/smtp/data_reader_test.cpp: end of data, dot-unstuffing, bare CR/LF, limits, hops, resumability.
// SPDX-License-Identifier: MIT
#include "smtp/data_reader.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailfort::smtp;

namespace {
struct outcome {
  bool done = false;
  std::size_t consumed = 0;
  data_error error = data_error::none;
  std::string content;
  std::size_t content_bytes = 0;
  std::size_t received = 0;
  bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
  return os << "done=" << o.done << " consumed=" << o.consumed << " error=" << data_error_name(o.error)
            << " content=" << testing::PrintToString(o.content) << " bytes=" << o.content_bytes;
}

// Feed `in` in pieces of `chunk` bytes (0: all at once) until done or the input is used up.
outcome run(std::string_view in, data_limits lim = {}, std::size_t chunk = 0) {
  data_reader r(lim);
  outcome o;
  if (chunk == 0) chunk = in.size() + 1;
  while (o.consumed < in.size() && !o.done) {
    auto piece = in.substr(o.consumed, chunk);
    auto res = r.feed(piece, o.content);
    EXPECT_LE(res.consumed, piece.size());
    o.consumed += res.consumed;
    o.done = res.status == data_status::done;
    if (!o.done) {
      EXPECT_EQ(res.consumed, piece.size());
    }
  }
  o.error = r.error();
  o.content_bytes = r.content_bytes();
  o.received = r.received_count();
  return o;
}

data_limits limits(std::size_t max_bytes, std::size_t max_line = 1000, std::size_t max_header = 256 * 1024,
                   std::size_t max_hops = 100) {
  return data_limits{max_bytes, max_line, max_header, max_hops};
}
}  // namespace

TEST(data_reader, ends_only_at_crlf_dot_crlf_and_leaves_the_rest) {
  std::string msg = "Subject: x\r\n\r\nbody\r\n.\r\n";
  auto o = run(msg + "QUIT\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::none);
  EXPECT_EQ(o.content, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(o.consumed, msg.size());  // the pipelined QUIT is left for the command parser
  EXPECT_EQ(o.content_bytes, o.content.size());
}

TEST(data_reader, start_of_data_counts_as_line_start) {
  auto empty = run(".\r\nNEXT");
  EXPECT_TRUE(empty.done);
  EXPECT_EQ(empty.content, "");
  EXPECT_EQ(empty.consumed, 3u);
  auto blank = run("\r\n.\r\n");
  EXPECT_TRUE(blank.done);
  EXPECT_EQ(blank.content, "\r\n");
  EXPECT_FALSE(blank.error != data_error::none);
  EXPECT_FALSE(run("x.\r\n").done);  // a dot not at line start is content
}

TEST(data_reader, dot_unstuffing_exact) {
  // bad-inputs 4 and command-replies data-dot-stuffing.
  auto o = run("..foo\r\n..\r\n...\r\n.x\r\n.From: a\r\nin.line\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::none);
  EXPECT_EQ(o.content, ".foo\r\n.\r\n..\r\nx\r\nFrom: a\r\nin.line\r\n");
}

TEST(data_reader, every_impostor_is_content_and_an_error) {
  // bad-inputs 1-2: one message, ending only at the real terminator; the smuggled commands are content.
  for (const char* fake : {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\n.\r", "\r.\n",
                           "\r\n.\r\r\n", "\r\r\n.\r\r\n"}) {
    std::string in = std::string("hello") + fake + "MAIL FROM:<x@y>\r\nDATA\r\nsmuggled\r\n.\r\nNEXT";
    SCOPED_TRACE(testing::PrintToString(std::string(fake)));
    for (std::size_t chunk : {0, 1, 2, 3}) {
      auto o = run(in, {}, chunk);
      EXPECT_TRUE(o.done);
      EXPECT_TRUE(o.error == data_error::bare_lf || o.error == data_error::bare_cr) << data_error_name(o.error);
      EXPECT_EQ(in.substr(o.consumed), "NEXT");
      EXPECT_EQ(o.content.find("MAIL"), std::string::npos);  // nothing stored after the error
    }
  }
  for (std::string fake : {std::string("\r\n\0.\r\n", 6), std::string("\r\n.\0\r\n", 6)}) {
    auto o = run("hello" + fake + "MAIL FROM:<x@y>\r\n.\r\nNEXT");
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.error, data_error::nul);
    EXPECT_EQ(o.content, "hello\r\n");
  }
  auto sp = run("hello\r\n. \r\nMAIL\r\n.\r\nNEXT");
  EXPECT_EQ(sp.error, data_error::none);  // ". " is a dot-stuffed line, not an end
  EXPECT_EQ(sp.content, "hello\r\n \r\nMAIL\r\n");
}

TEST(data_reader, bare_cr_and_lf_without_a_dot) {
  // bad-inputs 3: an error at the end of data, never a rewrite.
  auto lf = run("Subject: a\r\n\r\nline one\nline two\r\n.\r\n");
  EXPECT_TRUE(lf.done);
  EXPECT_EQ(lf.error, data_error::bare_lf);
  EXPECT_EQ(lf.content, "Subject: a\r\n\r\nline one");
  auto cr = run("Subject: a\r\n\r\nline one\rline two\r\n.\r\n");
  EXPECT_TRUE(cr.done);
  EXPECT_EQ(cr.error, data_error::bare_cr);
  EXPECT_EQ(run("a\r\r\n.\r\n").error, data_error::bare_cr);
  EXPECT_EQ(run("\n.\r\n\r\n.\r\n").error, data_error::bare_lf);
  // A lone CR at the end of the input is not an error yet: the next byte decides.
  data_reader r({});
  std::string out;
  EXPECT_EQ(r.feed("abc\r", out).status, data_status::need_more);
  EXPECT_EQ(r.error(), data_error::none);
  EXPECT_EQ(r.feed("\n.\r", out).status, data_status::need_more);
  EXPECT_EQ(r.error(), data_error::none);
  auto end = r.feed("\nX", out);
  EXPECT_EQ(end.status, data_status::done);
  EXPECT_EQ(end.consumed, 1u);
  EXPECT_EQ(out, "abc\r\n");
}

TEST(data_reader, first_error_is_kept) {
  auto o = run("a\nb" + std::string(2000, 'c') + "\r\n.\r\n", limits(10));
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::bare_lf);  // not line_too_long nor too_large
  EXPECT_EQ(o.content, "a");
  auto t = run("0123456789ABC\nx\r\n.\r\n", limits(10));
  EXPECT_EQ(t.error, data_error::too_large);
}

TEST(data_reader, quit_inside_data_is_content) {
  // bad-inputs 47.
  auto o = run("QUIT\r\nRSET\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, "QUIT\r\nRSET\r\n");
}

TEST(data_reader, resumable_at_every_byte_boundary) {
  const std::string inputs[] = {
      "Received: a\r\nSubject: y\r\n\r\n..a\r\nb\nc\r\n.\r\nX",
      "Received: a\r\nReceived: b\r\nReceived: c\r\n\r\nbody\r\n..\r\n.\r\nMAIL",
      "hello\r\n.\r\r\nmore\r\n. \r\n.\r\nNEXT",
      std::string("x\r\n\0.\r\n.\r\n", 10),
      "a\r" + std::string(30, 'b') + "\r\n" + std::string(50, 'c') + "\r\n.\r\nZ",
      "Subject: " + std::string(80, 's') + "\r\n\r\n" + std::string(120, 'z') + "\r\n.\r\n",
      "no terminator\r\n.",
  };
  data_limits lim = limits(100, 64, 90, 3);
  for (const auto& in : inputs) {
    SCOPED_TRACE(testing::PrintToString(in));
    auto whole = run(in, lim);
    for (std::size_t chunk = 1; chunk <= 13; ++chunk) EXPECT_EQ(run(in, lim, chunk), whole) << "chunk " << chunk;
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
      data_reader r(lim);
      outcome o;
      auto a = r.feed(std::string_view(in).substr(0, cut), o.content);
      o.consumed = a.consumed;
      o.done = a.status == data_status::done;
      if (!o.done) {
        auto b = r.feed(std::string_view(in).substr(cut), o.content);
        o.consumed += b.consumed;
        o.done = b.status == data_status::done;
      }
      o.error = r.error();
      o.content_bytes = r.content_bytes();
      o.received = r.received_count();
      EXPECT_EQ(o, whole) << "cut " << cut;
    }
  }
}

TEST(data_reader, size_limit_exact) {
  // Stored content counts CRLF as two octets (RFC 1870); exactly max_bytes is fine, one more is too_large.
  auto at = run("0123456789\r\n.\r\n", limits(12));
  EXPECT_TRUE(at.done);
  EXPECT_EQ(at.error, data_error::none);
  EXPECT_EQ(at.content, "0123456789\r\n");
  auto over = run("01234567890\r\n.\r\n", limits(12));
  EXPECT_TRUE(over.done);
  EXPECT_EQ(over.error, data_error::too_large);
  EXPECT_EQ(over.content, "01234567890\r");  // exactly max_bytes stored
  EXPECT_EQ(over.content_bytes, 13u);        // the real size, for the log
  // bad-inputs 30: a message outgrowing the limit is still read to the end of data.
  std::string big = std::string(5000, 'x') + "\r\n.\r\nQUIT\r\n";
  auto o = run(big, limits(100), 7);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::too_large);
  EXPECT_EQ(o.content.size(), 100u);
  EXPECT_EQ(big.substr(o.consumed), "QUIT\r\n");
  // Unstuffed dots do not count.
  EXPECT_EQ(run("..\r\n.\r\n", limits(3)).error, data_error::none);
  EXPECT_EQ(run(".\r\n", limits(0)).error, data_error::none);
  EXPECT_EQ(run("a\r\n.\r\n", limits(0)).error, data_error::too_large);
}

TEST(data_reader, line_limit_exact) {
  // bad-inputs 28: max_line counts the CRLF (and a stuffing dot, which is on the wire).
  data_limits lim = limits(1 << 20, 1000, 1 << 20);
  std::string body = "\r\n";  // empty header section first, so the header-line rule does not interfere
  EXPECT_EQ(run(body + std::string(998, 'a') + "\r\n.\r\n", lim).error, data_error::none);
  EXPECT_EQ(run(body + std::string(999, 'a') + "\r\n.\r\n", lim).error, data_error::line_too_long);
  EXPECT_EQ(run(body + "." + std::string(997, 'a') + "\r\n.\r\n", lim).error, data_error::none);
  EXPECT_EQ(run(body + "." + std::string(998, 'a') + "\r\n.\r\n", lim).error, data_error::line_too_long);
  auto o = run(body + std::string(20000, 'a') + "\r\n.\r\nNEXT", lim);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::line_too_long);
  EXPECT_EQ(o.content, "\r\n" + std::string(998, 'a'));  // stored up to the limit only
  data_limits small = limits(1 << 20, 10, 1 << 20);
  EXPECT_EQ(run("\r\n12345678\r\n.\r\n", small).error, data_error::none);
  EXPECT_EQ(run("\r\n123456789\r\n.\r\n", small).error, data_error::line_too_long);
}

TEST(data_reader, header_line_limit_exact) {
  // bad-inputs 29: one header line over 998 octets (+ CRLF) is header_too_large, even if max_line is larger.
  data_limits lim = limits(1 << 20, 1 << 20, 1 << 20);
  std::string h998 = "X-Long: " + std::string(990, 'h');
  ASSERT_EQ(h998.size(), 998u);
  EXPECT_EQ(run(h998 + "\r\n\r\nbody\r\n.\r\n", lim).error, data_error::none);
  EXPECT_EQ(run(h998 + "h\r\n\r\nbody\r\n.\r\n", lim).error, data_error::header_too_large);
  // The same length in the body is fine (the body limit is max_line).
  EXPECT_EQ(run("\r\n" + h998 + "h\r\n.\r\n", lim).error, data_error::none);
  // With the default max_line of 1000, a long header line is still reported as a header problem.
  EXPECT_EQ(run(h998 + "h\r\n\r\n.\r\n").error, data_error::header_too_large);
}

TEST(data_reader, header_section_limit_exact) {
  // The header section counts every header line with its CRLF, not the empty line that ends it.
  std::string ten = "X-a: bcd\r\n";  // 10 octets
  std::string header;
  for (int i = 0; i < 10; ++i) header += ten;  // 100 octets
  EXPECT_EQ(run(header + "\r\nbody\r\n.\r\n", limits(1 << 20, 1000, 100)).error, data_error::none);
  EXPECT_EQ(run(header + "\r\nbody\r\n.\r\n", limits(1 << 20, 1000, 99)).error, data_error::header_too_large);
  // Body lines do not count.
  std::string big;
  for (int i = 0; i < 50; ++i) big += ten;
  EXPECT_EQ(run("X-a: b\r\n\r\n" + big + ".\r\n", limits(1 << 20, 1000, 100)).error, data_error::none);
  // 200 kB of headers against the default 256 KiB is fine; 300 kB is not.
  std::string h200, h300;
  while (h200.size() < 200 * 1000) h200 += "X-a: b\r\n";
  while (h300.size() < 300 * 1000) h300 += "X-a: b\r\n";
  EXPECT_EQ(run(h200 + "\r\n.\r\n").error, data_error::none);
  auto o = run(h300 + "\r\nbody\r\n.\r\nNEXT");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, data_error::header_too_large);
  EXPECT_LE(o.content.size(), 256u * 1024);  // storing stopped at the limit
}

TEST(data_reader, hops_exact) {
  // bad-inputs 48: max_hops Received: fields are refused, one fewer is fine.
  data_limits hops = limits(1 << 20, 1000, 1 << 20, 3);
  auto two = run("Received: a\r\nReceived: b\r\n\r\n.\r\n", hops);
  EXPECT_EQ(two.error, data_error::none);
  EXPECT_EQ(two.received, 2u);
  auto three = run("Received: a\r\nRECEIVED : b\r\nreceived:c\r\n\r\n.\r\n", hops);
  EXPECT_EQ(three.error, data_error::too_many_hops);
  EXPECT_EQ(three.received, 3u);
  // Not Received fields: other names, folded continuation lines, body lines.
  auto others =
      run("Received-SPF: pass\r\nX-Received: a\r\nReceivedx: a\r\nSubject: Received: x\r\n"
          "Received: a\r\n Received: folded\r\n\tReceived: folded\r\n\r\nReceived: c\r\nReceived: d\r\n.\r\n",
          hops);
  EXPECT_EQ(others.error, data_error::none);
  EXPECT_EQ(others.received, 1u);
  // A stuffed dot is removed before the name is looked at.
  EXPECT_EQ(run(".Received: a\r\nReceived: b\r\nReceived: c\r\n\r\n.\r\n", hops).error, data_error::too_many_hops);
  // The default limit: 99 fine, 100 refused.
  std::string h99;
  for (int i = 0; i < 99; ++i) h99 += "Received: from x by y\r\n";
  EXPECT_EQ(run(h99 + "\r\n.\r\n").error, data_error::none);
  EXPECT_EQ(run(h99 + "Received: z\r\n\r\n.\r\n").error, data_error::too_many_hops);
}

TEST(data_reader, unexpected_eof_is_not_done) {
  EXPECT_FALSE(run("Subject: x\r\n\r\nno end").done);
  EXPECT_FALSE(run("Subject: x\r\n\r\nno end\r\n.").done);
  EXPECT_FALSE(run("Subject: x\r\n\r\nno end\r\n.\r").done);
  EXPECT_FALSE(run("").done);
}

TEST(data_reader, error_names) {
  for (auto e : {data_error::none, data_error::bare_lf, data_error::bare_cr, data_error::nul, data_error::line_too_long,
                 data_error::header_too_large, data_error::too_large, data_error::too_many_hops})
    EXPECT_GT(std::string(data_error_name(e)).size(), 0u);
  EXPECT_STREQ(data_error_name(data_error::bare_lf), "bare_lf");
  EXPECT_STREQ(data_error_name(data_error::too_large), "too_large");
}

// Issue 15 item 7: a bare LF is a sloppy client unless it bounds a dot line (a fake end of data: smuggling).
TEST(data_reader, fake_end_tells_smuggling_from_sloppy_line_ends) {
  auto fake = [](std::string_view in, std::size_t chunk) {
    data_reader r({});
    std::string out;
    for (std::size_t i = 0; i < in.size();) {
      std::size_t n = chunk ? std::min(chunk, in.size() - i) : in.size() - i;
      auto res = r.feed(in.substr(i, n), out);
      i += res.consumed;
      if (res.status == data_status::done) break;
    }
    EXPECT_EQ(r.error(), data_error::bare_lf) << testing::PrintToString(std::string(in));
    return r.fake_end();
  };
  for (std::size_t chunk : {0, 1, 3}) {
    EXPECT_FALSE(fake("Subject: x\r\n\r\nline\nwith a bare LF\r\n.\r\n", chunk));
    EXPECT_FALSE(fake("Subject: x\n\nall\nlines\nend\nin\nLF\r\n.\r\n", chunk));
    EXPECT_FALSE(fake("a\n.b\r\n.\r\n", chunk));  // a dot-started line, not a dot line
    EXPECT_TRUE(fake("x\n.\nMAIL FROM:<b@example.org>\r\n.\r\n", chunk));
    EXPECT_TRUE(fake("x\n.\r\nMAIL FROM:<b@example.org>\r\n.\r\n", chunk));
    EXPECT_TRUE(fake("x\r\n.\nMAIL FROM:<b@example.org>\r\n.\r\n", chunk));
    EXPECT_TRUE(fake(".\nMAIL FROM:<b@example.org>\r\n.\r\n", chunk));
  }
}

TEST(data_reader, leading_whitespace_is_refused) {
  // Issue 15 item 7: prepended to this content, our Received: field would absorb the first line as its own
  // continuation. Only the very first content byte counts; the reader still runs to the real end of data.
  for (std::string start : {" X-Fake: 1", "\tX-Fake: 1", ". X-Fake: 1", ".\tX"}) {
    auto o = run(start + "\r\nSubject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    EXPECT_TRUE(o.done) << start;
    EXPECT_EQ(o.error, data_error::leading_whitespace) << start;
    EXPECT_EQ(o.content, "") << start;
    EXPECT_EQ(o.consumed, start.size() + 25) << start;  // QUIT is left for the command parser
  }
  EXPECT_STREQ(data_error_name(data_error::leading_whitespace), "leading_whitespace");
  // Folded lines later in the header, a body line with a space, and an empty header are all fine.
  EXPECT_EQ(run("Subject: a\r\n b\r\n\r\n indented\r\n.\r\n").error, data_error::none);
  EXPECT_EQ(run("\r\n body after an empty header\r\n.\r\n").error, data_error::none);
  EXPECT_EQ(run("X\r\n.\r\n").error, data_error::none);
  EXPECT_EQ(run("..x\r\n.\r\n").content, ".x\r\n");
}
