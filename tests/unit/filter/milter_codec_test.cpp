// tests/unit/filter/milter_codec_test.cpp: the pure milter codec.
// SPDX-License-Identifier: MIT
#include "filter/milter_codec.hpp"

#include <gtest/gtest.h>

using namespace mailfort::filter::milter;
using namespace std::string_literals;

namespace {

reply parsed(char c, std::string data) {
  auto r = parse_reply(packet{c, std::move(data)});
  EXPECT_TRUE(r.value) << r.why;
  return r.value ? *r.value : reply{};
}

}  // namespace

TEST(MilterFraming, EncodeIsLengthCommandData) {
  EXPECT_EQ(encode('c', ""), "\0\0\0\1c"s);
  EXPECT_EQ(encode('B', "abc"), "\0\0\0\4Babc"s);
  EXPECT_EQ(encode_optneg(6, 0x1FF, 0x1FFFFF), "\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"s);
}

TEST(MilterFraming, ReaderSplitsAndResumes) {
  packet_reader r(100);
  std::string two = encode('h', "X\0y\0"s) + encode('a', "");
  packet p;
  r.feed(two.substr(0, 3));
  EXPECT_EQ(r.next(p), packet_reader::status::need_more);
  r.feed(two.substr(3, 4));
  EXPECT_EQ(r.next(p), packet_reader::status::need_more);
  r.feed(two.substr(7));
  ASSERT_EQ(r.next(p), packet_reader::status::packet);
  EXPECT_EQ(p.command, 'h');
  EXPECT_EQ(p.data, "X\0y\0"s);
  ASSERT_EQ(r.next(p), packet_reader::status::packet);
  EXPECT_EQ(p.command, 'a');
  EXPECT_EQ(r.next(p), packet_reader::status::need_more);
}

TEST(MilterFraming, ZeroAndOversizedLengthsAreErrors) {
  packet_reader z(100);
  z.feed("\0\0\0\0c"s);
  packet p;
  EXPECT_EQ(z.next(p), packet_reader::status::error);
  packet_reader big(100);
  big.feed("\xff\xff\xff\xff"s);
  EXPECT_EQ(big.next(p), packet_reader::status::error);
  big.feed(encode('c', ""));
  EXPECT_EQ(big.next(p), packet_reader::status::error);  // stays in error
}

TEST(MilterEncode, ConnectMacrosStrings) {
  EXPECT_EQ(encode_connect("mx.example", '4', 25, "192.0.2.1"), encode('C',
                                                                       "mx.example\0"
                                                                       "4\0\x19"
                                                                       "192.0.2.1\0"s));
  EXPECT_EQ(encode_connect("[u]", 'U', 0, "/s"), encode('C', "[u]\0U/s\0"s));
  EXPECT_EQ(encode_macros('M', {{"i", "Q1"}, {"{mail_addr}", "a@b"}}), encode('D', "Mi\0Q1\0{mail_addr}\0a@b\0"s));
  EXPECT_EQ(encode_strings('R', {"<a@b>", "NOTIFY=NEVER"}), encode('R', "<a@b>\0NOTIFY=NEVER\0"s));
}

TEST(MilterReply, Negotiation) {
  std::string d = "\0\0\0\6\0\0\1\xff\0\x0f\xf0\x80"s;
  auto r = parsed('O', d);
  EXPECT_EQ(r.kind, reply_kind::negotiate);
  EXPECT_EQ(r.version, 6u);
  EXPECT_EQ(r.actions, 0x1FFu);
  EXPECT_EQ(r.protocol, 0xFF080u);
  d += "\0\0\0\2{mail_addr} i\0"s;
  r = parsed('O', d);
  ASSERT_TRUE(r.macros[2]);
  EXPECT_EQ(*r.macros[2], (std::vector<std::string>{"{mail_addr}", "i"}));
  EXPECT_FALSE(r.macros[0]);
  EXPECT_FALSE(parse_reply(packet{'O', "\0\0\0\6"s}).value);                         // short
  EXPECT_FALSE(parse_reply(packet{'O', d.substr(0, 12) + "\0\0\0\x09x\0"s}).value);  // stage 9
  EXPECT_FALSE(parse_reply(packet{'O', d.substr(0, 12) + "\0\0\0\1x"s}).value);      // no NUL
}

