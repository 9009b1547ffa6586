// tests/unit/queue/envelope_test.cpp: queue file format: byte-exact round trips, no field injection, corruption.
// SPDX-License-Identifier: MIT
#include "queue/envelope.hpp"

#include <gtest/gtest.h>

using namespace mailfort::queue;

namespace {
envelope hostile() {
  envelope e;
  e.id = "0123456789abcdef0123";
  e.sender = std::string("evil\nR5:owned\r\0:x", 17);  // Exim CVE-2020-28026 shape
  e.recipients = {{"alice@localhost", "rfc822;x\ny@z", recipient::state::pending},
                  {std::string("b\0b@localhost", 13), "", recipient::state::delivered}};
  e.received_at = 1700000000;
  e.session_id = "abc";
  e.client_ip = "::1";
  e.client_port = 65535;
  e.helo = "x\nM0:\nK";
  e.listener = "mx";
  e.auth_user = "alice@localhost";
  e.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
  e.body_type = "8BITMIME";
  e.smtputf8 = true;
  e.attempts = 3;
  e.next_attempt = -5;
  return e;
}
}  // namespace

TEST(envelope, roundtrip_hostile_fields) {
  auto e = hostile();
  std::string msg = "Subject: x\r\n\r\n.\r\nMAILFORT-QUEUE 1\nK";
  auto file = encode(e, msg);
  auto d = decode(file);
  ASSERT_EQ(d.error, decode_error::ok);
  EXPECT_EQ(d.env.sender, e.sender);
  EXPECT_EQ(d.env.helo, e.helo);
  ASSERT_EQ(d.env.recipients.size(), 2u);
  EXPECT_EQ(d.env.recipients[0].orcpt, "rfc822;x\ny@z");
  EXPECT_EQ(d.env.recipients[1].address, std::string("b\0b@localhost", 13));
  EXPECT_EQ(d.env.recipients[1].status, recipient::state::delivered);
  EXPECT_EQ(d.env.client_port, 65535);
  EXPECT_EQ(d.env.next_attempt, -5);
  EXPECT_TRUE(d.env.smtputf8);
  EXPECT_EQ(d.message, msg);
  EXPECT_EQ(encode(d.env, d.message), file);  // byte-exact
}

TEST(envelope, every_truncation_fails_cleanly) {
  auto file = encode(hostile(), "body\r\n");
  for (std::size_t n = 0; n < file.size(); ++n) {
    auto d = decode(std::string_view(file).substr(0, n));
    EXPECT_NE(d.error, decode_error::ok) << n;
  }
}

TEST(envelope, bit_flips_detected) {
  auto file = encode(hostile(), "body\r\n");
  for (std::size_t i = 0; i < file.size(); ++i) {
    std::string c = file;
    c[i] = static_cast<char>(c[i] ^ 0x04);
    EXPECT_NE(decode(c).error, decode_error::ok) << i;
  }
}

TEST(envelope, version_and_magic) {
  auto file = encode(hostile(), "x");
  std::string v2 = file;
  v2[15] = '3';
  EXPECT_EQ(decode(v2).error, decode_error::bad_version);
  EXPECT_EQ(decode("garbage").error, decode_error::bad_magic);
  EXPECT_EQ(decode("MAILFORT-QUEUE 1\nI99999999999999999999999:x").error, decode_error::malformed);
}

TEST(envelope, recipient_delivery_history_roundtrips) {
  envelope e;
  e.id = "0123456789abcdef0123";
  e.sender = "a@b.example";
  e.recipients.push_back({"x@y.example", "", recipient::state::pending, 3, 1796400000, "451 4.3.0 later\\x0D"});
  e.recipients.push_back({"z@y.example", "", recipient::state::delivered});
  auto file = encode(e, "body\r\n");
  EXPECT_NE(file.find("Y32:3 1796400000 451 4.3.0 later\\x0D\n"), std::string::npos);
  auto d = decode(file);
  ASSERT_EQ(d.error, decode_error::ok);
  ASSERT_EQ(d.env.recipients.size(), 2u);
  EXPECT_EQ(d.env.recipients[0].attempts, 3u);
  EXPECT_EQ(d.env.recipients[0].next_attempt, 1796400000);
  EXPECT_EQ(d.env.recipients[0].last_error, "451 4.3.0 later\\x0D");
  EXPECT_EQ(d.env.recipients[1].attempts, 0u);  // no Y record: defaults
  EXPECT_EQ(encode(d.env, d.message), file);
}

TEST(envelope, history_record_must_follow_a_recipient_once_and_say_something) {
  envelope e;
  e.id = "0123456789abcdef0123";
  e.recipients.push_back({"x@y.example", "", recipient::state::pending, 1, 5, "t"});
  std::string ok = encode(e, "");
  ASSERT_EQ(decode(ok).error, decode_error::ok);
  // A second history record for the same recipient, or an all-default one, is malformed (one encoding per file).
  auto y = ok.find("Y5:1 5 t\n");
  ASSERT_NE(y, std::string::npos);
  std::string twice = ok.substr(0, y) + "Y5:1 5 t\n" + ok.substr(y);
  EXPECT_EQ(decode(twice).error, decode_error::malformed);
  std::string zero = ok.substr(0, y) + "Y4:0 0 \n" + ok.substr(y + 9);
  EXPECT_EQ(decode(zero).error, decode_error::malformed);
}

