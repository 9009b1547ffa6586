// tests/unit/queue/spool_test.cpp: durable stores, group commit, errors, quarantine, recovery.
// SPDX-License-Identifier: MIT
#include "queue/message_file.hpp"
#include "queue/spool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

using namespace mailfort::queue;
namespace fs = std::filesystem;

namespace {
struct temp_dir {
  fs::path p;
  temp_dir() {
    char tmpl[] = "/tmp/mailfort-spool-XXXXXX";
    p = mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(p); }
};

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
}  // namespace

TEST(spool, store_sync_and_list) {
  temp_dir d;
  spool sp(d.p / "queue");
  envelope e;
  e.sender = "a@b";
  e.recipients = {{"alice@localhost", "", {}}};
  auto id = sp.store(e, "Subject: x\r\n\r\nhi\r\n");
  EXPECT_EQ(sp.list(), std::vector<std::string>{id});
  auto dec = decode(read(sp.path_of(id)));
  ASSERT_EQ(dec.error, decode_error::ok);
  EXPECT_EQ(dec.env.sender, "a@b");
  EXPECT_TRUE(fs::is_empty(d.p / "queue" / "tmp"));
}

TEST(spool, concurrent_group_commit) {
  temp_dir d;
  spool sp(d.p / "queue");
  sp.start();
  constexpr int threads = 16, per = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < per; ++i) {
        std::promise<void> p;
        envelope e;
        e.recipients = {{"alice@localhost", "", {}}};
        sp.store_async(e, "m", [&](std::error_code ec, const std::string& id) {
          if (!ec && fs::exists(sp.path_of(id))) ++ok;  // durable before the callback
          p.set_value();
        });
        p.get_future().wait();
      }
    });
  for (auto& t : ts) t.join();
  sp.stop();
  EXPECT_EQ(ok.load(), threads * per);
  EXPECT_EQ(sp.list().size(), static_cast<std::size_t>(threads * per));
  EXPECT_LT(sp.dir_fsyncs(), static_cast<std::uint64_t>(threads * per));  // shared fsyncs
}

TEST(spool, error_leaves_no_file) {
  temp_dir d;
  spool sp(d.p / "queue");
  sp.start();
  fs::remove_all(d.p / "queue" / "tmp");  // make every write fail
  std::promise<std::error_code> p;
  envelope e;
  sp.store_async(e, "m", [&](std::error_code ec, const std::string&) { p.set_value(ec); });
  EXPECT_TRUE(p.get_future().get());
  sp.stop();
  EXPECT_TRUE(sp.list().empty());
}

TEST(spool, rewrite_remove_quarantine_clean_tmp) {
  temp_dir d;
  spool sp(d.p / "queue");
  envelope e;
  e.recipients = {{"a@localhost", "", {}}, {"b@example.net", "", {}}};
  auto id = sp.store(e, "body");
  auto dec = decode(read(sp.path_of(id)));
  dec.env.recipients[0].status = recipient::state::delivered;
  sp.rewrite(dec.env, "body");
  EXPECT_EQ(decode(read(sp.path_of(id))).env.recipients[0].status, recipient::state::delivered);
  sp.quarantine(id);
  EXPECT_TRUE(sp.list().empty());
  EXPECT_TRUE(fs::exists(d.p / "queue" / "quarantine" / id));
  auto id2 = sp.store(e, "x");
  sp.remove(id2);
  EXPECT_TRUE(sp.list().empty());
  auto a = sp.store(e, "a"), b = sp.store(e, "b"), c = sp.store(e, "c");
  sp.forget_delivered({a, c, "../../etc/passwd"});
  EXPECT_EQ(sp.list(), std::vector<std::string>{b});
  sp.remove(b);
  std::ofstream(d.p / "queue" / "tmp" / "leftover") << "partial";
  EXPECT_EQ(sp.clean_tmp(), 1u);
}

// queue::message_file: the body streams to tmp/<id> at an offset, the envelope and head are written in front of
// it, and the commit thread makes it durable without writing it again (issue 15).
TEST(spool, streamed_message_commits_in_place) {
  temp_dir d;
  spool sp(d.p / "queue");
  sp.start();
  const std::string id = "0123456789abcdef0001";
  std::string head = "Subject: big\r\nFrom: a@b\r\n\r\n";
  std::string body;
  for (int i = 0; i < 20000; ++i) body += "line " + std::to_string(i) + " of the body\r\n";
  std::error_code ec;
  {
    message_file mf(d.p / "queue" / "tmp", id, 1024);
    // Fed in odd-sized pieces, the header section split across them.
    std::string all = head + body;
    for (std::size_t at = 0; at < all.size(); at += 1237)
      ASSERT_FALSE(mf.append(std::string_view(all).substr(at, 1237)));
    ASSERT_FALSE(mf.finish());
    EXPECT_TRUE(mf.on_disk());
    EXPECT_EQ(mf.head(), head);
    EXPECT_EQ(mf.body_size(), body.size());
    std::string back;
    ASSERT_FALSE(mf.read_body([&back](std::string_view c) { back.append(c); }));
    EXPECT_EQ(back, body);
    envelope e;
    e.id = id;
    e.sender = "a@b";
    e.recipients = {{"alice@localhost", "", {}}};
    ASSERT_FALSE(mf.write_queue_file(e, "Received: by us\r\n" + head));
    mf.release();
    std::promise<std::error_code> p;
    sp.commit_async(id, [&p](std::error_code c, const std::string&) { p.set_value(c); });
    ec = p.get_future().get();
  }
  ASSERT_FALSE(ec);
  EXPECT_EQ(sp.list(), std::vector<std::string>{id});
  EXPECT_TRUE(fs::is_empty(d.p / "queue" / "tmp"));
  auto file = read(sp.path_of(id));
  auto dec = decode(file);
  ASSERT_EQ(dec.error, decode_error::ok);
  EXPECT_EQ(dec.message, "Received: by us\r\n" + head + body);
  EXPECT_TRUE(dec.padded);
  sp.stop();
}