TEST(MilterReply, BareRepliesAndUnknown) {
  EXPECT_EQ(parsed('c', "").kind, reply_kind::continue_);
  EXPECT_EQ(parsed('a', "").kind, reply_kind::accept);
  EXPECT_EQ(parsed('r', "").kind, reply_kind::reject);
  EXPECT_EQ(parsed('t', "").kind, reply_kind::tempfail);
  EXPECT_EQ(parsed('d', "").kind, reply_kind::discard);
  EXPECT_EQ(parsed('p', "").kind, reply_kind::progress);
  EXPECT_EQ(parsed('s', "").kind, reply_kind::skip);
  EXPECT_EQ(parsed('4', "").kind, reply_kind::shutdown);
  auto u = parse_reply(packet{'Z', ""});
  EXPECT_FALSE(u.value);
  EXPECT_EQ(u.error, parse_error::unknown_command);
}

TEST(MilterReply, Headers) {
  auto h = parsed('h', "X-Spam\0Yes\0"s);
  EXPECT_EQ(h.kind, reply_kind::add_header);
  EXPECT_EQ(h.name, "X-Spam");
  EXPECT_EQ(h.value, "Yes");
  auto i = parsed('i', "\0\0\0\3X-A\0v\0"s);
  EXPECT_EQ(i.index, 3u);
  auto m = parsed('m', "\0\0\0\1Subject\0\0"s);
  EXPECT_EQ(m.value, "");
  EXPECT_EQ(parsed('h', "X\0a\n\tb\0"s).value, "a\n\tb");      // folded with LF + WSP
  EXPECT_FALSE(parse_reply(packet{'h', "X\0a\nb\0"s}).value);  // a bare line break: header injection
  EXPECT_FALSE(parse_reply(packet{'h', "X\0a\rb\0"s}).value);
  EXPECT_FALSE(parse_reply(packet{'h', "X Y\0v\0"s}).value);  // space in the name
  EXPECT_FALSE(parse_reply(packet{'h', "X:\0v\0"s}).value);
  EXPECT_FALSE(parse_reply(packet{'h', "\0v\0"s}).value);
  EXPECT_FALSE(parse_reply(packet{'h', "X\0v"s}).value);     // no NUL
  EXPECT_FALSE(parse_reply(packet{'h', "X\0v\0z"s}).value);  // trailing bytes
  EXPECT_FALSE(parse_reply(packet{'i', "\0\0X"s}).value);    // short index
}

TEST(MilterReply, Addresses) {
  auto e = parsed('e', "<new@example.org>\0"s);
  EXPECT_EQ(e.kind, reply_kind::change_from);
  EXPECT_EQ(e.address, "new@example.org");
  EXPECT_EQ(parsed('e', "<>\0"s).address, "");
  EXPECT_EQ(parsed('e', "a@b\0SIZE=10\0"s).args, "SIZE=10");
  EXPECT_EQ(parsed('+', "<bcc@example.org>\0"s).address, "bcc@example.org");
  EXPECT_EQ(parsed('-', "x@y\0"s).kind, reply_kind::del_rcpt);
  EXPECT_FALSE(parse_reply(packet{'+', "<>\0"s}).value);
  EXPECT_FALSE(parse_reply(packet{'+', "a b@c\0"s}).value);
  EXPECT_FALSE(parse_reply(packet{'+', "a@c\r\nRCPT TO:<x>\0"s}).value);
  EXPECT_FALSE(parse_reply(packet{'+', "a@c\0ARG\0"s}).value);  // addrcpt takes no arguments
}

