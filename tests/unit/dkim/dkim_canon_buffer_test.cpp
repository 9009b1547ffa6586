// tests/unit/dkim/dkim_canon_buffer_test.cpp: the body canonicaliser's 4 KiB output buffer at every fill
// level (issue 14: a run of plain bytes that filled the buffer exactly left its index at the end, and the
// next byte was written past it), and the fuzzer's reproducer, which is also a seed of message_fuzzer.
// SPDX-License-Identifier: MIT
#include "auth/dkim_canon.hpp"
#include "auth/dkim_verify.hpp"
#include "dkim/dkim_test_util.hpp"
#include "dns/source.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailfort;
using dkim::canonicalization;

namespace {
std::string byte_by_byte(canonicalization c, std::string_view body) {
  std::string out;
  dkim::body_canonicalizer bc(c);
  auto sink = [&out](std::string_view s) { out.append(s); };
  for (char ch : body) bc.update(std::string_view(&ch, 1), sink);
  bc.finish(sink);
  return out;
}
}  // namespace

// Two lines of plain bytes are their own canonical form in both canonicalisations. The second line's run
// (all but its first byte, which goes through the single-byte path) ends exactly at the buffer's end for
// p + (q - 1) + 3 == 4096, and the loop crosses that point at every offset a first line can put it.
TEST(DkimCanonBuffer, RunEndingExactlyAtTheBufferEndAtEveryOffset) {
  for (std::size_t p = 1; p <= 4093; ++p) {
    const std::size_t q = 4094 - p;
    const std::string body = std::string(p, 'a') + "\r\n" + std::string(q, 'b') + "\r\nc\r\n";
    for (auto c : {canonicalization::simple, canonicalization::relaxed}) {
      ASSERT_EQ(dkim::canon_body(c, body), body) << "first line " << p;
    }
  }
  // Relaxed runs may hold single spaces, so they are longer; and many lines fill the buffer before.
  std::string body;
  for (int i = 0; i < 40; ++i) body += std::string(100, 'x') + "\r\n";  // 4080 bytes
  body += "y z y z y z y zz\r\n";  // 4081 after the first y, then a 15-byte run: 4096
  body += "after\r\n";
  for (auto c : {canonicalization::simple, canonicalization::relaxed}) {
    EXPECT_EQ(dkim::canon_body(c, body), body);
    EXPECT_EQ(byte_by_byte(c, body), body);
  }
}

// The message_fuzzer reproducer (c=relaxed/simple, l=25, lines ending in bare CR): the body canonicalises
// the same whole, split where the fuzzer split it, and byte by byte, and verification ends without a key.
TEST(DkimCanonBuffer, FuzzerReproducerIssue14) {
  const std::string input = dkim_test::read_file(std::string(MAILFORT_SOURCE_DIR) +
                                                 "/fuzz/regressions/message_fuzzer/issue14-exact-fill-crash");
  const std::size_t split = static_cast<unsigned char>(input[0]) % input.size();
  const std::string_view msg = std::string_view(input).substr(1);
  for (auto c : {canonicalization::simple, canonicalization::relaxed}) {
    const std::string whole = dkim::canon_body(c, msg);
    std::string parts;
    dkim::body_canonicalizer bc(c);
    auto sink = [&parts](std::string_view s) { parts.append(s); };
    bc.update(msg.substr(0, split), sink);
    bc.update(msg.substr(std::min(split, msg.size())), sink);
    bc.finish(sink);
    EXPECT_EQ(parts, whole);
    EXPECT_EQ(byte_by_byte(c, msg), whole);
  }
  dns::static_source dns;
  dkim::verify_options o;
  o.max_header_fields = 64;
  const auto results = dkim_test::run(dkim::verify(dns, msg, o));
  ASSERT_FALSE(results.empty());
  for (const auto& r : results) EXPECT_NE(r.res, dkim::result::pass);
}