TEST(envelope, delay_notice_flag_roundtrips_after_its_history) {
  envelope e;
  e.id = "0123456789abcdef0123";
  e.recipients.push_back({"x@y.example", "", recipient::state::pending, 2, 9, "451 later"});
  e.recipients.back().delay_notified = true;
  e.recipients.push_back({"z@y.example", "", recipient::state::pending});
  std::string file = encode(e, "");
  auto dpos = file.find("D1:1\n");
  ASSERT_NE(dpos, std::string::npos);
  EXPECT_LT(file.find("Y13:2 9 451 later\n"), dpos);
  auto d = decode(file);
  ASSERT_EQ(d.error, decode_error::ok);
  EXPECT_TRUE(d.env.recipients[0].delay_notified);
  EXPECT_FALSE(d.env.recipients[1].delay_notified);
  EXPECT_EQ(encode(d.env, d.message), file);
  // Twice, a value other than "1", or a history record after it: malformed (one encoding per file).
  EXPECT_EQ(decode(file.substr(0, dpos) + "D1:1\n" + file.substr(dpos)).error, decode_error::malformed);
  EXPECT_EQ(decode(file.substr(0, dpos) + "D1:0" + file.substr(dpos + 4)).error, decode_error::malformed);
  auto y = file.find("Y13:2 9 451 later\n");
  std::string swapped = file.substr(0, y) + "D1:1\nY13:2 9 451 later\n" + file.substr(dpos + 5);
  EXPECT_EQ(decode(swapped).error, decode_error::malformed);
}

TEST(envelope, numbers_have_one_spelling) {
  envelope e;
  e.id = "0123456789abcdef0123";
  e.received_at = 7;
  auto ok = encode(e, "");
  ASSERT_EQ(decode(ok).error, decode_error::ok);
  auto t = ok.find("T1:7\n");
  ASSERT_NE(t, std::string::npos);
  // "007" would decode to 7 and re-encode as "7": refused, so every valid file has exactly one encoding.
  std::string padded = ok.substr(0, t) + "T3:007\n" + ok.substr(t + 5);
  EXPECT_EQ(decode(padded).error, decode_error::malformed);
}

// Version 2: a body streamed to disk first, at an offset, with the envelope and head written in front of it.
TEST(envelope, streamed_body_with_padding_roundtrips) {
  envelope e = hostile();
  std::string head = "Received: x\r\nSubject: s\r\n\r\n";
  std::string body(200000, 'b');
  sha256_stream h;
  h.update(body.substr(0, 1000));
  h.update(body.substr(1000));
  std::string sum = h.finish_hex();
  EXPECT_EQ(sum, sha256_of(body));
  for (std::size_t pad_to : {std::size_t{0}, std::size_t{4096}, std::size_t{70000}}) {
    auto prefix = encode_prefix(e, head, body.size(), sum, pad_to);
    ASSERT_TRUE(prefix) << pad_to;
    if (pad_to) {
      EXPECT_EQ(prefix->size(), pad_to);
    }
    std::string file = *prefix + body;
    auto d = decode(file);
    ASSERT_EQ(d.error, decode_error::ok) << pad_to;
    EXPECT_EQ(d.message, head + body);
    EXPECT_EQ(d.head_len, head.size());
    EXPECT_EQ(d.padded, pad_to != 0);
    EXPECT_EQ(d.env.sender, e.sender);
    // The body is covered by J: one flipped byte in it is detected.
    file[file.size() - 10] ^= 1;
    EXPECT_EQ(decode(file).error, decode_error::bad_checksum);
  }
  EXPECT_FALSE(encode_prefix(e, head, body.size(), sum, 100));  // too small for the envelope
}

TEST(envelope, version_1_files_are_still_read) {
  envelope e;
  e.id = "0123456789abcdef0123";
  e.sender = "old@example.org";
  e.recipients.push_back({"bob@localhost", {}, {}});
  std::string v2 = encode(e, "Subject: old\r\n\r\nbody\r\n");
  // Rebuild the same envelope as version 1: magic 1, fields, M, K over everything before K plus the message.
  auto d2 = decode(v2);
  ASSERT_EQ(d2.error, decode_error::ok);
  std::string fields = v2.substr(17, v2.find("\nM") + 1 - 17);
  std::string msg(d2.message);
  std::string before = "MAILFORT-QUEUE 1\n" + fields + "M" + std::to_string(msg.size()) + ":\n";
  std::string v1 = before + "K" + sha256_of(before + msg) + "\n" + msg;
  auto d1 = decode(v1);
  ASSERT_EQ(d1.error, decode_error::ok);
  EXPECT_EQ(d1.env.version, 1u);
  EXPECT_EQ(d1.message, msg);
  EXPECT_EQ(d1.env.sender, e.sender);
}