TEST(MilterReply, CustomReplyCodes) {
  auto r = parse_custom_reply("554 5.7.1 Gtube pattern");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 554);
  EXPECT_EQ(r->enhanced, "5.7.1");
  EXPECT_EQ(r->lines, std::vector<std::string>{"Gtube pattern"});
  r = parse_custom_reply("451 try later");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->enhanced, "4.7.1");
  EXPECT_EQ(r->lines[0], "try later");
  r = parse_custom_reply("550-5.7.1 first\r\n550 5.7.1 100%% second");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines, (std::vector<std::string>{"first", "100% second"}));
  EXPECT_FALSE(parse_custom_reply("250 2.0.0 ok"));           // a milter cannot accept with 'y'
  EXPECT_FALSE(parse_custom_reply("550 4.7.1 mixed class"));  // enhanced class differs
  EXPECT_FALSE(parse_custom_reply("550-a\r\n551 b"));         // code changes
  EXPECT_FALSE(parse_custom_reply("550-a"));                  // continuation without a last line
  EXPECT_FALSE(parse_custom_reply("550 a\r\n550 b"));         // text after the last line
  EXPECT_FALSE(parse_custom_reply("550 a\nb"));               // bare LF
  EXPECT_FALSE(parse_custom_reply("550 a\x01"));              // control byte
  EXPECT_FALSE(parse_custom_reply("55"));
  EXPECT_FALSE(parse_custom_reply("550x"));
}

TEST(MilterHead, SplitLikeCleanup) {
  std::string head = "From: a@b\r\nSubject: hi\r\n  there\r\n\r\n";
  auto s = split(head);
  ASSERT_EQ(s.fields.size(), 2u);
  EXPECT_EQ(s.fields[1].name, "Subject");
  EXPECT_EQ(s.fields[1].value, " hi\r\n  there");
  EXPECT_EQ(s.body_start, head.size());
  EXPECT_EQ(s.fields_end, head.size() - 2);
  EXPECT_EQ(value_for_milter(s.fields[1].value, false), "hi\n  there");
  EXPECT_EQ(value_for_milter(s.fields[1].value, true), " hi\n  there");
  // A line that is no field ends the section: it is body.
  std::string odd = "A: 1\r\nnot a field\r\nB: 2\r\n";
  auto o = split(odd);
  ASSERT_EQ(o.fields.size(), 1u);
  EXPECT_EQ(o.body_start, 6u);
}

TEST(MilterHead, Edits) {
  std::string head = "Received: x\r\nSubject: one\r\nX-Spam: old\r\nSubject: two\r\n\r\n";
  std::vector<header_edit> e = {
      {header_edit::op::add, 0, "X-Virus-Status", "Clean"}, {header_edit::op::insert, 0, "X-Top", "t"},
      {header_edit::op::change, 2, "subject", "changed"},   {header_edit::op::change, 1, "X-Spam", ""},
      {header_edit::op::change, 5, "X-New", "added"},       {header_edit::op::add, 0, "X-Folded", "a\n\tb"},
  };
  auto r = apply_header_edits(head, e, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r,
            "X-Top: t\r\nReceived: x\r\nSubject: one\r\nsubject: changed\r\nX-Virus-Status: Clean\r\n"
            "X-New: added\r\nX-Folded: a\r\n\tb\r\n\r\n");
  EXPECT_EQ(*apply_header_edits(head, {}, false), head);
  EXPECT_FALSE(apply_header_edits(head, {{header_edit::op::add, 0, "Bad Name", "v"}}, false));
  EXPECT_FALSE(apply_header_edits(head, {{header_edit::op::add, 0, "X", "a\r\nInjected: 1"}}, false));
  // Insert past the end appends; leadspc keeps the value verbatim.
  EXPECT_EQ(*apply_header_edits("A: 1\r\n\r\nbody", {{header_edit::op::insert, 99, "B", " 2"}}, true),
            "A: 1\r\nB: 2\r\n\r\nbody");
}

TEST(MilterBody, NormalizeLineEnds) {
  std::string out;
  bool cr = false;
  normalize_body_chunk("a\nb\r\nc\r", out, cr);
  EXPECT_TRUE(cr);
  normalize_body_chunk("\nd\re", out, cr);
  EXPECT_FALSE(cr);
  EXPECT_EQ(out, "a\r\nb\r\nc\r\nd\r\ne");
}
