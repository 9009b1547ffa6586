// tests/unit/queue/spool_test.cpp: durable stores, group commit, errors, quarantine, recovery.
// SPDX-License-Identifier: MIT
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
