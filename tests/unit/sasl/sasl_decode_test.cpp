// tests/unit/sasl/sasl_decode_test.cpp: strict base64 and AUTH PLAIN decoding.
// SPDX-License-Identifier: MIT
#include "sasl/sasl_decode.hpp"

#include <gtest/gtest.h>

using namespace mailfort::sasl;

TEST(base64, roundtrip_and_rfc4648_vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*base64_decode("Zm9vYg=="), "foob");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*base64_decode(base64_encode(all)), all);
}

TEST(base64, strict) {
  EXPECT_FALSE(base64_decode("%%%"));
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));
  EXPECT_FALSE(base64_decode("Zm9vYg="));
  EXPECT_FALSE(base64_decode("Zm=vYg=="));
  EXPECT_FALSE(base64_decode("Zg=a"));
  EXPECT_FALSE(base64_decode("*"));
  // Found by sasl_fuzzer: non-zero bits under the padding gave a second encoding of the same bytes.
  EXPECT_FALSE(base64_decode("AGFsaWNlQGxvY2FsaG4zdABwdv=="));
  EXPECT_FALSE(base64_decode("Zh=="));
  EXPECT_FALSE(base64_decode("Zm8"));       // padding required
  EXPECT_FALSE(base64_decode("Zm9v\r\n"));  // no whitespace, not even a line end
  EXPECT_FALSE(base64_decode("\tZm9v"));
  EXPECT_FALSE(base64_decode("Zm9v-_=="));  // base64url alphabet is not base64
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // padding only at the very end
  EXPECT_FALSE(base64_decode(std::string("Zm9\0", 4)));
  EXPECT_FALSE(base64_decode("Zm9\xff"));
  EXPECT_EQ(*base64_decode(""), "");
}

TEST(plain, fields) {
  auto r = decode_plain(base64_encode(std::string("\0alice@localhost\0pw", 19)));
  ASSERT_EQ(r.error, plain_error::ok);
  EXPECT_EQ(r.creds.authzid, "");
  EXPECT_EQ(r.creds.authcid, "alice@localhost");
  EXPECT_EQ(r.creds.password, "pw");
  auto z = decode_plain(base64_encode(std::string("admin\0alice\0pw", 14)));
  ASSERT_EQ(z.error, plain_error::ok);
  EXPECT_EQ(z.creds.authzid, "admin");
}

TEST(plain, errors) {
  EXPECT_EQ(decode_plain("%%%").error, plain_error::bad_base64);
  EXPECT_EQ(decode_plain(base64_encode(std::string("a\0b", 3))).error, plain_error::wrong_nul_count);
  EXPECT_EQ(decode_plain(base64_encode(std::string("a\0b\0c\0d", 7))).error, plain_error::wrong_nul_count);
  EXPECT_EQ(decode_plain(base64_encode(std::string("\0\0pw", 4))).error, plain_error::empty_authcid);
  EXPECT_EQ(decode_plain(base64_encode(std::string(5000, 'a')), 4096).error, plain_error::too_long);
  EXPECT_EQ(decode_plain("").error, plain_error::wrong_nul_count);
  EXPECT_EQ(decode_plain("=").error, plain_error::bad_base64);
  EXPECT_EQ(decode_plain("*").error, plain_error::bad_base64);
  EXPECT_EQ(decode_plain(base64_encode(std::string("\0alice\0pw", 10)) + "\r\n").error, plain_error::bad_base64);
}

TEST(plain, length_cap_is_on_decoded_bytes) {
  std::string body = std::string("\0", 1) + "user" + std::string("\0", 1);
  std::string at_cap = body + std::string(100 - body.size(), 'p');
  EXPECT_EQ(decode_plain(base64_encode(at_cap), 100).error, plain_error::ok);
  EXPECT_EQ(decode_plain(base64_encode(at_cap + "p"), 100).error, plain_error::too_long);
  // A huge blob is refused on its length alone, before any decoding work.
  EXPECT_EQ(decode_plain(std::string(1 << 20, '%'), 4096).error, plain_error::too_long);
  // Passwords are binary-safe apart from NUL, including 8-bit bytes.
  auto r = decode_plain(base64_encode(std::string("\0u\0p\xc3\xa4ss w", 10)));
  ASSERT_EQ(r.error, plain_error::ok);
  EXPECT_EQ(r.creds.password, "p\xc3\xa4ss w");
}
