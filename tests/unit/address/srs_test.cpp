// tests/unit/address/srs_test.cpp: SRS0/SRS1 forward and reverse (address/srs.hpp): round trips, forged hashes,
// expiry, case folding by other MTAs, malformed input.
// SPDX-License-Identifier: MIT
#include "address/srs.hpp"

#include <gtest/gtest.h>

using namespace mailfort::address::srs;

namespace {

settings ours() {
  settings s;
  s.secret = "0123456789abcdef0123456789abcdef";
  s.domain = "fwd.example";
  return s;
}

constexpr std::int64_t k_now = 1'780'000'000;  // some day in 2026
constexpr std::int64_t k_day = 86400;

TEST(Srs, ForwardAndReverseSrs0) {
  auto f = forward("alice@orig.example", ours(), k_now);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->rfind("SRS0=", 0), 0u);
  EXPECT_NE(f->find("=orig.example=alice@fwd.example"), std::string::npos) << *f;
  auto r = reverse(*f, ours(), k_now);
  EXPECT_EQ(r.error, reverse_error::ok);
  EXPECT_EQ(r.address, "alice@orig.example");
  // A local part holding '=' survives.
  auto g = forward("a=b@orig.example", ours(), k_now);
  EXPECT_EQ(reverse(*g, ours(), k_now).address, "a=b@orig.example");
}

TEST(Srs, NoRewriteForOurDomainOrNullSender) {
  EXPECT_FALSE(forward("bob@FWD.example", ours(), k_now));
  EXPECT_FALSE(forward("", ours(), k_now));
  EXPECT_FALSE(forward("nodomain", ours(), k_now));
  EXPECT_FALSE(forward("a@b.example=x", ours(), k_now));  // fuzz: '=' in the domain would not reverse
}

TEST(Srs, CaseFoldedByAnotherMtaStillReverses) {
  auto f = forward("Alice@Orig.Example", ours(), k_now);
  std::string lower = *f;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto r = reverse(lower, ours(), k_now);
  EXPECT_EQ(r.error, reverse_error::ok);
  EXPECT_EQ(r.address, "alice@orig.example");
}

TEST(Srs, ForgedHashIsRefused) {
  auto f = forward("alice@orig.example", ours(), k_now);
  std::string forged = *f;
  forged[5] = forged[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reverse(forged, ours(), k_now).error, reverse_error::bad_hash);
  // Another target domain with the same hash: refused.
  std::string other = *f;
  other.replace(other.find("orig.example"), 12, "evil.example");
  EXPECT_EQ(reverse(other, ours(), k_now).error, reverse_error::bad_hash);
  settings wrong = ours();
  wrong.secret = "another secret of enough length!";
  EXPECT_EQ(reverse(*f, wrong, k_now).error, reverse_error::bad_hash);
  settings none = ours();
  none.secret.clear();
  EXPECT_EQ(reverse(*f, none, k_now).error, reverse_error::bad_hash);
}

TEST(Srs, ExpiredIsRefused) {
  auto f = forward("alice@orig.example", ours(), k_now);
  EXPECT_EQ(reverse(*f, ours(), k_now + 21 * k_day).error, reverse_error::ok);
  EXPECT_EQ(reverse(*f, ours(), k_now + 22 * k_day).error, reverse_error::expired);
  // From the future (a stamp of tomorrow) is far in the past modulo 1024 days: expired.
  EXPECT_EQ(reverse(*f, ours(), k_now - k_day).error, reverse_error::expired);
}

TEST(Srs, Srs1ForAnAlreadyRewrittenSender) {
  settings first = ours();
  first.domain = "first.example";
  first.secret = "first hop secret, 32 bytes long!";
  auto f0 = forward("alice@orig.example", first, k_now);
  ASSERT_TRUE(f0);
  auto f1 = forward(*f0, ours(), k_now);
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->rfind("SRS1=", 0), 0u) << *f1;
  EXPECT_NE(f1->find("=first.example=="), std::string::npos) << *f1;
  auto r1 = reverse(*f1, ours(), k_now);
  ASSERT_EQ(r1.error, reverse_error::ok);
  EXPECT_EQ(r1.address, *f0);  // back to the first forwarder, which reverses its own SRS0
  EXPECT_EQ(reverse(r1.address, first, k_now).address, "alice@orig.example");
  // An SRS1 forwarded again stays SRS1 naming the first forwarder.
  settings third = ours();
  third.domain = "third.example";
  auto f2 = forward(*f1, third, k_now);
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->rfind("SRS1=", 0), 0u);
  auto r2 = reverse(*f2, third, k_now);
  ASSERT_EQ(r2.error, reverse_error::ok);
  EXPECT_EQ(r2.address, *f0);
}

TEST(Srs, MalformedAndNotSrs) {
  EXPECT_EQ(reverse("alice@fwd.example", ours(), k_now).error, reverse_error::not_srs);
  EXPECT_EQ(reverse("SRS0x@fwd.example", ours(), k_now).error, reverse_error::not_srs);
  for (const char* bad : {"SRS0=@fwd.example", "SRS0=abcd@fwd.example", "SRS0=abcd=ZZ@fwd.example",
                          "SRS0=abcd=!!=orig.example=a@fwd.example", "SRS0=abcd=AA==a@fwd.example",
                          "SRS0=abcd=AA=orig.example=@fwd.example", "SRS1=abcd@fwd.example", "SRS1=abcd==x@fwd.example",
                          "SRS1=abcd=host=@fwd.example", "SRS0=", "SRS1="}) {
    auto r = reverse(bad, ours(), k_now);
    EXPECT_TRUE(r.error == reverse_error::malformed || r.error == reverse_error::bad_hash) << bad;
    EXPECT_TRUE(r.address.empty()) << bad;
  }
  EXPECT_TRUE(looks_like_srs("srs0=x"));
  EXPECT_TRUE(looks_like_srs("SRS1+x"));
  EXPECT_FALSE(looks_like_srs("SRS2=x"));
  EXPECT_FALSE(looks_like_srs("srs0"));
}

}  // namespace
