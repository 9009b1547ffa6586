// tests/unit/sasl/user_db_test.cpp: users, argon2id hashes, address normalisation.
// SPDX-License-Identifier: MIT
#include "sasl/user_db.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace mailfort::sasl;

namespace {
struct temp_dir {
  std::filesystem::path p;
  temp_dir() {
    char tmpl[] = "/tmp/mailfort-udb-XXXXXX";
    p = mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(p); }
};
}  // namespace

TEST(user_db, lifecycle_and_verify) {
  temp_dir d;
  auto path = (d.p / "state.db").string();
  {
    user_db db(path);
    db.add("Alice@LocalHost", "correct horse");
    EXPECT_THROW(db.add("alice@localhost", "x"), std::runtime_error);
    EXPECT_THROW(db.add("../etc@localhost", "x"), std::invalid_argument);
    EXPECT_THROW(db.add("a/b@localhost", "x"), std::invalid_argument);
    EXPECT_TRUE(db.exists("ALICE@localhost"));
    EXPECT_TRUE(db.verify("alice@localhost", "correct horse"));
    EXPECT_FALSE(db.verify("alice@localhost", "correct horsE"));
    EXPECT_FALSE(db.verify("nobody@localhost", "correct horse"));
    EXPECT_FALSE(db.verify("not an address", "x"));
    db.set_password("alice@localhost", "new");
    EXPECT_TRUE(db.verify("alice@localhost", "new"));
    EXPECT_THROW(db.set_password("bob@localhost", "x"), std::runtime_error);
    EXPECT_EQ(db.list(), std::vector<std::string>{"alice@localhost"});
  }
  {
    user_db db(path);  // persisted
    EXPECT_TRUE(db.verify("alice@localhost", "new"));
    EXPECT_TRUE(db.remove("alice@localhost"));
    EXPECT_FALSE(db.remove("alice@localhost"));
    EXPECT_TRUE(db.list().empty());
  }
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str().find("correct horse"), std::string::npos);
}

TEST(user_db, normalise) {
  EXPECT_EQ(*normalise_address(" Bob.Smith+tag@Example.ORG "), "bob.smith+tag@example.org");
  EXPECT_FALSE(normalise_address("a@b@c"));
  EXPECT_FALSE(normalise_address(".a@b"));
  EXPECT_FALSE(normalise_address("a..b@c"));
  EXPECT_FALSE(normalise_address("a@b..c"));
  EXPECT_FALSE(normalise_address(std::string("a\0b@c", 5)));
  EXPECT_FALSE(normalise_address("j\xc3\xb6rg@x.org"));
}
