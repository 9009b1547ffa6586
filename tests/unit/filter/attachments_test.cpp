// tests/unit/filter/attachments_test.cpp: the attachment policy's MIME walker.
// SPDX-License-Identifier: MIT
#include "filter/attachments.hpp"

#include <gtest/gtest.h>

using namespace mailfort::filter;

namespace {

attachment_report walk(const std::string& msg, std::size_t chunk = 0) {
  mime_walker w(default_blocked_extensions());
  if (chunk == 0) {
    w.feed(msg);
  } else {
    for (std::size_t i = 0; i < msg.size(); i += chunk) w.feed(std::string_view(msg).substr(i, chunk));
  }
  return w.finish();
}

std::string part(const std::string& headers, const std::string& body) { return headers + "\r\n\r\n" + body + "\r\n"; }

const std::string k_top =
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\npreamble\r\n";

}  // namespace

TEST(Attachments, PlainMessagePasses) {
  auto r = walk("From: a@b\r\nSubject: hi\r\n\r\nhello\r\n");
  EXPECT_FALSE(r.blocked);
  EXPECT_EQ(r.parts, 1u);
}

TEST(Attachments, ExeInNestedMultipartIsBlocked) {
  std::string msg = k_top + "--outer\r\n" + part("Content-Type: text/plain", "hi") + "--outer\r\n" +
                    "Content-Type: multipart/alternative; boundary=inner\r\n\r\n" + "--inner\r\n" +
                    part("Content-Type: text/plain", "x") + "--inner\r\n" +
                    part(
                        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                        "filename=\"Invoice.PDF.exe\"\r\nContent-Transfer-Encoding: base64",
                        "AAAA") +
                    "--inner--\r\n--outer--\r\n";
  for (std::size_t chunk : {0u, 1u, 7u, 64u}) {
    auto r = walk(msg, chunk);
    ASSERT_TRUE(r.blocked) << chunk;
    EXPECT_EQ(r.blocked->name, "Invoice.PDF.exe");
    EXPECT_EQ(r.blocked->extension, "exe");
    EXPECT_EQ(r.blocked->why, "extension");
    EXPECT_EQ(r.parts, 5u);  // the message, text, alternative, its text, the attachment
  }
}

TEST(Attachments, Rfc2231NamesAreDecoded) {
  std::string msg = k_top + "--outer\r\n" +
                    part(
                        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n"
                        " filename*=utf-8''%72%65%70%6F%72%74%2E%6A%73",
                        "x") +
                    "--outer--\r\n";
  auto r = walk(msg);
  ASSERT_TRUE(r.blocked);
  EXPECT_EQ(r.blocked->name, "report.js");
  // Continuations, the first extended.
  EXPECT_EQ(mime_parameter("attachment; filename*0*=us-ascii'en'a%20b; filename*1=\".v\"; filename*2=bs", "filename"),
            "a b.vbs");
  EXPECT_EQ(mime_parameter("attachment; filename*1=x; filename*0=a", "filename"), "ax");
  EXPECT_EQ(mime_parameter("text/plain; charset=utf-8", "name"), std::nullopt);
  EXPECT_EQ(mime_parameter("a; NAME = \"q\\\"uoted.txt\"", "name"), "q\"uoted.txt");
}

TEST(Attachments, EncodedWordNamesAreDecoded) {
  EXPECT_EQ(decode_encoded_words("=?UTF-8?B?c2V0dXAuZXhl?="), "setup.exe");
  EXPECT_EQ(decode_encoded_words("=?iso-8859-1?Q?a_b=2Ejs?= =?utf-8?q?x?="), "a b.jsx");
  EXPECT_EQ(decode_encoded_words("plain =?bad"), "plain =?bad");
  std::string msg = k_top + "--outer\r\n" +
                    part("Content-Type: application/octet-stream; name=\"=?UTF-8?B?c2V0dXAuZXhl?=\"", "x") +
                    "--outer--\r\n";
  auto r = walk(msg);
  ASSERT_TRUE(r.blocked);
  EXPECT_EQ(r.blocked->name, "setup.exe");
}

TEST(Attachments, WindowsExtensionRules) {
  EXPECT_EQ(file_extension("a.JS. "), "js");
  EXPECT_EQ(file_extension("dir\\x.tar.gz"), "gz");
  EXPECT_EQ(file_extension("noext"), "");
  EXPECT_EQ(file_extension(""), "");
}

TEST(Attachments, PdfPassesAndArchivesAreReported) {
  std::string msg =
      k_top + "--outer\r\n" +
      part("Content-Type: application/pdf; name=report.pdf\r\nContent-Transfer-Encoding: base64", "JVBERi0xLjQK") +
      "--outer\r\n" + part("Content-Type: application/zip; name=\"files.zip\"", "UEsDBA==") + "--outer--\r\n";
  auto r = walk(msg);
  EXPECT_FALSE(r.blocked);
  ASSERT_EQ(r.archives.size(), 1u);
  EXPECT_EQ(r.archives[0].name, "files.zip");
}

TEST(Attachments, ExecutableContentAndTypes) {
  // "MZ" behind an innocent name.
  std::string msg = k_top + "--outer\r\n" +
                    part("Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64",
                         "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") +
                    "--outer--\r\n";
  auto r = walk(msg);
  ASSERT_TRUE(r.blocked);
  EXPECT_EQ(r.blocked->why, "executable content");
  msg = k_top + "--outer\r\n" + part("Content-Type: application/x-msdownload", "x") + "--outer--\r\n";
  r = walk(msg);
  ASSERT_TRUE(r.blocked);
  EXPECT_EQ(r.blocked->why, "type");
}

TEST(Attachments, AttachedMessageIsWalked) {
  std::string inner = "Subject: fwd\r\nContent-Type: multipart/mixed; boundary=b2\r\n\r\n--b2\r\n" +
                      part("Content-Disposition: attachment; filename=run.bat", "x") + "--b2--\r\n";
  std::string msg = k_top + "--outer\r\n" + "Content-Type: message/rfc822\r\n\r\n" + inner + "--outer--\r\n";
  auto r = walk(msg);
  ASSERT_TRUE(r.blocked);
  EXPECT_EQ(r.blocked->extension, "bat");
}

TEST(Attachments, BoundsStopTheWalk) {
  std::string msg = "Content-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 1; i < 50; ++i)
    msg += "--b" + std::to_string(i - 1) + "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i) +
           "\r\n\r\n";
  auto r = walk(msg);
  EXPECT_TRUE(r.truncated);
  // A very long line is skipped, not kept.
  std::string longline = "From: a\r\n\r\n" + std::string(100000, 'x') + "\r\n";
  EXPECT_FALSE(walk(longline).blocked);
}

TEST(Attachments, ConfiguredListWithDots) {
  mime_walker w({".PDF"});
  w.feed("Content-Type: application/pdf; name=x.pdf\r\n\r\nbody\r\n");
  auto r = w.finish();
  ASSERT_TRUE(r.blocked);
}