TEST(spool, small_message_stays_in_memory_and_aborted_one_leaves_nothing) {
  temp_dir d;
  spool sp(d.p / "queue");
  {
    message_file mf(d.p / "queue" / "tmp", "0123456789abcdef0002", 1024);
    ASSERT_FALSE(mf.append("Subject: s\r\n\r\nsmall\r\n"));
    ASSERT_FALSE(mf.finish());
    EXPECT_FALSE(mf.on_disk());
    EXPECT_EQ(mf.body_in_memory(), "small\r\n");
  }
  {
    message_file mf(d.p / "queue" / "tmp", "0123456789abcdef0003", 1024);
    ASSERT_FALSE(mf.append("Subject: s\r\n\r\n" + std::string(200000, 'x')));
    EXPECT_TRUE(mf.on_disk());
    EXPECT_FALSE(fs::is_empty(d.p / "queue" / "tmp"));
  }  // session aborted: the file goes with it
  EXPECT_TRUE(fs::is_empty(d.p / "queue" / "tmp"));
}

// A head much larger than the room left in front of the body: the body is copied behind a new prefix.
TEST(spool, streamed_message_without_room_is_copied) {
  temp_dir d;
  spool sp(d.p / "queue");
  const std::string id = "0123456789abcdef0004";
  std::string body(300000, 'q');
  message_file mf(d.p / "queue" / "tmp", id, 0);
  ASSERT_FALSE(mf.append("S: x\r\n\r\n" + body));
  ASSERT_FALSE(mf.finish());
  envelope e;
  e.id = id;
  e.recipients = {{"alice@localhost", "", {}}};
  std::string head = "X-Big: " + std::string(100000, 'h') + "\r\nS: x\r\n\r\n";
  ASSERT_FALSE(mf.write_queue_file(e, head));
  mf.release();
  std::promise<std::error_code> p;
  sp.commit_async(id, [&p](std::error_code c, const std::string&) { p.set_value(c); });
  ASSERT_FALSE(p.get_future().get());
  auto file = read(sp.path_of(id));  // decode() returns views into it
  auto dec = decode(file);
  ASSERT_EQ(dec.error, decode_error::ok);
  EXPECT_EQ(dec.message, head + body);
  EXPECT_FALSE(dec.padded);
}

// The milter client reads the body in chunks (read_body_at) and a replacement body takes the original's place
// (adopt_body), on disk or in memory, and commits like any streamed message.
TEST(spool, body_read_in_chunks_and_replaced) {
  temp_dir d;
  spool sp(d.p / "queue");
  sp.start();
  const auto tmp = d.p / "queue" / "tmp";
  const std::string id = "0123456789abcdef0005";
  std::string body;
  for (int i = 0; i < 9000; ++i) body += "original " + std::to_string(i) + "\r\n";
  message_file mf(tmp, id, 1024);
  ASSERT_FALSE(mf.append("S: x\r\n\r\n" + body));
  ASSERT_FALSE(mf.finish());
  ASSERT_TRUE(mf.on_disk());
  std::string back, chunk;
  for (std::uint64_t pos = 0;; pos += chunk.size()) {
    ASSERT_FALSE(mf.read_body_at(pos, 65535, chunk));
    if (chunk.empty()) break;
    EXPECT_LE(chunk.size(), 65535u);
    back += chunk;
  }
  EXPECT_EQ(back, body);
  {
    // A small replacement (in memory) for a body on disk: the file goes.
    message_file small(tmp, id + ".m1", 1024);
    ASSERT_FALSE(small.append("S: x\r\n\r\nnew body\r\n"));
    ASSERT_FALSE(small.finish());
    message_file big(tmp, "0123456789abcdef0006", 1024);
    ASSERT_FALSE(big.append("S: x\r\n\r\n" + body));
    ASSERT_FALSE(big.finish());
    ASSERT_FALSE(big.adopt_body(small));
    EXPECT_FALSE(big.on_disk());
    EXPECT_EQ(big.body_in_memory(), "new body\r\n");
    EXPECT_FALSE(big.read_body_at(4, 100, chunk));
    EXPECT_EQ(chunk, "body\r\n");
  }
  // A large replacement (on disk) for a body on disk: renamed into place, then committed.
  std::string repl(200000, 'r');
  {
    message_file other(tmp, id + ".m2", 1024);
    ASSERT_FALSE(other.append("S: x\r\n\r\n" + repl));
    ASSERT_FALSE(other.finish());
    ASSERT_FALSE(mf.adopt_body(other));
  }
  EXPECT_EQ(mf.body_size(), repl.size());
  envelope e;
  e.id = id;
  e.recipients = {{"alice@localhost", "", {}}};
  ASSERT_FALSE(mf.write_queue_file(e, "S: y\r\n\r\n"));
  mf.release();
  std::promise<std::error_code> p;
  sp.commit_async(id, [&p](std::error_code c, const std::string&) { p.set_value(c); });
  ASSERT_FALSE(p.get_future().get());
  auto file = read(sp.path_of(id));
  auto dec = decode(file);
  ASSERT_EQ(dec.error, decode_error::ok);
  EXPECT_EQ(dec.message, "S: y\r\n\r\n" + repl);
  EXPECT_TRUE(fs::is_empty(tmp));
  sp.stop();
}
