// tests/unit/sasl/user_db_test.cpp: users, argon2id hashes, address normalisation.
// SPDX-License-Identifier: MIT
#include "sasl/user_db.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

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
    // argon2id with libsodium's interactive limits (64 MiB, 2 passes), in the $argon2id$ form Dovecot reads.
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_NE(ss.str().find("$argon2id$v=19$m=65536,t=2,p=1$"), std::string::npos);
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
  EXPECT_EQ(*normalise_address("\tbob@localhost\r\n"), "bob@localhost");
  EXPECT_FALSE(normalise_address("bob@"));
  EXPECT_FALSE(normalise_address("@localhost"));
  EXPECT_FALSE(normalise_address("bob"));
  EXPECT_FALSE(normalise_address("a.@b"));
  EXPECT_FALSE(normalise_address("a@.b"));
  EXPECT_FALSE(normalise_address("a@b."));
  EXPECT_FALSE(normalise_address("a b@c"));
  EXPECT_FALSE(normalise_address("a@b/c"));
  EXPECT_FALSE(normalise_address("a@b_c"));
  EXPECT_FALSE(normalise_address("\"a\"@b"));
  EXPECT_TRUE(normalise_address(std::string(64, 'a') + "@b"));
  EXPECT_FALSE(normalise_address(std::string(65, 'a') + "@b"));
  EXPECT_TRUE(normalise_address("a@" + std::string(63, 'b') + ".org"));
  EXPECT_FALSE(normalise_address("a@" + std::string(64, 'b') + ".org"));
  EXPECT_FALSE(normalise_address("a@" + std::string(300, 'b')));
  EXPECT_TRUE(normalise_address("first.last_x-y+z@mail-1.example.org"));
}

TEST(user_db, wal_and_private_file) {
  temp_dir d;
  auto path = (d.p / "state.db").string();
  { user_db db(path); }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(raw);
  // A path that cannot be opened is reported, not crashed on.
  EXPECT_THROW(user_db((d.p / "missing" / "state.db").string()), std::runtime_error);
}

// Issue 15 item 3: a login typed with whitespace or capitals authenticates as the one stored account, and
// authenticate() returns that account's canonical name for the session to record (no aliases).
TEST(user_db, authenticate_returns_the_canonical_name) {
  temp_dir d;
  user_db db((d.p / "state.db").string());
  db.add("alice@localhost", "pw");
  for (const char* typed :
       {"alice@localhost", " alice@localhost", "alice@localhost ", "\talice@LOCALHOST\r\n", "ALICE@localhost"}) {
    auto who = db.authenticate(typed, "pw");
    ASSERT_TRUE(who.has_value()) << typed;
    EXPECT_EQ(*who, "alice@localhost") << typed;
  }
  EXPECT_FALSE(db.authenticate(" alice@localhost", "wrong").has_value());
  EXPECT_FALSE(db.authenticate("bob@localhost", "pw").has_value());
}

// `user add --hash-stdin`: a hash made elsewhere verifies as if mailfort had made it; only argon2id strings pass.
TEST(user_db, imported_hash) {
  temp_dir d;
  user_db db((d.p / "state.db").string());
  char own[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(own, "pw", 2, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
  char other[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(other, "pw2", 3, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
  EXPECT_EQ(password_hash_status(own), hash_status::ok);
  EXPECT_EQ(password_hash_status(other), hash_status::other_params);
  EXPECT_EQ(password_hash_status("$2y$10$abcdefghijklmnopqrstuv"), hash_status::invalid);
  EXPECT_EQ(password_hash_status(""), hash_status::invalid);
  std::string broken(own);
  broken.insert(broken.rfind('$') + 1, ":");  // outside the PHC alphabet (would split a passwd-file line)
  EXPECT_EQ(password_hash_status(broken), hash_status::invalid);
  EXPECT_EQ(password_hash_status(std::string(own).substr(0, 30)), hash_status::invalid);

  db.add_hashed("Carol@Localhost", own);
  db.add_hashed("dave@localhost", other);
  EXPECT_TRUE(db.verify("carol@localhost", "pw"));
  EXPECT_FALSE(db.verify("carol@localhost", "pw2"));
  EXPECT_TRUE(db.verify("dave@localhost", "pw2"));
  EXPECT_THROW(db.add_hashed("carol@localhost", own), std::runtime_error);
  EXPECT_THROW(db.add_hashed("../x@localhost", own), std::invalid_argument);
}
