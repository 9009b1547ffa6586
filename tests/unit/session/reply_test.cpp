// tests/unit/session/reply_test.cpp: reply wire format (RFC 5321 4.2, RFC 2034); no reply can carry an
// injected line.
// SPDX-License-Identifier: MIT
#include "smtp/reply.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailfort::smtp {
namespace {

// Every line is "DDD" + ('-' | ' ') + text + CRLF, with ' ' only on the last; returns the line count.
std::size_t check_wire(const std::string& s, int code) {
  std::size_t lines = 0, pos = 0;
  const std::string c = std::to_string(code);
  while (pos < s.size()) {
    auto end = s.find("\r\n", pos);
    EXPECT_NE(end, std::string::npos) << s;
    if (end == std::string::npos) return lines;
    std::string line = s.substr(pos, end - pos);
    EXPECT_EQ(line.find('\r'), std::string::npos) << s;
    EXPECT_EQ(line.find('\n'), std::string::npos) << s;
    EXPECT_GE(line.size(), 4u);
    EXPECT_EQ(line.substr(0, 3), c);
    bool last = end + 2 == s.size();
    EXPECT_EQ(line[3], last ? ' ' : '-') << s;
    ++lines;
    pos = end + 2;
  }
  return lines;
}

TEST(reply, single_line) {
  EXPECT_EQ(format(make_reply(250, "2.1.0", "Ok")), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(format(make_reply(220, "", "mx.test ESMTP")), "220 mx.test ESMTP\r\n");
  EXPECT_EQ(format(make_reply(334, "", "VXNlcm5hbWU6")), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(format(make_reply(334, "", "")), "334 \r\n");  // RFC 4954: "334 " + empty challenge
}

TEST(reply, multi_line_uses_dash_until_the_last) {
  reply r;
  r.code = 250;
  r.lines = {"mx.test", "PIPELINING", "SIZE 10"};
  EXPECT_EQ(format(r), "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  EXPECT_EQ(check_wire(format(r), 250), 3u);
}

TEST(reply, enhanced_code_on_every_line) {  // RFC 2034 3: the code prefixes the text of each line
  reply r = make_reply(550, "5.7.1", "first");
  r.lines.push_back("second");
  EXPECT_EQ(format(r), "550-5.7.1 first\r\n550 5.7.1 second\r\n");
}

TEST(reply, empty_line_list_still_makes_one_line) {
  reply r;
  r.code = 421;
  r.enhanced = "4.7.0";
  r.lines.clear();
  EXPECT_EQ(format(r), "421 4.7.0 \r\n");
}

TEST(reply, control_bytes_cannot_inject_lines) {
  auto s = format(make_reply(550, "5.1.1", "user\r\n250 fake\nx\x01\x7f"));
  EXPECT_EQ(s, "550 5.1.1 user??250 fake?x??\r\n");
  EXPECT_EQ(check_wire(s, 550), 1u);
  auto n = format(make_reply(250, "", std::string("a\0b\tc\x1b[31m", 10)));
  EXPECT_EQ(n, "250 a?b?c?[31m\r\n");
  reply m;
  m.code = 250;
  m.lines = {"x\r\n250 injected", "y\n", "\r"};
  auto ms = format(m);
  EXPECT_EQ(ms, "250-x??250 injected\r\n250-y?\r\n250 ?\r\n");
  EXPECT_EQ(check_wire(ms, 250), 3u);
}

TEST(reply, utf8_text_is_kept) {  // 8-bit bytes are not line breaks; only C0 controls and DEL are replaced
  EXPECT_EQ(format(make_reply(250, "2.0.0", "J\xc3\xb6rg")), "250 2.0.0 J\xc3\xb6rg\r\n");
}

TEST(reply, append_formatted_appends) {
  std::string out = "prefix|";
  append_formatted(make_reply(250, "2.0.0", "a"), out);
  append_formatted(make_reply(354, "", "go"), out);
  EXPECT_EQ(out, "prefix|250 2.0.0 a\r\n354 go\r\n");
}

TEST(reply, classes) {
  EXPECT_TRUE(make_reply(250, "", "").positive());
  EXPECT_TRUE(make_reply(354, "", "").positive());
  EXPECT_FALSE(make_reply(354, "", "").transient());
  EXPECT_TRUE(make_reply(421, "", "").transient());
  EXPECT_TRUE(make_reply(452, "", "").transient());
  EXPECT_FALSE(make_reply(452, "", "").permanent());
  EXPECT_TRUE(make_reply(550, "", "").permanent());
  EXPECT_FALSE(make_reply(550, "", "").positive());
}

}  // namespace
}  // namespace mailfort::smtp
